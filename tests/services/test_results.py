"""The year's result from draft to approved to published, with approvers and staleness, on
SQLite and PostgreSQL: every step audited, every refusal stores nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from services.access import Actor, Role
from services.errors import ServiceError
from services.publications import latest_publication
from services.results import (
    approver_contacts,
    decide_result,
    freeze_result,
    publish_result,
    result_numbers,
    result_state,
    set_approver,
    snapshot_hash,
    year_results,
)
from services.standings import compute_standings
from services.year_data import record_grade
from storage.clock import FixedClock
from storage.models import AuditEntry, Publication, YearResult
from storage.statuses import ResultStatus
from storage.unit_of_work import UnitOfWork
from templates import render
from tests.services.district import YEAR, at
from tests.services.test_publications import People, _actor, people

__all__ = ["people"]  # the fixture these tests use

UOW = Callable[[], UnitOfWork]


def counts(uow: UOW) -> tuple[int, int, int]:
    """How many results, publications and audit entries are stored."""
    with uow() as work:
        return tuple(  # type: ignore[return-value]
            work.session.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (YearResult, Publication, AuditEntry)
        )


def assert_refused(uow: UOW, code: str, call: Callable[[], Any]) -> None:
    """The call raises `code` (worded in both languages) and stores nothing."""
    before = counts(uow)
    with pytest.raises(ServiceError) as error:
        call()
    assert error.value.code == code
    for language in ("zh", "en"):
        assert render(f"errors.{code}", language, **dict(error.value.params))
    assert counts(uow) == before


def approver(uow: UOW, people: People) -> Actor:
    """The viewer, marked as an approver."""
    set_approver(uow(), people.coordinator, people.viewer.person_id or 0, True)
    return people.viewer


def actions(uow: UOW) -> list[str]:
    """The audit actions, oldest first."""
    with uow() as work:
        return list(
            work.session.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars()
        )


def test_a_draft_freezes_every_number_with_versions_and_hash(uow: UOW, people: People) -> None:
    draft = freeze_result(uow(), people.coordinator, YEAR)
    assert draft.status is ResultStatus.DRAFT and draft.version == 1 and draft.units == 3
    numbers = result_numbers(uow(), draft.id)
    assert numbers == compute_standings(uow(), YEAR, draft.as_of).to_json()
    assert draft.snapshot_hash == snapshot_hash(numbers)
    assert draft.plan_version == 1 and draft.data_versions["plan"] == 1
    assert draft.data_versions["audit"] > 0
    assert actions(uow)[-1] == "result.draft"


def test_approved_then_published_from_the_snapshot(
    uow: UOW, people: People, clock: FixedClock
) -> None:
    leader = approver(uow, people)
    draft = freeze_result(uow(), people.coordinator, YEAR)
    assert_refused(
        uow, "result_not_approved", lambda: publish_result(uow(), people.coordinator, YEAR)
    )
    approved = decide_result(uow(), leader, YEAR, approve=True)
    assert approved.status is ResultStatus.APPROVED
    clock.set(at(3, 12))
    publication = publish_result(uow(), people.coordinator, YEAR)
    assert publication.as_of == draft.as_of and publication.period == "year"
    assert latest_publication(uow(), YEAR) == publication
    [published] = [r for r in year_results(uow(), YEAR) if r.id == draft.id]
    assert (
        published.status is ResultStatus.PUBLISHED and published.publication_id == publication.id
    )
    assert actions(uow)[-3:] == ["result.approve", "standings.publish", "result.publish"]
    # A second publication of the same result is refused.
    assert_refused(
        uow, "result_not_approved", lambda: publish_result(uow(), people.coordinator, YEAR)
    )


def test_a_returned_draft_keeps_the_remarks_and_needs_them(uow: UOW, people: People) -> None:
    leader = approver(uow, people)
    freeze_result(uow(), people.coordinator, YEAR)
    assert_refused(
        uow, "result_remarks_needed", lambda: decide_result(uow(), leader, YEAR, False, "  ")
    )
    returned = decide_result(uow(), leader, YEAR, False, "西集镇的重点工作评价 请复核")
    assert returned.status is ResultStatus.RETURNED
    assert returned.remarks == "西集镇的重点工作评价 请复核"
    assert_refused(uow, "result_not_a_draft", lambda: decide_result(uow(), leader, YEAR, True))
    assert actions(uow)[-1] == "result.return"
    again = freeze_result(uow(), people.coordinator, YEAR)
    assert again.version == 2
    statuses = {r.version: r.status for r in year_results(uow(), YEAR)}
    assert statuses == {2: ResultStatus.DRAFT, 1: ResultStatus.SUPERSEDED}


def test_only_an_approver_decides_and_only_a_viewer_is_one(uow: UOW, people: People) -> None:
    freeze_result(uow(), people.coordinator, YEAR)
    for actor in (people.viewer, people.coordinator, people.liaison):
        assert_refused(
            uow, "result_not_an_approver", lambda a=actor: decide_result(uow(), a, YEAR, True)
        )
    assert_refused(
        uow,
        "result_approver_not_viewer",
        lambda: set_approver(uow(), people.coordinator, people.rater.person_id or 0, True),
    )
    assert_refused(
        uow,
        "role_not_allowed",
        lambda: set_approver(uow(), people.liaison, people.viewer.person_id or 0, True),
    )
    approver(uow, people)
    assert [c.name for c in approver_contacts(uow())] == [people.viewer.name]
    set_approver(uow(), people.coordinator, people.viewer.person_id or 0, False)
    assert approver_contacts(uow()) == []
    assert actions(uow)[-2:] == ["person.approver", "person.approver"]


def test_data_changed_after_approval_make_the_result_stale_and_unpublishable(
    uow: UOW, people: People, clock: FixedClock
) -> None:
    leader = approver(uow, people)
    freeze_result(uow(), people.coordinator, YEAR)
    decide_result(uow(), leader, YEAR, approve=True)
    state = result_state(uow(), YEAR)
    assert state is not None and not state.stale and state.moved == []
    clock.set(at(3, 11))
    record_grade(
        uow(),
        Actor.operator(),
        YEAR,
        people.units["xiji"],
        "key_work",
        "year",
        "excellent",
        "考核组",
    )
    state = result_state(uow(), YEAR)
    assert state is not None and state.stale
    assert "xiji" in [m.unit for m in state.moved]
    moved = next(m for m in state.moved if m.unit == "xiji")
    assert moved.total_now is not None and moved.total_then is not None
    assert moved.total_now > moved.total_then
    assert_refused(uow, "result_stale", lambda: publish_result(uow(), people.coordinator, YEAR))
    # A new draft, approved, publishes.
    freeze_result(uow(), people.coordinator, YEAR)
    decide_result(uow(), leader, YEAR, approve=True)
    assert publish_result(uow(), people.coordinator, YEAR).period == "year"


def test_a_stale_draft_cannot_be_approved(uow: UOW, people: People, clock: FixedClock) -> None:
    leader = approver(uow, people)
    freeze_result(uow(), people.coordinator, YEAR)
    clock.set(at(3, 11))
    record_grade(
        uow(), Actor.operator(), YEAR, people.units["dianzi"], "key_work", "year", "poor", "考核组"
    )
    assert_refused(uow, "result_stale", lambda: decide_result(uow(), leader, YEAR, True))


def test_refusals_without_a_draft_or_a_plan(uow: UOW, people: People) -> None:
    leader = approver(uow, people)
    assert_refused(uow, "result_none", lambda: decide_result(uow(), leader, YEAR, True))
    assert_refused(uow, "result_none", lambda: publish_result(uow(), people.coordinator, YEAR))
    assert_refused(uow, "no_plan", lambda: freeze_result(uow(), people.coordinator, 2024))
    assert_refused(uow, "role_not_allowed", lambda: freeze_result(uow(), people.viewer, YEAR))
    assert result_state(uow(), YEAR) is None


def test_an_approver_is_a_role_of_a_person(uow: UOW, people: People) -> None:
    other = _actor(uow, 4002, "另一位领导", Role.VIEWER, None)
    approver(uow, people)
    freeze_result(uow(), people.coordinator, YEAR)
    assert_refused(uow, "result_not_an_approver", lambda: decide_result(uow(), other, YEAR, True))
