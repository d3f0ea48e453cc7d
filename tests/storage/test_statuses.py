"""Status columns: stored as the very strings they always were, loaded as members of their enum."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select, text

from services.access import Actor
from services.people import register_person
from storage.models import Person
from storage.statuses import Role
from storage.unit_of_work import UnitOfWork

Uow = Callable[[], UnitOfWork]
OPERATOR = Actor.operator("test")


def test_a_role_is_stored_as_plain_text_and_loaded_as_a_member(uow: Uow) -> None:
    person_id = register_person(uow(), OPERATOR, 100, "甲", Role.VIEWER).id
    with uow() as work:
        stored = work.session.execute(
            text("SELECT role FROM people WHERE id = :id"), {"id": person_id}
        ).scalar_one()
        loaded = work.session.execute(select(Person).where(Person.id == person_id)).scalar_one()
    assert type(stored) is str and stored == "viewer"
    assert loaded.role is Role.VIEWER


def test_a_query_by_plain_text_finds_the_rows_of_the_member(uow: Uow) -> None:
    register_person(uow(), OPERATOR, 100, "甲", Role.VIEWER)
    with uow() as work:
        by_text = work.session.execute(select(Person.id).where(Person.role == "viewer")).all()
        by_member = work.session.execute(select(Person.id).where(Person.role == Role.VIEWER)).all()
    assert by_text == by_member and len(by_text) == 1


def test_a_value_outside_the_enum_is_refused_when_loaded(uow: Uow) -> None:
    person_id = register_person(uow(), OPERATOR, 100, "甲", Role.VIEWER).id
    with uow() as work:
        work.session.execute(
            text("UPDATE people SET role = 'stranger' WHERE id = :id"), {"id": person_id}
        )
        with pytest.raises(ValueError, match="stranger"):
            work.session.execute(select(Person.role).where(Person.id == person_id)).scalar_one()
