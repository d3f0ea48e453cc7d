"""Who receives a publication (services.publications.load_audience): the active units and their
active liaisons, each in the language they read, read in one unit of work."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.access import Actor, Role
from services.errors import Refused
from services.people import deactivate_person, register_person, register_units, set_language
from services.publications import load_audience
from services.sample_district import sample_units
from storage.unit_of_work import UnitOfWork

OPERATOR = Actor.operator("test")


def test_the_audience_is_the_active_liaisons_of_each_unit_in_their_language(
    uow: Callable[[], UnitOfWork],
) -> None:
    register_units(uow(), OPERATOR, sample_units())
    wang = register_person(uow(), OPERATOR, 5001, "王芳", Role.LIAISON, "dianzi")
    register_person(uow(), OPERATOR, 5002, "李强", Role.LIAISON, "dianzi")
    gone = register_person(uow(), OPERATOR, 5003, "赵敏", Role.LIAISON, "xiji")
    register_person(uow(), OPERATOR, 5004, "孙磊", Role.COORDINATOR)
    set_language(uow(), Actor(wang.id, Role.LIAISON, None, "王芳"), "en")
    deactivate_person(uow(), OPERATOR, gone.id)

    audience = load_audience(uow(), OPERATOR, "zh")

    assert {u.code for u in audience.units} == {u.code for u in sample_units()}
    assert [u.code for u in audience.reached_units] == ["dianzi"]
    assert len(audience.without_liaison) == len(sample_units()) - 1
    assert audience.liaison_count == 2
    assert {(li.telegram_id, li.name, li.language) for li in audience.liaisons["dianzi"]} == {
        (5001, "王芳", "en"),
        (5002, "李强", "zh"),
    }


def test_only_coordinators_and_admins_see_the_audience(uow: Callable[[], UnitOfWork]) -> None:
    register_units(uow(), OPERATOR, sample_units())
    liaison = register_person(uow(), OPERATOR, 5001, "王芳", Role.LIAISON, "dianzi")
    with pytest.raises(Refused):
        load_audience(uow(), Actor(liaison.id, Role.LIAISON, None, "王芳"), "zh")
