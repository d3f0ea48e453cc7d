"""Closing a year once its approved result is published: afterwards every service refuses to
change anything of it (and stores nothing), everything stays readable, the assessment year moves
on, and the next year's plan starts from it (roll-over); on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from scoring import Grade, GradeRecord, IndicatorValues
from services.access import Actor
from services.errors import ServiceError
from services.files.plan_file import load_plan_text
from services.findings import (
    accept_rectification,
    record_finding,
    submit_rectification,
    year_findings,
)
from services.peer import cast_vote, open_round
from services.plans import closed_years, default_year, load_plan, rolled_over_plan
from services.practices import record_good_practice
from services.publications import latest_publication, publish_standings
from services.reminders import FINDING_DUE, plan_reminders
from services.reports import ReportEntryInput, close_month, submit_report
from services.results import close_year, decide_result, freeze_result, publish_result
from services.standings import compute_standings
from services.year_data import add_bonus, import_grades, import_values, record_grade
from storage.clock import FixedClock
from storage.models import ReminderRow
from storage.unit_of_work import UnitOfWork
from tests.services.district import YEAR
from tests.services.test_publications import People, people
from tests.services.test_results import approver, assert_refused, counts

__all__ = ["people"]  # the fixture these tests use

UOW = Callable[[], UnitOfWork]
OPERATOR = Actor.operator()


def publish_approved(uow: UOW, people: People) -> None:
    """The year's result frozen, approved and published."""
    leader = approver(uow, people)
    freeze_result(uow(), people.coordinator, YEAR)
    decide_result(uow(), leader, YEAR, approve=True)
    publish_result(uow(), people.coordinator, YEAR)


def test_closing_needs_a_published_result_and_an_admin(uow: UOW, people: People) -> None:
    assert_refused(
        uow, "year_close_unpublished", lambda: close_year(uow(), Actor.operator(), YEAR)
    )
    leader = approver(uow, people)
    freeze_result(uow(), people.coordinator, YEAR)
    decide_result(uow(), leader, YEAR, approve=True)
    assert_refused(
        uow, "year_close_unpublished", lambda: close_year(uow(), Actor.operator(), YEAR)
    )
    publish_result(uow(), people.coordinator, YEAR)
    assert_refused(uow, "role_not_allowed", lambda: close_year(uow(), people.coordinator, YEAR))
    closed = close_year(uow(), Actor.operator(), YEAR)
    assert (closed.year, closed.result_version) == (YEAR, 1)
    assert closed_years(uow()) == [YEAR]
    assert_refused(uow, "year_already_closed", lambda: close_year(uow(), OPERATOR, YEAR))


def test_nothing_of_a_closed_year_changes_and_everything_stays_readable(
    uow: UOW, people: People, clock: FixedClock
) -> None:
    finding = record_finding(
        uow(), people.coordinator, people.units["dianzi"], "台账不全", "visit",
        date(YEAR, 3, 1), date(YEAR, 3, 20),
    )  # fmt: skip
    receipt = submit_rectification(uow(), people.liaison, finding.id, "已补")
    publish_approved(uow, people)
    standings = compute_standings(uow(), YEAR)
    close_year(uow(), Actor.operator(), YEAR)
    before = counts(uow)
    coordinator, units = people.coordinator, people.units
    changes: list[Callable[[], Any]] = [
        lambda: record_grade(
            uow(), coordinator, YEAR, units["xiji"], "key_work", "year", "poor", "组"
        ),
        lambda: import_grades(
            uow(),
            coordinator,
            YEAR,
            [GradeRecord("xiji", "key_work", "year", "组", Grade.POOR)],
            "grades.xlsx",
        ),
        lambda: import_values(
            uow(), coordinator, YEAR, IndicatorValues.from_rows({}, []), "values.xlsx"
        ),
        lambda: add_bonus(uow(), coordinator, YEAR, units["dianzi"], "新的加分"),
        lambda: submit_report(
            uow(), people.liaison, units["dianzi"], YEAR, 2, [ReportEntryInput(999, "done")]
        ),
        lambda: close_month(uow(), coordinator, YEAR, 2),
        lambda: record_finding(
            uow(),
            coordinator,
            units["xiji"],
            "新问题",
            "visit",
            date(YEAR, 3, 2),
            date(YEAR, 4, 1),
        ),
        lambda: submit_rectification(uow(), people.liaison, finding.id, "再补"),
        lambda: accept_rectification(uow(), coordinator, receipt.rectification_id),
        lambda: record_good_practice(uow(), coordinator, units["dianzi"], YEAR, "经验", ""),
        lambda: open_round(uow(), coordinator, YEAR, "town"),
        lambda: cast_vote(uow(), people.liaison, YEAR, units["xiji"], "key_work", Grade.GOOD),
        lambda: publish_standings(uow(), coordinator, YEAR, "Q1"),
        lambda: freeze_result(uow(), coordinator, YEAR),
        lambda: load_plan(uow(), coordinator, rolled_over_plan(uow(), YEAR, YEAR), "plan.yaml"),
    ]
    for change in changes:
        with pytest.raises(ServiceError) as error:
            change()
        assert error.value.code == "year_closed", (error.value.code, change)
    assert counts(uow) == before
    # Readable as before.
    assert compute_standings(uow(), YEAR).to_json() == standings.to_json()
    assert latest_publication(uow(), YEAR) is not None
    assert [f.id for f in year_findings(uow(), coordinator, YEAR)] == [finding.id]


def test_the_assessment_year_moves_past_a_closed_year(uow: UOW, people: People) -> None:
    assert default_year(uow(), date(YEAR + 1, 2, 1)) == YEAR
    publish_approved(uow, people)
    close_year(uow(), Actor.operator(), YEAR)
    assert default_year(uow(), date(YEAR + 1, 2, 1)) == YEAR + 1


def test_roll_over_starts_the_next_plan_from_this_one(uow: UOW, people: People) -> None:
    data = yaml.safe_load(rolled_over_plan(uow(), YEAR, YEAR + 1))
    text = rolled_over_plan(uow(), YEAR, YEAR + 1)
    plan, old = load_plan_text(text, "next"), compute_standings(uow(), YEAR).plan
    assert plan.year == YEAR + 1 == data["year"]
    assert plan.development == old.development and plan.work == old.work
    assert load_plan(uow(), people.coordinator, text, "rolled.yaml").year == YEAR + 1
    assert_refused(uow, "no_plan", lambda: rolled_over_plan(uow(), 2010, 2011))


def test_nothing_of_a_closed_year_is_reminded(uow: UOW, people: People, clock: FixedClock) -> None:
    record_finding(
        uow(), people.coordinator, people.units["dianzi"], "台账不全", "visit",
        date(YEAR, 3, 1), date(YEAR, 3, 12),
    )  # fmt: skip
    plan_reminders(uow())
    assert FINDING_DUE in {r.kind for r in pending(uow)}
    publish_approved(uow, people)
    close_year(uow(), OPERATOR, YEAR)
    plan_reminders(uow())
    assert FINDING_DUE not in {r.kind for r in pending(uow)}


def pending(uow: UOW) -> list[ReminderRow]:
    """The reminders still to send."""
    with uow() as work:
        return list(
            work.session.execute(select(ReminderRow).where(ReminderRow.status == "pending"))
            .scalars()
            .all()
        )
