"""Dialog state: versions that only grow (stale buttons), drafts kept per kind, and what each
call costs the database (Core statements, no ORM flush; issue 12)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from services import dialogs as dialog_service
from services.access import Actor, Role
from services.people import register_person, register_units
from storage.clock import FixedClock
from storage.database import Database
from storage.unit_of_work import UnitOfWork
from tests.factories import town

Uow = Callable[[], UnitOfWork]
OPERATOR = Actor.operator("test")


def _person(uow: Uow) -> int:
    register_units(uow(), OPERATOR, [town("dianzi", "店子镇")])
    person = register_person(uow(), OPERATOR, 1001, "联络员", Role.LIAISON, "dianzi")
    return person.id


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    """The statements run on the database meanwhile (their first word, BEGIN aside)."""
    seen: list[str] = []

    def before(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        if not sql.lstrip().upper().startswith("BEGIN"):
            seen.append(sql.split()[0].upper())

    event.listen(database.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", before)


def test_each_dialog_started_gets_a_higher_version_even_after_one_ended(
    uow: Uow, clock: FixedClock
) -> None:
    person = _person(uow)
    data = {"year": 2025, "tasks": [{"id": 1}]}
    first = dialog_service.start_dialog(uow(), person, "report", "intro", data)
    assert first == dialog_service.DialogView("report", "intro", 1, data)
    assert first.data is not data  # the caller's dict stays the caller's
    clock.advance(seconds=1)
    other = dialog_service.start_dialog(uow(), person, "language", "pick", {})
    assert other.version == 2
    assert dialog_service.current_dialog(uow(), person) == other
    dialog_service.end_dialog(uow(), person, "language")
    dialog_service.end_dialog(uow(), person, "language")  # ending nothing changes nothing
    # The report's draft is the dialog in progress again; the ended dialog left a marker.
    current = dialog_service.current_dialog(uow(), person)
    assert current is not None and current.kind == "report"
    again = dialog_service.start_dialog(uow(), person, "language", "pick", {"x": 1})
    assert again.version == 3
    dialog_service.end_dialog(uow(), person, "report")  # an older version: marker stays at 2
    dialog_service.end_dialog(uow(), person, "language")
    assert dialog_service.current_dialog(uow(), person) is None
    assert dialog_service.dialog_of_kind(uow(), person, "report") is None
    restarted = dialog_service.start_dialog(uow(), person, "report", "intro", {})
    assert restarted.version == 4


def test_starting_a_dialog_again_drops_the_old_draft_and_expires_its_version(
    uow: Uow, clock: FixedClock
) -> None:
    person = _person(uow)
    dialog_service.start_dialog(uow(), person, "report", "intro", {"a": 1})
    saved = dialog_service.save_dialog(uow(), person, "report", "figure", {"a": 2})
    assert saved == dialog_service.DialogView("report", "figure", 1, {"a": 2})
    fresh = dialog_service.start_dialog(uow(), person, "report", "intro", {"b": 1})
    assert fresh.version == 2
    assert dialog_service.dialog_of_kind(uow(), person, "report") == fresh
    assert dialog_service.dialog_for_button(uow(), person, "report") == (fresh, True)
    assert dialog_service.dialog_for_button(uow(), person, "finding") == (None, False)


def test_resuming_a_draft_gives_it_a_new_version_and_makes_it_current(
    uow: Uow, clock: FixedClock
) -> None:
    person = _person(uow)
    draft = dialog_service.start_dialog(uow(), person, "report", "note", {"n": [1, 2]})
    clock.advance(seconds=1)
    dialog_service.start_dialog(uow(), person, "language", "pick", {})
    assert dialog_service.dialog_for_button(uow(), person, "report") == (draft, False)
    clock.advance(seconds=1)
    resumed = dialog_service.resume_dialog(uow(), person, "report")
    assert resumed == dialog_service.DialogView("report", "note", 3, {"n": [1, 2]})
    assert dialog_service.current_dialog(uow(), person) == resumed
    assert dialog_service.dialog_for_button(uow(), person, "report") == (resumed, True)
    assert dialog_service.resume_dialog(uow(), person, "finding") is None


def test_dialog_calls_run_plain_statements_only(
    uow: Uow, database: Database, clock: FixedClock
) -> None:
    person = _person(uow)
    with statements(database) as seen:
        dialog_service.start_dialog(uow(), person, "report", "intro", {"a": 1})
    # The older draft dropped, the new one inserted with its version: no ORM flush of a
    # loaded object, no read of the versions of its own.
    assert seen == ["DELETE", "INSERT"]
    with statements(database) as seen:
        dialog_service.dialog_of_kind(uow(), person, "report")
    assert seen == ["SELECT"]
    with statements(database) as seen:
        dialog_service.end_dialog(uow(), person, "report")
    assert seen == ["DELETE", "UPDATE", "INSERT"]  # the first marker
    dialog_service.start_dialog(uow(), person, "report", "intro", {"a": 1})
    with statements(database) as seen:
        dialog_service.end_dialog(uow(), person, "report")
    assert seen == ["DELETE", "UPDATE"]  # the marker raised
    with statements(database) as seen:
        dialog_service.end_dialog(uow(), person, "report")
    assert seen == ["DELETE"]  # nothing to end


def test_a_views_draft_is_a_deep_copy_like_copy_deepcopy() -> None:
    shared = {"id": 7, "kind": "photo", "name": "现场"}
    data: dict[str, Any] = {
        "entries": {"1": {"files": [shared], "status": "done", "figure": "60%"}},
        "kept": [shared],
        "other": (2025, 3),
        "nested": [[1, 2.5, None, True], {"set": {1, 2}}],
        3: "an int key",
    }
    copied = dialog_service._copied(data)
    expected = copy.deepcopy(data)
    assert copied == expected and copied is not data
    # Nothing mutable is shared with the caller's dict; what it held twice is copied once.
    assert copied["entries"]["1"]["files"][0] is not shared
    assert copied["entries"]["1"]["files"][0] is copied["kept"][0]
    assert copied["nested"][1]["set"] is not data["nested"][1]["set"]
    assert type(copied["other"]) is tuple
