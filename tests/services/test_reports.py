"""Monthly progress reports: deadlines, corrections, closing months and the month facts, on
SQLite and PostgreSQL.

The test clock starts at 2025-03-01 09:00 in Shanghai. The report of February 2025 is due at the
end of 5 March in Shanghai, that is 2025-03-06 00:00 +08:00 = 2025-03-05 16:00 UTC.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from services.access import Role
from services.errors import Invalid, NotFound, Refused, ServiceError
from services.files.plan_file import default_plan_text
from services.plans import load_plan
from services.reports import (
    MonthState,
    ReportEntryInput,
    close_month,
    last_report,
    month_event_counts,
    month_report_facts,
    receipt_number,
    report_history,
    report_status,
    submit_report,
)
from services.tasks import TaskInput, import_tasks, tasks_of_unit
from storage.clock import FixedClock
from storage.models import (
    AuditEntry,
    EvidenceRow,
    MonthClosure,
    ProgressReport,
    ReportEvidence,
    UnitRow,
)
from templates import render
from tests.conftest import SHANGHAI
from tests.services.district import TEST_OPERATOR as OPERATOR
from tests.services.district import YEAR, District, UowFactory

FEB_DUE = datetime(2025, 3, 6, 0, 0, tzinfo=SHANGHAI)  # the first instant that is late
JUST_BEFORE = FEB_DUE - timedelta(microseconds=1)


@pytest.fixture
def district(uow: UowFactory) -> District:
    return District(uow)


@pytest.fixture
def server_in_new_york() -> Iterator[None]:
    """Run the test with the machine's local time zone far from Shanghai."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


# ---------------------------------------------------------------------------------------------
# On time or late


def test_a_report_in_the_last_instant_of_the_due_day_is_on_time(
    district: District, clock: FixedClock
) -> None:
    clock.set(JUST_BEFORE)
    receipt = district.submit("a")
    assert receipt.on_time and receipt.counts_on_time
    assert receipt.due_at == FEB_DUE.astimezone(UTC)


def test_a_report_at_the_first_instant_after_the_due_day_is_accepted_and_late(
    district: District, clock: FixedClock
) -> None:
    clock.set(FEB_DUE)
    receipt = district.submit("a")
    assert not receipt.on_time and not receipt.counts_on_time
    assert district.count(ProgressReport) == 1


def test_the_deadline_is_shanghais_end_of_day_whatever_the_servers_time_zone(
    district: District, clock: FixedClock, server_in_new_york: None
) -> None:
    # 2025-03-05 23:30 in Shanghai is 10:30 on the 5th in New York: still on time.
    clock.set(datetime(2025, 3, 5, 23, 30, tzinfo=SHANGHAI))
    assert district.submit("a").on_time
    # 2025-03-06 00:30 in Shanghai is still the 5th in New York, yet late.
    clock.set(datetime(2025, 3, 6, 0, 30, tzinfo=SHANGHAI))
    assert not district.submit("b").on_time


def test_a_granted_extension_moves_the_deadline_to_the_end_of_its_day(
    district: District, clock: FixedClock
) -> None:
    district.grant_extension("a", 2, date(2025, 3, 10))
    clock.set(datetime(2025, 3, 10, 23, 59, tzinfo=SHANGHAI))
    receipt = district.submit("a")
    assert receipt.on_time
    assert receipt.due_at == datetime(2025, 3, 11, tzinfo=SHANGHAI)
    assert not district.submit("b").on_time  # no extension


def test_event_counts_are_the_late_facts_under_extensions(
    district: District, clock: FixedClock
) -> None:
    # b reports February late, then is granted an extension past that: no event until the
    # extended deadline passes. a reports within its own extension: never an event.
    district.grant_extension("a", 2, date(2025, 3, 10))
    clock.set(datetime(2025, 3, 7, 10, 0, tzinfo=SHANGHAI))
    assert district.submit("a").on_time
    assert not district.submit("b").on_time
    district.grant_extension("b", 2, date(2025, 3, 10))
    for day in (6, 8, 10, 11, 12):
        at = datetime(2025, 3, day, 12, 0, tzinfo=SHANGHAI)
        late = Counter(
            (f.unit_id, f.state)
            for f in month_report_facts(district.uow(), YEAR, at)
            if f.state != MonthState.ON_TIME
        )
        assert month_event_counts(district.uow(), YEAR, at) == late, day
    assert month_event_counts(district.uow(), YEAR, at) == Counter(
        {(district.unit["b"], MonthState.LATE): 1}
    )


def test_the_month_opens_on_its_first_day_and_a_future_month_is_refused(
    district: District, clock: FixedClock
) -> None:
    before = district.stored()
    with pytest.raises(Invalid) as raised:
        district.submit("a", month=4)
    assert raised.value.code == "report_month_not_open"
    assert district.stored() == before
    clock.set(datetime(2025, 2, 28, 23, 59, tzinfo=SHANGHAI))
    with pytest.raises(Invalid):
        district.submit("a", month=3)
    clock.set(datetime(2025, 3, 1, 0, 0, tzinfo=SHANGHAI))
    assert district.submit("a", month=3).version == 1


# ---------------------------------------------------------------------------------------------
# Corrections


def test_a_correction_is_a_new_version_and_the_old_one_is_kept(
    district: District, clock: FixedClock
) -> None:
    first = district.submit("a", entries=district.entries("a", "behind", "慢"))
    clock.advance(hours=1)
    second = district.submit("a", entries=district.entries("a", "done", "好了"))
    assert (first.version, second.version) == (1, 2)
    assert second.correction and not first.correction
    assert first.receipt == receipt_number(district.unit["a"], YEAR, 2, 1)
    assert second.receipt.endswith("-v2") and second.receipt != first.receipt
    history = report_history(district.uow(), district.liaison["a"], district.unit["a"], YEAR, 2)
    assert [v.version for v in history] == [1, 2]
    assert [e.status for e in history[0].entries] == ["behind", "behind"]
    assert [e.note for e in history[1].entries] == ["好了", "好了"]
    assert history[0].entries[0].task_code == "T1"
    with district.uow() as work:
        actions = list(
            work.session.execute(
                select(AuditEntry.action).where(AuditEntry.entity == "progress_report")
            ).scalars()
        )
    assert actions == ["report.submit", "report.correct"]


def test_a_late_correction_of_an_on_time_report_leaves_the_month_on_time(
    district: District, clock: FixedClock
) -> None:
    district.submit("a")
    clock.set(FEB_DUE + timedelta(days=2))
    correction = district.submit("a")
    assert not correction.on_time  # this version came late
    assert correction.counts_on_time  # the month is on time
    facts = month_report_facts(district.uow(), YEAR, FEB_DUE + timedelta(days=3))
    assert {(f.unit_code, f.state) for f in facts} == {("a", MonthState.ON_TIME)}


def test_a_late_unit_stays_late_when_it_corrects(district: District, clock: FixedClock) -> None:
    clock.set(FEB_DUE)
    district.submit("a")
    clock.advance(days=1)
    assert not district.submit("a").counts_on_time


# ---------------------------------------------------------------------------------------------
# Who may report what


def test_a_liaison_of_another_unit_is_refused_and_nothing_is_stored(
    district: District,
) -> None:
    before = district.stored()
    with pytest.raises(Refused) as refused:
        submit_report(
            district.uow(),
            district.liaison["b"],
            district.unit["a"],
            YEAR,
            2,
            district.entries("a"),
        )
    assert refused.value.code == "not_your_unit"
    assert district.stored() == before


@pytest.mark.parametrize("role", [Role.RATER, Role.VIEWER])
def test_raters_and_viewers_cannot_report(district: District, role: Role) -> None:
    before = district.stored()
    with pytest.raises(Refused) as refused:
        submit_report(
            district.uow(),
            district.person(role),
            district.unit["a"],
            YEAR,
            2,
            district.entries("a"),
        )
    assert refused.value.code == "role_not_allowed"
    assert district.stored() == before


def test_a_coordinator_may_report_on_a_units_behalf(district: District) -> None:
    receipt = submit_report(
        district.uow(), district.coordinator, district.unit["a"], YEAR, 2, district.entries("a")
    )
    history = report_history(district.uow(), OPERATOR, district.unit["a"], YEAR, 2)
    assert history[0].submitted_by == district.coordinator.person_id
    assert receipt.unit_id == district.unit["a"]


def test_a_task_of_another_unit_is_refused_and_nothing_is_stored(district: District) -> None:
    before = district.stored()
    entries = [*district.entries("a"), ReportEntryInput(district.tasks["b"][0], "done")]
    with pytest.raises(Invalid) as raised:
        district.submit("a", entries=entries)
    assert raised.value.code == "report_task_not_of_unit"
    assert district.stored() == before


def test_a_task_of_another_year_is_refused(district: District) -> None:
    load_plan(district.uow(), OPERATOR, default_plan_text(2024), "plan-2024.yaml")
    import_tasks(
        district.uow(), OPERATOR, 2024, [TaskInput("a", "OLD", "旧任务", work_item="key_work")]
    )
    (old,) = tasks_of_unit(district.uow(), OPERATOR, district.unit["a"], 2024)
    with pytest.raises(Invalid) as raised:
        district.submit("a", entries=[ReportEntryInput(old.id, "done")])
    assert raised.value.code == "report_task_not_of_unit"


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda d: [], "report_no_entries"),
        (lambda d: [ReportEntryInput(d.tasks["a"][0], "finished")], "report_bad_status"),
        (lambda d: [ReportEntryInput(d.tasks["a"][0], "done")] * 2, "report_duplicate_task"),
        (
            lambda d: [ReportEntryInput(d.tasks["a"][0], "done", "9" * 101)],
            "report_figure_too_long",
        ),
        (lambda d: [ReportEntryInput(999_999, "done")], "report_task_not_of_unit"),
    ],
)
def test_bad_entries_are_refused_and_nothing_is_stored(
    district: District, make: Callable[[District], list[ReportEntryInput]], code: str
) -> None:
    before = district.stored()
    with pytest.raises(Invalid) as raised:
        submit_report(
            district.uow(), district.liaison["a"], district.unit["a"], YEAR, 2, make(district)
        )
    assert raised.value.code == code
    assert district.stored() == before


@pytest.mark.parametrize("month", [0, 13])
def test_a_month_outside_1_to_12_is_refused(district: District, month: int) -> None:
    with pytest.raises(Invalid) as raised:
        district.submit("a", month=month)
    assert raised.value.code == "report_month_invalid"


def test_a_year_without_a_plan_is_refused(district: District) -> None:
    with pytest.raises(NotFound) as raised:
        submit_report(
            district.uow(),
            district.coordinator,
            district.unit["a"],
            2031,
            2,
            district.entries("a"),
        )
    assert raised.value.code == "no_plan"


# ---------------------------------------------------------------------------------------------
# Evidence


def _evidence(district: District) -> int:
    with district.uow() as work:
        row = EvidenceRow(kind="photo", sha256="0" * 64, uploaded_at=work.now())
        work.session.add(row)
        work.flush()
        work.commit()
        return row.id


def test_evidence_files_are_linked_to_the_report_version(district: District) -> None:
    first, second = _evidence(district), _evidence(district)
    district.submit("a", evidence_ids=[first, second, first])
    (version,) = report_history(district.uow(), OPERATOR, district.unit["a"], YEAR, 2)
    assert version.evidence_ids == (first, second)


def test_each_file_keeps_its_task_and_a_file_of_two_tasks_counts_for_both(
    district: District,
) -> None:
    shared, own, whole = _evidence(district), _evidence(district), _evidence(district)
    first, second = district.tasks["a"][:2]
    submit_report(
        district.uow(), district.liaison["a"], district.unit["a"], YEAR, 2,
        district.entries("a"), [whole], {first: [shared, own, shared], second: [shared]},
    )  # fmt: skip
    (version,) = report_history(district.uow(), OPERATOR, district.unit["a"], YEAR, 2)
    files = {e.task_id: e.files for e in version.entries}
    assert (files[first], files[second]) == ((shared, own), (shared,))
    assert version.report_files == (whole,)
    assert version.file_count == 4 and set(version.evidence_ids) == {shared, own, whole}
    with district.uow() as work:
        links = work.session.execute(select(ReportEvidence.task_id)).scalars().all()
    assert sorted(links, key=str) == sorted([first, first, second, None], key=str)


def test_files_for_a_task_not_in_the_report_are_refused(district: District) -> None:
    photo = _evidence(district)
    first = district.tasks["a"][0]
    entries = [e for e in district.entries("a") if e.task_id != first]
    with pytest.raises(Invalid) as raised:
        submit_report(
            district.uow(), district.liaison["a"], district.unit["a"], YEAR, 2,
            entries, (), {first: [photo]},
        )  # fmt: skip
    assert raised.value.code == "report_evidence_task_not_reported"


def test_unknown_evidence_is_refused_and_nothing_is_stored(district: District) -> None:
    before = district.stored()
    with pytest.raises(NotFound) as raised:
        district.submit("a", evidence_ids=[123_456])
    assert raised.value.code == "report_evidence_not_found"
    assert district.stored() == before


# ---------------------------------------------------------------------------------------------
# Looking back


def test_last_report_gives_the_newest_version_of_the_latest_earlier_month(
    district: District, clock: FixedClock
) -> None:
    district.submit("a", month=1, entries=district.entries("a", "behind"))
    district.submit("a", month=1, entries=district.entries("a", "done", "改"))
    district.submit("a", month=2, entries=district.entries("a", "on_track"))
    liaison = district.liaison["a"]
    previous = last_report(district.uow(), liaison, district.unit["a"], YEAR, 3)
    assert previous is not None and previous.month == 2
    january = last_report(district.uow(), liaison, district.unit["a"], YEAR, 2)
    assert january is not None and (january.month, january.version) == (1, 2)
    assert [e.status for e in january.entries] == ["done", "done"]
    assert last_report(district.uow(), liaison, district.unit["a"], YEAR, 1) is None


def test_a_liaison_cannot_read_another_units_reports(district: District) -> None:
    district.submit("a")
    with pytest.raises(Refused):
        report_history(district.uow(), district.liaison["b"], district.unit["a"], YEAR, 2)
    with pytest.raises(Refused):
        last_report(district.uow(), district.liaison["b"], district.unit["a"], YEAR, 3)


# ---------------------------------------------------------------------------------------------
# Closing a month


def test_closing_a_month_lists_the_units_without_a_report_as_missing(
    district: District, clock: FixedClock
) -> None:
    district.submit("a")
    clock.set(FEB_DUE)
    closed = close_month(district.uow(), district.coordinator, YEAR, 2)
    assert [u.code for u in closed.missing] == ["b"]
    assert closed.closed_at == FEB_DUE.astimezone(UTC)
    assert district.count(MonthClosure) == 1


def test_a_month_cannot_be_closed_twice(district: District, clock: FixedClock) -> None:
    clock.set(FEB_DUE)
    close_month(district.uow(), district.coordinator, YEAR, 2)
    with pytest.raises(Invalid) as raised:
        close_month(district.uow(), district.coordinator, YEAR, 2)
    assert raised.value.code == "report_month_already_closed"
    assert district.count(MonthClosure) == 1


def test_a_month_cannot_be_closed_before_its_deadline(
    district: District, clock: FixedClock
) -> None:
    clock.set(JUST_BEFORE)
    with pytest.raises(Invalid) as raised:
        close_month(district.uow(), district.coordinator, YEAR, 2)
    assert raised.value.code == "report_month_not_due"
    assert raised.value.params["due"] == date(2025, 3, 5)
    assert district.count(MonthClosure) == 0


def test_a_month_cannot_be_closed_while_an_unreported_units_extension_runs(
    district: District, clock: FixedClock
) -> None:
    district.grant_extension("b", 2, date(2025, 3, 8))
    clock.set(FEB_DUE)
    with pytest.raises(Invalid) as raised:
        close_month(district.uow(), district.coordinator, YEAR, 2)
    assert raised.value.code == "report_month_extension_pending"
    assert raised.value.params["units"] == ["b"]
    clock.set(datetime(2025, 3, 9, tzinfo=SHANGHAI))
    assert [
        u.code for u in close_month(district.uow(), district.coordinator, YEAR, 2).missing
    ] == ["a", "b"]


@pytest.mark.parametrize("role", [Role.LIAISON, Role.RATER, Role.VIEWER])
def test_only_coordinators_close_months(district: District, clock: FixedClock, role: Role) -> None:
    clock.set(FEB_DUE)
    with pytest.raises(Refused):
        close_month(district.uow(), district.person(role, district.unit["a"]), YEAR, 2)
    assert district.count(MonthClosure) == 0


def test_a_report_after_the_closure_is_stored_late_but_the_month_stays_missing(
    district: District, clock: FixedClock
) -> None:
    clock.set(FEB_DUE)
    close_month(district.uow(), district.coordinator, YEAR, 2)
    clock.advance(hours=1)
    assert not district.submit("a").on_time
    facts = month_report_facts(district.uow(), YEAR, clock.now())
    assert {(f.unit_code, f.state) for f in facts} == {
        ("a", MonthState.MISSING),
        ("b", MonthState.MISSING),
    }


# ---------------------------------------------------------------------------------------------
# Where every unit stands


def test_report_status_shows_each_units_state_now(district: District, clock: FixedClock) -> None:
    district.submit("a")
    states = {s.unit_code: s for s in report_status(district.uow(), YEAR, 2)}
    assert states["a"].state is MonthState.ON_TIME
    assert states["a"].latest_receipt == receipt_number(district.unit["a"], YEAR, 2, 1)
    assert states["b"].state is MonthState.NOT_DUE_YET
    assert states["b"].latest_version == 0
    clock.set(FEB_DUE)
    assert {s.unit_code: s.state for s in report_status(district.uow(), YEAR, 2)}[
        "b"
    ] is MonthState.OVERDUE
    district.submit("b")
    assert {s.unit_code: s.state for s in report_status(district.uow(), YEAR, 2)}[
        "b"
    ] is MonthState.LATE
    close_month(district.uow(), district.coordinator, YEAR, 2)
    assert {s.unit_code: s.state for s in report_status(district.uow(), YEAR, 3)} == {
        "a": MonthState.NOT_DUE_YET,
        "b": MonthState.NOT_DUE_YET,
    }


def test_report_status_marks_missing_after_the_month_is_closed(
    district: District, clock: FixedClock
) -> None:
    clock.set(FEB_DUE)
    close_month(district.uow(), district.coordinator, YEAR, 2)
    assert {s.state for s in report_status(district.uow(), YEAR, 2)} == {MonthState.MISSING}


def test_month_facts_as_of_dates(district: District, clock: FixedClock) -> None:
    # January: a on time, b late, nobody closes it. February: a on time, b never; closed.
    clock.set(datetime(2025, 2, 3, 10, 0, tzinfo=SHANGHAI))
    district.submit("a", month=1)
    clock.set(datetime(2025, 2, 7, 10, 0, tzinfo=SHANGHAI))
    district.submit("b", month=1)
    clock.set(datetime(2025, 3, 2, 10, 0, tzinfo=SHANGHAI))
    district.submit("a", month=2)
    closing = datetime(2025, 3, 10, 9, 0, tzinfo=SHANGHAI)
    clock.set(closing)
    close_month(district.uow(), district.coordinator, YEAR, 2)

    def facts(at: datetime) -> set[tuple[str, int, MonthState]]:
        found = month_report_facts(district.uow(), YEAR, at)
        # The standings' counts are the late and missing facts, counted.
        counted = Counter((f.unit_id, f.state) for f in found if f.state != MonthState.ON_TIME)
        assert month_event_counts(district.uow(), YEAR, at) == counted
        return {(f.unit_code, f.month, f.state) for f in found}

    assert facts(datetime(2025, 2, 5, 23, 0, tzinfo=SHANGHAI)) == set()  # nothing due yet
    # January's deadline passed; b had not reported yet and January is open: no fact for b.
    assert facts(datetime(2025, 2, 6, 12, 0, tzinfo=SHANGHAI)) == {("a", 1, MonthState.ON_TIME)}
    assert facts(datetime(2025, 2, 8, tzinfo=SHANGHAI)) == {
        ("a", 1, MonthState.ON_TIME),
        ("b", 1, MonthState.LATE),
    }
    january = {("a", 1, MonthState.ON_TIME), ("b", 1, MonthState.LATE)}
    # February's deadline passed, but the month is not closed yet: a on time, b no fact.
    assert facts(closing - timedelta(seconds=1)) == january | {("a", 2, MonthState.ON_TIME)}
    assert facts(closing) == january | {
        ("a", 2, MonthState.ON_TIME),
        ("b", 2, MonthState.MISSING),
    }
    (missing,) = [
        f for f in month_report_facts(district.uow(), YEAR, closing) if f.state == "missing"
    ]
    assert missing.unit_id == district.unit["b"]
    assert missing.due_at == FEB_DUE.astimezone(UTC)


def test_month_facts_work_inside_an_open_unit_of_work(
    district: District, clock: FixedClock
) -> None:
    district.submit("a")
    clock.set(FEB_DUE)
    work = district.uow()
    with work:
        facts = month_report_facts(work, YEAR, clock.now())
        statuses = report_status(work, YEAR, 2)
        assert work.session.is_active  # the caller's session was not closed under it
    assert [(f.unit_code, f.state) for f in facts] == [("a", MonthState.ON_TIME)]
    assert len(statuses) == 2


def test_units_without_tasks_owe_no_reports(district: District, clock: FixedClock) -> None:
    with district.uow() as work:
        work.session.add(UnitRow(code="c", name="c镇", group="town", created_at=work.now()))
        work.commit()
    clock.set(FEB_DUE)
    assert "c" not in {s.unit_code for s in report_status(district.uow(), YEAR, 2)}
    assert "c" not in {
        u.code for u in close_month(district.uow(), district.coordinator, YEAR, 2).missing
    }


# ---------------------------------------------------------------------------------------------
# Messages


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_refusal_has_a_message(district: District, clock: FixedClock, language: str) -> None:
    errors: list[ServiceError] = []
    district.grant_extension("b", 1, date(2025, 3, 3))  # January cannot be closed on 1 March
    for attempt in (
        lambda: district.submit("a", month=5),
        lambda: district.submit("a", month=13),
        lambda: district.submit("a", entries=[ReportEntryInput(district.tasks["b"][0], "done")]),
        lambda: district.submit("a", evidence_ids=[77]),
        lambda: district.submit("a", entries=[]),
        lambda: district.submit("a", entries=[ReportEntryInput(district.tasks["a"][0], "x")]),
        lambda: district.submit(
            "a", entries=[ReportEntryInput(district.tasks["a"][0], "done", "9" * 200)]
        ),
        lambda: district.submit(
            "a", entries=[ReportEntryInput(district.tasks["a"][0], "done")] * 2
        ),
        lambda: close_month(district.uow(), district.coordinator, YEAR, 2),
        lambda: close_month(district.uow(), district.coordinator, YEAR, 1),
    ):
        with pytest.raises(ServiceError) as raised:
            attempt()
        errors.append(raised.value)
    clock.set(datetime(2025, 3, 4, tzinfo=SHANGHAI))
    close_month(district.uow(), district.coordinator, YEAR, 1)
    with pytest.raises(ServiceError) as raised:
        close_month(district.uow(), district.coordinator, YEAR, 1)
    errors.append(raised.value)
    assert len({e.code for e in errors}) == len(errors)
    for error in errors:
        params: dict[str, Any] = dict(error.params)
        assert render(f"errors.{error.code}", language, **params)
