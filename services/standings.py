"""Standings from what is stored: the plan in force, the units, the newest values, the grades in
force, approved bonus and the events derived from reports and findings, scored by the engine.

Everything is read with a few bulk SELECTs of plain columns (no ORM objects), so that a district
of thousands of units scores in well under a second.

As of a moment, the standings are those the stored facts gave then: the newest value set
imported by then, the grades recorded by then and not yet replaced, the bonus approved by then,
and the events (late or missing reports, overdue rectifications, false reports) as they stood.
The plan is always the one in force now: a corrected plan applies to the whole year.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import repeat
from operator import itemgetter
from pathlib import Path

import numpy as np
import xlsxwriter
from sqlalchemy import Row

from scoring import (
    BonusItem,
    EventCount,
    EventKind,
    GradeColumns,
    GradeRecord,
    Group,
    IndicatorValues,
    Plan,
    Standings,
    Unit,
    score,
)
from scoring.calendar import MonthState, end_of_day
from scoring.inputs import RectificationCount
from scoring.plan import YearEndSource
from services.errors import NotFound
from services.files.reader import FINDING_DUE, FINDING_ON_TIME
from services.findings import FindingFact, false_report_facts, finding_facts
from services.peer import peer_records
from services.plans import plan_in_force
from services.reports import month_event_counts
from services.year_data import GRADE_OF
from storage.clock import as_utc
from storage.repositories.plans import Plans
from storage.repositories.year_data import Bonuses, Grades, ValueSets, YearUnits
from storage.unit_of_work import UnitOfWork

_MONTH_EVENTS = {
    MonthState.LATE: EventKind.REPORT_LATE,
    MonthState.MISSING: EventKind.REPORT_MISSING,
}


@dataclass(frozen=True)
class YearInputs:
    """What the engine scores for a year, read from the database."""

    plan: Plan
    units: list[Unit]
    values: IndicatorValues
    grades: list[GradeRecord]
    bonus: list[BonusItem]
    events: list[EventCount]
    value_version: int | None
    rectification: list[RectificationCount] = field(default_factory=list)


@dataclass(frozen=True)
class ExportedYear:
    """The files of a year exported for `kaohe score`."""

    plan: Path
    units: Path
    values: Path
    grades: Path
    bonus: Path
    events: Path


def as_of_day(uow: UnitOfWork, year: int, day: date) -> datetime:
    """The end of `day` in the plan's time zone (the moment `--as-of DAY` means), in UTC."""
    with uow:
        return end_of_day(day, plan_in_force(uow, year).timezone)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a bulk computation.

    Standings allocate a few hundred thousand short-lived objects that hold no cycles (rows,
    grade records, facts); the collector would scan them again and again for nothing, which
    costs a fifth of the time on a district of 2,000 units.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def compute_standings(uow: UnitOfWork, year: int, as_of: datetime | None = None) -> Standings:
    """The standings of `year` from the stored facts (as they stood at `as_of`, if given)."""
    with _collector_paused():
        # The inputs are freed (by reference counting) as _scored returns, before the collector
        # is back: its first pass would otherwise walk their hundreds of thousands of objects.
        return _scored(_read_year(uow, year, as_of, columns=True))


def _scored(inputs: _Read) -> Standings:
    """The engine's standings of these inputs."""
    return score(
        inputs.plan,
        inputs.units,
        inputs.values,
        inputs.grades,
        inputs.bonus,
        inputs.events,
        inputs.rectification,
    )


def year_inputs(uow: UnitOfWork, year: int, as_of: datetime | None = None) -> YearInputs:
    """Read everything the engine needs for `year` in one transaction."""
    inputs = _read_year(uow, year, as_of, columns=False)
    assert not isinstance(inputs.grades, GradeColumns)
    return YearInputs(
        inputs.plan,
        inputs.units,
        inputs.values,
        inputs.grades,
        inputs.bonus,
        inputs.events,
        inputs.value_version,
        inputs.rectification,
    )


# A stored grade as the text of its Grade (GRADE_OF also reads the labels).
_GRADE_TEXT = {stored: grade.value for stored, grade in GRADE_OF.items()}
_PANEL = YearEndSource.PANEL.value
# A stored group as its Group, looked up (calling the enum costs a microsecond a unit).
_GROUP_OF = {group.value: group for group in Group}


def _grade_columns(
    rows: Sequence[tuple[int, str, str, str, str]],
    code_of: dict[int, str],
    peers: Sequence[GradeRecord],
) -> GradeColumns:
    """The grades in force (rows of unit id, item, period, rater, stored grade) of the units in
    `code_of`, then the peers' votes, as the engine's columns: the same records as
    `GradeRecord(code_of[unit_id], item, period, rater, GRADE_OF[grade])` one by one."""
    if not set(map(itemgetter(0), rows)) <= code_of.keys():
        rows = [row for row in rows if row[0] in code_of]
    # map(itemgetter) rather than zip(*rows): unpacking 40,000 arguments is far slower.
    columns = GradeColumns(
        unit=list(map(code_of.__getitem__, map(itemgetter(0), rows))),
        item=list(map(itemgetter(1), rows)),
        period=list(map(itemgetter(2), rows)),
        rater=list(map(itemgetter(3), rows)),
        grade=list(map(_GRADE_TEXT.__getitem__, map(itemgetter(4), rows))),
        source=[_PANEL] * len(rows),
    )
    if not peers:
        return columns
    return GradeColumns(
        unit=[*columns.unit, *(g.unit for g in peers)],
        item=[*columns.item, *(g.item for g in peers)],
        period=[*columns.period, *(g.period for g in peers)],
        rater=[*columns.rater, *(g.rater for g in peers)],
        grade=[*columns.grade, *(g.grade.value for g in peers)],
        source=[*columns.source, *(g.source.value for g in peers)],
    )


@dataclass(frozen=True)
class _Read:
    """What `_read_year` read: YearInputs, the grades as records or as columns."""

    plan: Plan
    units: list[Unit]
    values: IndicatorValues
    grades: list[GradeRecord] | GradeColumns
    bonus: list[BonusItem]
    events: list[EventCount]
    value_version: int | None
    rectification: list[RectificationCount]


def _read_year(uow: UnitOfWork, year: int, as_of: datetime | None, *, columns: bool) -> _Read:
    """Read everything the engine needs for `year` in one transaction; the grades as columns
    if `columns` (for the engine alone: no object per grade)."""
    moment = as_utc(as_of) if as_of is not None else None
    with uow:
        plan = plan_in_force(uow, year)
        unit_rows = uow.repository(YearUnits).rows()
        units = [Unit(r.code, r.name, _GROUP_OF[r.group]) for r in unit_rows]
        code_of = {r.id: r.code for r in unit_rows}
        values, version = newest_values(uow, plan, year, moment, unit_rows)
        stored = uow.repository(Grades).in_force(year, moment)
        # The peers' votes (互评) count when the plan weighs them (scoring.md §2b).
        peers = peer_records(uow, plan, year, moment, code_of)
        grades: list[GradeRecord] | GradeColumns
        if columns:
            grades = _grade_columns(stored, code_of, peers)
        else:
            grades = [
                GradeRecord(code_of[unit_id], item, period, rater, GRADE_OF[grade])
                for unit_id, item, period, rater, grade in stored
                if unit_id in code_of
            ]
            grades += peers
        bonus = [
            BonusItem(code_of[r[0]], r[1], bool(r[3]), r[2])
            for r in uow.repository(Bonuses).standing(year, moment)
            if r[0] in code_of
        ]
        at = moment if moment is not None else as_utc(uow.now())
        findings = finding_facts(uow, year, at)
        events = derived_events(uow, year, moment, code_of, findings)
        rectification = rectification_counts(findings, code_of)
    return _Read(plan, units, values, grades, bonus, events, version, rectification)


def newest_values(
    uow: UnitOfWork,
    plan: Plan,
    year: int,
    as_of: datetime | None,
    unit_rows: Sequence[Row[int, str, str, str]],
) -> tuple[IndicatorValues, int | None]:
    """The newest value set (imported by `as_of`) as a (towns x plan indicators) matrix; values
    of units no longer active or no longer towns, and of indicators no longer in the plan, are
    left out."""
    sets = uow.repository(ValueSets)
    value_set = sets.latest(year, as_of)
    if value_set is None:
        return IndicatorValues.empty(), None
    towns = [(r.id, r.code) for r in unit_rows if r.group == Group.TOWN.value]
    plan_codes = [ind.code for ind in plan.development.indicators]
    # PostgreSQL sends the columns as arrays; elsewhere they are made of the driver's rows.
    columns = sets.value_columns(value_set.id, plan_codes)
    if columns is None:
        columns = _value_columns(sets.values(value_set.id), plan_codes)
    ids, plan_cols, numbers = columns
    if not len(ids) or not towns:
        return IndicatorValues.empty(), value_set.version
    # The plan's indicators the set has, in plan order; the others are left out.
    present = np.unique(plan_cols[plan_cols >= 0])
    codes = [plan_codes[int(j)] for j in present]
    column_of = np.full(len(plan_codes) + 1, -1, dtype=np.int64)  # last: not in the plan
    column_of[present] = np.arange(len(present))
    cols_at = column_of[plan_cols]  # -1 (not in the plan) picks the last slot: -1
    # Vectorised placement: a lookup array from unit id to matrix row, -1 for the others.
    town_ids = np.array([t[0] for t in towns], dtype=np.int64)
    row_of = np.full(int(max(ids.max(), town_ids.max())) + 1, -1, dtype=np.int64)
    row_of[town_ids] = np.arange(len(towns))
    rows_at = row_of[ids]
    keep = (rows_at >= 0) & (cols_at >= 0)
    matrix = np.full((len(towns), len(codes)), np.nan)
    matrix[rows_at[keep], cols_at[keep]] = numbers[keep]
    stored = np.unique(rows_at[keep])  # the towns the set has a row for, in town order
    units = tuple(towns[int(k)][1] for k in stored)
    return IndicatorValues(units, tuple(codes), matrix[stored]), value_set.version


def _value_columns(
    rows: Sequence[tuple[int, str, float | None]], plan_codes: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (unit id, indicator, value) rows as arrays: unit ids, the indicator's place in
    `plan_codes` (-1: not in the plan) and the values (NaN for None), as
    ValueSets.value_columns gives them."""
    # Column by column through map(itemgetter) and np.fromiter: no Python loop over the
    # 100,000 rows (and zip(*rows) would unpack 100,000 arguments, ten times slower).
    count = len(rows)
    ids = np.fromiter(map(itemgetter(0), rows), np.int64, count)
    plan_column = {code: j for j, code in enumerate(plan_codes)}
    plan_cols = np.fromiter(
        map(plan_column.get, map(itemgetter(1), rows), repeat(-1)), np.int64, count
    )
    numbers = np.array(list(map(itemgetter(2), rows)), dtype=float)  # None: NaN
    return ids, plan_cols, numbers


def rectification_counts(
    findings: Sequence[FindingFact], code_of: dict[int, str]
) -> list[RectificationCount]:
    """Per active unit with a finding due: its findings whose (extended) deadline has passed and
    how many of them were accepted as rectified by it (the rectification evaluation)."""
    due: Counter[int] = Counter()
    on_time: Counter[int] = Counter()
    for fact in findings:
        if fact.due:
            due[fact.unit_id] += 1
            on_time[fact.unit_id] += fact.rectified_on_time
    return [
        RectificationCount(code_of[unit_id], n, on_time[unit_id])
        for unit_id, n in sorted(due.items())
        if unit_id in code_of
    ]


def derived_events(
    uow: UnitOfWork,
    year: int,
    as_of: datetime | None,
    code_of: dict[int, str],
    findings: Sequence[FindingFact] | None = None,
) -> list[EventCount]:
    """The point-costing events of the year as of `as_of` (now if None), derived from the
    stored reports (late, missing), findings (rectification overdue; `findings` if already
    read as of the same moment) and confirmed false reports; events of units not in `code_of`
    (no longer active) are left out."""
    at = as_of if as_of is not None else as_utc(uow.now())
    counts: Counter[tuple[int, EventKind]] = Counter()
    for (unit_id, state), n in month_event_counts(uow, year, at).items():
        counts[unit_id, _MONTH_EVENTS[state]] += n
    for finding in findings if findings is not None else finding_facts(uow, year, at):
        if finding.rectification_overdue:
            counts[finding.unit_id, EventKind.RECTIFICATION_OVERDUE] += 1
    for false_report in false_report_facts(uow, year, at):
        counts[false_report.unit_id, EventKind.FALSE_REPORT] += 1
    order = {kind: k for k, kind in enumerate(EventKind)}
    return [
        EventCount(code_of[unit_id], kind, n)
        for (unit_id, kind), n in sorted(counts.items(), key=lambda c: (c[0][0], order[c[0][1]]))
        if unit_id in code_of
    ]


# ---------------------------------------------------------------------------------------------
# Export to the workbooks of scoring.md, for `kaohe score`


def export_year_workbooks(
    uow: UnitOfWork, year: int, folder: Path, as_of: datetime | None = None
) -> ExportedYear:
    """Write the stored year as the plan file and the units, values, grades, bonus and events
    workbooks of scoring.md (events derived from the stored facts)."""
    inputs = year_inputs(uow, year, as_of)
    with uow:
        plan_row = uow.repository(Plans).current(year)
        if plan_row is None:
            raise NotFound("no_plan", year=year)
        plan_text = plan_row.yaml_text
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = ExportedYear(
        plan=folder / f"plan-{year}.yaml",
        units=folder / "units.xlsx",
        values=folder / "values.xlsx",
        grades=folder / "grades.xlsx",
        bonus=folder / "bonus.xlsx",
        events=folder / "events.xlsx",
    )
    files.plan.write_text(plan_text, encoding="utf-8")
    _write_sheet(
        files.units,
        "units",
        ["code", "name", "group"],
        ([u.code, u.name, u.group.value] for u in inputs.units),
    )
    values = inputs.values
    if values.indicators:
        matrix = values.matrix.tolist()
        _write_sheet(
            files.values,
            "values",
            ["unit", *values.indicators],
            ([code, *row] for code, row in zip(values.units, matrix, strict=True)),
        )
    else:
        # A values workbook needs an indicator column and a row; one empty cell is "missing".
        towns = [u.code for u in inputs.units if u.group is Group.TOWN]
        first = inputs.plan.development.indicators[0].code
        _write_sheet(files.values, "values", ["unit", first], ([t, None] for t in towns[:1]))
    _write_sheet(
        files.grades,
        "grades",
        ["unit", "item", "period", "rater", "grade", "source"],
        (
            [g.unit, g.item, g.period, g.rater, g.grade.value, g.source.value]
            for g in inputs.grades
        ),
    )
    _write_sheet(
        files.bonus,
        "bonus",
        ["unit", "title", "evidence", "approved"],
        ([b.unit, b.title, b.evidence, "yes" if b.approved else "no"] for b in inputs.bonus),
    )
    rows: list[list[object]] = [[e.unit, e.event.value, e.count] for e in inputs.events]
    for r in inputs.rectification:
        rows.append([r.unit, FINDING_DUE, r.due])
        rows.append([r.unit, FINDING_ON_TIME, r.rectified_on_time])
    _write_sheet(files.events, "events", ["unit", "event", "count"], rows)
    return files


def _write_sheet(path: Path, sheet: str, headers: list[str], rows: Iterable[list[object]]) -> None:
    """A plain one-sheet workbook: a header row, then the rows (None or NaN left empty)."""
    workbook = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
    )
    try:
        ws = workbook.add_worksheet(sheet)
        ws.write_row(0, 0, headers)
        for r, cells in enumerate(rows, start=1):
            for c, value in enumerate(cells):
                if value is None or (isinstance(value, float) and value != value):
                    continue
                if isinstance(value, str):
                    ws.write_string(r, c, value)
                else:
                    ws.write_number(r, c, float(value))  # type: ignore[arg-type]
    finally:
        workbook.close()
