"""The year's data: indicator value sets, grades and bonus items, read in bulk for standings.

Reads for standings select plain columns (no ORM objects), so that a district of thousands of
units loads in a few bulk queries; writes of whole imports go through executemany.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

import numpy as np
from sqlalchemy import (
    Executable,
    Row,
    Table,
    and_,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from storage.bulk import insert_rows
from storage.clock import as_utc
from storage.models import (
    Base,
    BonusRow,
    GradeRow,
    IndicatorValue,
    ProgressReport,
    ReportEntry,
    ReportEvidence,
    UnitRow,
    ValueSet,
)
from storage.statuses import BonusStatus
from storage.unit_of_work import Repository

# Rows sent per executemany call: large enough to be fast, small enough to report progress.
INSERT_CHUNK = 10_000
GRADE_TABLE = cast(Table, GradeRow.__table__)
# The columns of a new grade, in the order of the rows given to Grades.insert_plain.
GRADE_COLUMNS = (
    "year",
    "unit_id",
    "item",
    "period",
    "rater",
    "grade",
    "recorded_at",
    "recorded_by",
)
BONUS_TABLE = cast(Table, BonusRow.__table__)
# The columns of a new bonus item, in the order of the rows given to Bonuses.insert_plain.
BONUS_COLUMNS = (
    "year",
    "unit_id",
    "title",
    "evidence_text",
    "status",
    "created_at",
    "created_by",
    "decided_at",
    "decided_by",
)


def _table(model: type[Base]) -> Table:
    """The table of a model, for Core statements (no ORM bookkeeping on bulk work)."""
    return cast(Table, model.__table__)


# A value set packed per indicator for ValueSets.value_columns (PostgreSQL): the unit ids and
# the values (NULL as NaN) as big-endian int4 and float8 bytes.
_PACKED_VALUES = (
    "SELECT indicator, string_agg(int4send(unit_id), ''), "
    "string_agg(float8send(coalesce(value, 'NaN')), '') "
    "FROM indicator_values WHERE value_set_id = %s GROUP BY indicator"
)


def _driver_rows(session: Session, query: Executable) -> list[Any]:
    """The rows of a bulk read as the database driver returns them (plain tuples).

    SQLAlchemy binds the parameters; the rows skip its result processing, which costs more
    than the fetch itself on the 100,000-row reads of the standings. Only for columns that
    need no processing: integers, floats and text (booleans come as 0/1 on SQLite).
    """
    result = session.connection().execute(query)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


class YearUnits(Repository):
    """The units as plain rows (id, code, name, group), for bulk reads."""

    def rows(self, include_inactive: bool = False) -> list[Row[int, str, str, str]]:
        """Every unit's id, code, name and group; towns first, then by code."""
        query = select(UnitRow.id, UnitRow.code, UnitRow.name, UnitRow.group)
        if not include_inactive:
            query = query.where(UnitRow.active.is_(True))
        rows = list(self.session.connection().execute(query.order_by(UnitRow.code)).all())
        return sorted(rows, key=lambda u: (u.group != "town", u.code))

    def lock(self, unit_ids: Iterable[int]) -> None:
        """Lock these units' rows until the end of the transaction (PostgreSQL; SQLite writers
        are serialised by BEGIN IMMEDIATE already), so that two writers of the same units'
        grades replace one after the other instead of both adding one in force."""
        ids = sorted(set(unit_ids))
        for start in range(0, len(ids), 1000):
            self.session.connection().execute(
                select(UnitRow.id)
                .where(UnitRow.id.in_(ids[start : start + 1000]))
                .order_by(UnitRow.id)
                .with_for_update()
            ).all()

    def one(self, unit_id: int) -> Row[int, str, str, str] | None:
        """The id, code, name and group of an active unit."""
        return self.session.execute(
            select(UnitRow.id, UnitRow.code, UnitRow.name, UnitRow.group).where(
                UnitRow.id == unit_id, UnitRow.active.is_(True)
            )
        ).one_or_none()


class ValueSets(Repository):
    """Versioned imports of a year's indicator values; the newest version is in force.

    A set is staged first (version NULL: no reader sees it), its values written in chunks of
    short transactions, then published with the next version number in one short one.
    """

    def latest(self, year: int, as_of: datetime | None = None) -> ValueSet | None:
        """The newest published value set of `year` (imported by `as_of`, if given)."""
        query = select(ValueSet).where(ValueSet.year == year, ValueSet.version.is_not(None))
        if as_of is not None:
            query = query.where(ValueSet.imported_at <= as_utc(as_of))
        return self.session.execute(
            query.order_by(ValueSet.version.desc()).limit(1)
        ).scalar_one_or_none()

    def versions(self, year: int) -> list[ValueSet]:
        """Every published value set of `year`, oldest first."""
        return list(
            self.session.execute(
                select(ValueSet)
                .where(ValueSet.year == year, ValueSet.version.is_not(None))
                .order_by(ValueSet.version)
            ).scalars()
        )

    def next_version(self, year: int) -> int:
        """The version number the next value set of `year` gets."""
        latest = self.session.execute(
            select(func.max(ValueSet.version)).where(ValueSet.year == year)
        ).scalar_one()
        return (latest or 0) + 1

    def add(self, row: ValueSet) -> ValueSet:
        """Add a value set (its id is set on flush)."""
        self.session.add(row)
        return row

    def stage(self, year: int, source: str, at: datetime, by: int | None) -> int:
        """A new value set, not yet published (no version; `imported_at` = when its writing
        began); its id."""
        row = ValueSet(year=year, version=None, source=source, imported_at=at, imported_by=by)
        self.session.add(row)
        self.session.flush()
        return row.id

    def publish(self, value_set_id: int, version: int, at: datetime) -> bool:
        """Give a staged set its version and import time: it is in force from the commit.
        False if it is gone or published already."""
        result = self.session.execute(
            update(ValueSet)
            .where(ValueSet.id == value_set_id, ValueSet.version.is_(None))
            .values(version=version, imported_at=at)
            .execution_options(synchronize_session=False)
        )
        return bool(cast(Any, result).rowcount == 1)

    def abandoned(self, year: int, before: datetime) -> list[int]:
        """Staged sets of `year` whose writing began before `before` and never finished (the
        process stopped half-way): their ids."""
        return list(
            self.session.execute(
                select(ValueSet.id).where(
                    ValueSet.year == year,
                    ValueSet.version.is_(None),
                    ValueSet.imported_at < as_utc(before),
                )
            ).scalars()
        )

    def discard_some(self, value_set_id: int, limit: int) -> int:
        """Delete up to `limit` values of a set that was never published; once none is left,
        the set itself. How many rows went (0 when nothing was left)."""
        table = _table(IndicatorValue)
        ids = select(table.c.id).where(table.c.value_set_id == value_set_id).limit(limit)
        connection = self.session.connection()
        deleted = cast(
            Any, connection.execute(table.delete().where(table.c.id.in_(ids.scalar_subquery())))
        ).rowcount
        if deleted:
            return int(deleted)
        gone = connection.execute(
            _table(ValueSet)
            .delete()
            .where(_table(ValueSet).c.id == value_set_id, _table(ValueSet).c.version.is_(None))
        )
        return int(cast(Any, gone).rowcount)

    def insert_values(self, rows: Sequence[tuple[int, int, str, float | None]]) -> None:
        """Insert indicator values, (value_set_id, unit_id, indicator, value) tuples, in bulk:
        COPY on PostgreSQL, one executemany elsewhere; within the unit of work's transaction."""
        if not rows:
            return
        connection = self.session.connection()
        if connection.dialect.name == "postgresql":
            # COPY is several times faster than executemany for a whole value set.
            driver: Any = connection.connection.driver_connection
            columns = "value_set_id, unit_id, indicator, value"
            with (
                driver.cursor() as cursor,
                cursor.copy(f"COPY indicator_values ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        # The driver's executemany of plain tuples: SQLAlchemy's per-row processing of
        # dictionaries would double the time the write lock is held.
        connection.exec_driver_sql(
            "INSERT INTO indicator_values (value_set_id, unit_id, indicator, value) "
            "VALUES (?, ?, ?, ?)",
            list(rows),
        )

    def value_columns(
        self, value_set_id: int, indicators: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The value set as three arrays, on PostgreSQL: unit ids, each value's place in
        `indicators` (-1: not among them) and the values (NaN: none); None elsewhere (read
        `values`). The server sends one row per indicator with its unit ids and values packed
        as binary (int4send, float8send), which numpy reads as they come: no Python object per
        value (a district's 120,000 values cost more to make into tuples than to send)."""
        connection = self.session.connection()
        if connection.dialect.name != "postgresql":
            return None
        driver: Any = connection.connection.driver_connection
        place = {code: j for j, code in enumerate(indicators)}
        ids: list[np.ndarray] = []
        places: list[np.ndarray] = []
        numbers: list[np.ndarray] = []
        with driver.cursor() as cursor:
            # Both aggregates of a group take its rows in the same order: id k goes with value k.
            cursor.execute(_PACKED_VALUES, (value_set_id,), binary=True)
            for indicator, packed_ids, packed_values in cursor.fetchall():
                ids.append(np.frombuffer(packed_ids, ">i4"))
                numbers.append(np.frombuffer(packed_values, ">f8"))
                if len(ids[-1]) != len(numbers[-1]):
                    raise ValueError("unit ids and values do not pair up")
                places.append(np.full(len(ids[-1]), place.get(indicator, -1), dtype=np.int64))
        if not ids:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty.copy(), np.zeros(0)
        return (
            np.concatenate(ids).astype(np.int64),
            np.concatenate(places),
            np.concatenate(numbers).astype(float),
        )

    def values(self, value_set_id: int) -> list[tuple[int, str, float | None]]:
        """The (unit_id, indicator, value) rows of a value set, as the driver gives them."""
        table = _table(IndicatorValue).c
        return _driver_rows(
            self.session,
            select(table.unit_id, table.indicator, table.value).where(
                table.value_set_id == value_set_id
            ),
        )


def _in_force(as_of: datetime | None) -> Any:
    """Grades in force: not replaced; or, as of a moment, recorded by then and not yet replaced."""
    if as_of is None:
        return GradeRow.replaced_at.is_(None)
    moment = as_utc(as_of)
    return and_(
        GradeRow.recorded_at <= moment,
        or_(GradeRow.replaced_at.is_(None), GradeRow.replaced_at > moment),
    )


class Grades(Repository):
    """Raters' grades; a re-grade sets `replaced_at` on the old row and adds a new one."""

    def current(
        self, year: int, unit_id: int, item: str, period: str, rater: str
    ) -> GradeRow | None:
        """The grade in force for one unit, item, period and rater."""
        return self.session.execute(
            select(GradeRow).where(
                GradeRow.year == year,
                GradeRow.unit_id == unit_id,
                GradeRow.item == item,
                GradeRow.period == period,
                GradeRow.rater == rater,
                GradeRow.replaced_at.is_(None),
            )
        ).scalar_one_or_none()

    def add(self, row: GradeRow) -> GradeRow:
        """Add one grade."""
        self.session.add(row)
        return row

    def current_keys(self, year: int) -> dict[tuple[int, str, str, str], tuple[int, str]]:
        """The grades in force of `year`: (unit_id, item, period, rater) -> (id, grade)."""
        rows = self.session.execute(
            select(
                GradeRow.unit_id,
                GradeRow.item,
                GradeRow.period,
                GradeRow.rater,
                GradeRow.id,
                GradeRow.grade,
            ).where(GradeRow.year == year, GradeRow.replaced_at.is_(None))
        ).all()
        return {(r[0], r[1], r[2], r[3]): (r[4], r[5]) for r in rows}

    def stamp(self, year: int) -> tuple[int, int]:
        """How many grades `year` has and the newest id: grades are only ever added (a replaced
        one is marked in the transaction that adds its successor), so any change moves this."""
        count, newest = self.session.execute(
            select(func.count(GradeRow.id), func.max(GradeRow.id)).where(GradeRow.year == year)
        ).one()
        return int(count), int(newest or 0)

    def mark_replaced(self, ids: Iterable[int], at: datetime) -> None:
        """Set `replaced_at` on the grades with these ids."""
        ids = list(ids)
        for start in range(0, len(ids), 1000):  # keeps under every backend's parameter limit
            self.session.execute(
                update(GradeRow)
                .where(GradeRow.id.in_(ids[start : start + 1000]))
                .values(replaced_at=at)
                .execution_options(synchronize_session=False)
            )

    def insert_plain(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert grades given as `driver_rows` of GRADE_COLUMNS in bulk."""
        insert_rows(self.session, GRADE_TABLE, GRADE_COLUMNS, rows)

    def in_force(
        self, year: int, as_of: datetime | None = None
    ) -> list[tuple[int, str, str, str, str]]:
        """The (unit_id, item, period, rater, grade) rows in force, in the order recorded."""
        return _driver_rows(
            self.session,
            select(
                GradeRow.unit_id, GradeRow.item, GradeRow.period, GradeRow.rater, GradeRow.grade
            )
            .where(GradeRow.year == year, _in_force(as_of))
            .order_by(GradeRow.id),
        )


class Bonuses(Repository):
    """Bonus items (加分项) and their decisions."""

    def add(self, row: BonusRow) -> BonusRow:
        """Add a bonus item."""
        self.session.add(row)
        return row

    def by_id(self, bonus_id: int) -> BonusRow | None:
        """The bonus item with this id."""
        return self.session.get(BonusRow, bonus_id)

    def of_year(self, year: int) -> list[BonusRow]:
        """Every bonus item of `year` that was not withdrawn, oldest first."""
        return list(
            self.session.execute(
                select(BonusRow)
                .where(BonusRow.year == year, BonusRow.withdrawn_at.is_(None))
                .order_by(BonusRow.id)
            ).scalars()
        )

    def insert_plain(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert bonus items given as `driver_rows` of BONUS_COLUMNS in bulk."""
        insert_rows(self.session, BONUS_TABLE, BONUS_COLUMNS, rows)

    def states(self, year: int) -> list[tuple[int, int, str, str, str]]:
        """(id, unit_id, title, evidence, status) of the year's items not withdrawn, by id:
        what an import compares against."""
        table = _table(BonusRow).c
        rows = self.session.connection().execute(
            select(table.id, table.unit_id, table.title, table.evidence_text, table.status)
            .where(table.year == year, table.withdrawn_at.is_(None))
            .order_by(table.id)
        )
        return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def set_evidence(self, evidence: Mapping[int, str]) -> None:
        """Replace the evidence text of items by id, in one executemany."""
        if evidence:
            table = _table(BonusRow)
            self.session.connection().execute(
                update(table)
                .where(table.c.id == bindparam("bonus_id"))
                .values(evidence_text=bindparam("new_evidence")),
                [{"bonus_id": i, "new_evidence": text} for i, text in evidence.items()],
            )

    def decide_many(self, ids: Sequence[int], status: str, at: datetime, by: int | None) -> None:
        """Record the same decision on several items."""
        table = _table(BonusRow)
        for start in range(0, len(ids), 1000):  # keeps under every backend's parameter limit
            self.session.connection().execute(
                update(table)
                .where(table.c.id.in_(ids[start : start + 1000]))
                .values(status=status, decided_at=at, decided_by=by)
            )

    def standing(self, year: int, as_of: datetime | None = None) -> list[Row[int, str, str, bool]]:
        """(unit_id, title, evidence, approved) of the items claimed by `as_of` and not
        withdrawn then; approved only when approved by then."""
        approved: Any = BonusRow.status == BonusStatus.APPROVED
        conditions: list[Any] = [BonusRow.year == year]
        if as_of is None:
            conditions.append(BonusRow.withdrawn_at.is_(None))
        else:
            moment = as_utc(as_of)
            approved = and_(approved, BonusRow.decided_at <= moment)
            conditions += [
                BonusRow.created_at <= moment,
                or_(BonusRow.withdrawn_at.is_(None), BonusRow.withdrawn_at > moment),
            ]
        query = select(BonusRow.unit_id, BonusRow.title, BonusRow.evidence_text, approved)
        rows = self.session.connection().execute(query.where(*conditions).order_by(BonusRow.id))
        return list(rows.all())


class TaskProgress(Repository):
    """What the reports of a unit show: the newest progress of each task, when each month's
    report first came in."""

    def latest(
        self, year: int, as_of: datetime | None = None, unit_id: int | None = None
    ) -> dict[int, Row[int, int, int, str, str, str]]:
        """task_id -> (task_id, month, version, status, figure, note) of the newest report
        version (latest month, then latest correction) submitted by `as_of`."""
        query = (
            select(
                ReportEntry.task_id,
                ProgressReport.month,
                ProgressReport.version,
                ReportEntry.status,
                ReportEntry.figure,
                ReportEntry.note,
            )
            .join(ProgressReport, ProgressReport.id == ReportEntry.report_id)
            .where(ProgressReport.year == year)
        )
        if as_of is not None:
            query = query.where(ProgressReport.submitted_at <= as_utc(as_of))
        if unit_id is not None:
            query = query.where(ProgressReport.unit_id == unit_id)
        rows = self.session.execute(
            query.order_by(ProgressReport.month, ProgressReport.version, ReportEntry.id)
        ).all()
        return {row[0]: row for row in rows}

    def evidence_counts(
        self, year: int, as_of: datetime | None = None, unit_id: int | None = None
    ) -> dict[tuple[int, int, int], int]:
        """(task_id, month, version) -> how many files that report version attaches to the
        task (a file sent for two tasks counts for each)."""
        query = (
            select(
                ReportEvidence.task_id,
                ProgressReport.month,
                ProgressReport.version,
                func.count(ReportEvidence.id),
            )
            .join(ProgressReport, ProgressReport.id == ReportEvidence.report_id)
            .where(ProgressReport.year == year, ReportEvidence.task_id.is_not(None))
        )
        if as_of is not None:
            query = query.where(ProgressReport.submitted_at <= as_utc(as_of))
        if unit_id is not None:
            query = query.where(ProgressReport.unit_id == unit_id)
        query = query.group_by(
            ReportEvidence.task_id, ProgressReport.month, ProgressReport.version
        )
        return {
            (task_id, month, version): count
            for task_id, month, version, count in self.session.execute(query).all()
            if task_id is not None
        }

    def first_submissions(self, year: int) -> dict[tuple[int, int], datetime]:
        """When each unit first submitted its report of each month: (unit_id, month) -> time."""
        rows = self.session.execute(
            select(
                ProgressReport.unit_id, ProgressReport.month, ProgressReport.submitted_at
            ).where(ProgressReport.year == year, ProgressReport.version == 1)
        ).all()
        return {(unit_id, month): as_utc(at) for unit_id, month, at in rows}
