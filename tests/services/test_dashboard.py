"""services.dashboard: one-time links and who signs in, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from services.access import Actor, Role
from services.dashboard import (
    issue_dashboard_link,
    link_token_hash,
    use_dashboard_link,
    user_by_person_id,
    user_by_telegram_id,
)
from services.errors import Refused
from services.people import deactivate_person, register_person, register_units
from services.sample_district import sample_units
from storage.clock import FixedClock
from storage.unit_of_work import UnitOfWork

OPERATOR = Actor.operator("test")


def _refused(call: Callable[[], object], code: str) -> None:
    with pytest.raises(Refused) as caught:
        call()
    assert caught.value.code == code


def test_a_link_signs_in_its_person_once_within_ten_minutes(
    uow: Callable[[], UnitOfWork], clock: FixedClock
) -> None:
    register_units(uow(), OPERATOR, sample_units())
    person = register_person(uow(), OPERATOR, 5001, "王芳", Role.LIAISON, "dianzi")
    user = user_by_telegram_id(uow(), 5001)
    assert user is not None and user.unit_code == "dianzi" and user.unit_name == "店子镇"
    link = issue_dashboard_link(uow(), user.actor)
    assert link.expires_at == clock.now() + timedelta(minutes=10)
    assert link_token_hash(link.token) != link.token  # only the hash is stored
    signed_in = use_dashboard_link(uow(), link.token)
    assert signed_in.actor.person_id == person.id and signed_in.actor.role is Role.LIAISON
    _refused(lambda: use_dashboard_link(uow(), link.token), "dashboard_link_invalid")
    late = issue_dashboard_link(uow(), user.actor)
    clock.advance(minutes=10)
    _refused(lambda: use_dashboard_link(uow(), late.token), "dashboard_link_invalid")
    _refused(lambda: use_dashboard_link(uow(), "not-a-token"), "dashboard_link_invalid")


def test_a_deactivated_person_can_neither_use_a_link_nor_be_found(
    uow: Callable[[], UnitOfWork],
) -> None:
    person = register_person(uow(), OPERATOR, 5002, "钱领导", Role.VIEWER)
    user = user_by_person_id(uow(), person.id)
    assert user is not None
    link = issue_dashboard_link(uow(), user.actor)
    deactivate_person(uow(), OPERATOR, person.id)
    _refused(lambda: use_dashboard_link(uow(), link.token), "dashboard_link_invalid")
    assert user_by_person_id(uow(), person.id) is None
    assert user_by_telegram_id(uow(), 5002) is None
    _refused(lambda: issue_dashboard_link(uow(), OPERATOR), "dashboard_needs_account")
