"""The submission path of a report, on SQLite and PostgreSQL: what it reads in how many
statements (issue 12: every statement is a round trip on PostgreSQL, paid by every liaison on
the deadline day), and the per-unit order it keeps while reading less.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import event, select

from services.errors import Invalid, NotFound
from services.files.plan_file import default_plan_text
from services.plans import load_plan
from services.reports import ReportReceipt, submit_report
from storage.clock import FixedClock
from storage.database import Database
from storage.models import EvidenceRow, ProgressReport
from storage.repositories.reports import Reports
from storage.unit_of_work import UnitOfWork
from tests.services.district import TEST_OPERATOR as OPERATOR
from tests.services.district import YEAR, District

UowFactory = Callable[[], UnitOfWork]


@pytest.fixture
def district(uow: UowFactory) -> District:
    return District(uow)


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    """The SQL statements sent while the block runs (BEGIN and COMMIT are not statements)."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE
            sent.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def test_a_report_is_read_in_two_statements_and_written_in_five(
    district: District, database: Database
) -> None:
    # Reads: the unit locked with the plan; the closed year, the extension, the versions and
    # the tasks. Writes: the version, its entries, and the audit (head, entry, head moved).
    with statements(database) as sent:
        district.submit("a")
    reads = [s for s in sent if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) <= 3, reads  # the two, and the audit head
    assert len(sent) <= 7, sent


def test_a_correction_numbers_its_version_after_the_stored_ones(district: District) -> None:
    first = district.submit("a")
    second = district.submit("a")
    third = district.submit("a")
    assert (first.version, second.version, third.version) == (1, 2, 3)
    assert third.counts_on_time == first.on_time


def test_a_submission_waiting_for_the_unit_sees_the_version_stored_meanwhile(
    district: District, uow: UowFactory
) -> None:
    # Another submission of the same unit holds the unit's lock and stores version 1; this one,
    # waiting for the lock, must number its version 2 (it reads the versions once it holds it).
    holder = uow()
    holder.__enter__()
    try:
        reports = holder.repository(Reports)
        assert reports.lock_for_submission(district.unit["a"], YEAR) is not None
        receipts: list[ReportReceipt | BaseException] = []

        def submit() -> None:
            try:
                receipts.append(district.submit("a"))
            except BaseException as exc:  # reported by the assertion below
                receipts.append(exc)

        waiting = threading.Thread(target=submit)
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive()  # blocked by the lock (or SQLite's write lock)
        now = holder.now()
        reports.insert(
            {
                "unit_id": district.unit["a"],
                "year": YEAR,
                "month": 2,
                "version": 1,
                "submitted_by": None,
                "submitted_at": now,
                "due_at": now,
                "on_time": False,
                "receipt": "held-v1",
            }
        )
        holder.commit()
    finally:
        holder.__exit__(None, None, None)
    waiting.join(15)
    assert len(receipts) == 1 and isinstance(receipts[0], ReportReceipt), receipts
    assert receipts[0].version == 2
    assert receipts[0].counts_on_time is False  # the first version (late) decides
    with uow() as work:
        versions = work.session.execute(
            select(ProgressReport.version).where(ProgressReport.unit_id == district.unit["a"])
        ).scalars()
        assert sorted(versions) == [1, 2]


def test_the_extension_granted_moves_the_deadline(district: District) -> None:
    district.grant_extension("a", 2, date(2025, 3, 20))
    receipt = district.submit("a")
    assert receipt.due_at.date() == date(2025, 3, 20)


def test_an_unknown_unit_is_refused_before_anything_else(
    district: District, uow: UowFactory
) -> None:
    with pytest.raises(NotFound) as refused:
        submit_report(uow(), OPERATOR, 999_999, 1999, 2, district.entries("a"))
    assert refused.value.code == "unknown_unit"


def test_a_year_without_a_plan_is_refused(district: District, uow: UowFactory) -> None:
    with pytest.raises(NotFound) as refused:
        submit_report(uow(), OPERATOR, district.unit["a"], 2030, 2, district.entries("a"))
    assert refused.value.code == "no_plan"


# A closed year is refused before the tasks are looked at: tests/services/test_year_close.py.


def test_a_task_of_the_unit_in_another_year_is_refused(
    district: District, uow: UowFactory, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 2, 2, 9, 0, tzinfo=UTC))
    load_plan(uow(), OPERATOR, default_plan_text(2026), "plan-2026.yaml")
    with pytest.raises(Invalid) as refused:
        submit_report(uow(), OPERATOR, district.unit["a"], 2026, 1, district.entries("a"))
    assert refused.value.code == "report_task_not_of_unit"


def _photo(district: District) -> int:
    with district.uow() as work:
        row = EvidenceRow(kind="photo", sha256="0" * 64, uploaded_at=work.now())
        work.session.add(row)
        work.flush()
        work.commit()
        return row.id


def test_files_are_checked_with_the_rest_of_what_a_submission_reads(
    district: District, database: Database
) -> None:
    first, second = _photo(district), _photo(district)
    with statements(database) as sent:
        district.submit("a", evidence_ids=[first, second, first])
    reads = [s for s in sent if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) <= 3, reads  # no read of its own for the files
    # A file not registered is named, whichever of the files given it is.
    with pytest.raises(NotFound) as raised:
        district.submit("a", evidence_ids=[first, 123_456, second, 654_321])
    assert raised.value.code == "report_evidence_not_found"
    assert raised.value.params == {"ids": [123_456, 654_321]}
