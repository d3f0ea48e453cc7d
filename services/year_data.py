"""The year's data: indicator values (versioned), raters' grades and bonus items.

Decisions:
- Every values import is a new version, even when its content equals the version in force: an
  import is a fact worth keeping (who loaded which file, when), and the summary and the audit
  entry say how many values differ from the version it replaces (0 when identical) and carry the
  SHA-256 of the content. The newest version is the one in force; none is ever overwritten.
- A grade given again with the same unit, item, period and rater replaces the one in force
  (`replaced_at` set, a new row added, audited); the same grade given again changes nothing.
- A rater grades as themselves: their rater name is their display name. Coordinators may
  record any rater's grade (grades handed in on paper).
- A bonus item imported with `approved: no` is stored pending (the coordinator decides it
  later), since a decision is final: once approved or rejected it is never changed, and an
  import that contradicts a decision is refused.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

import numpy as np
from sqlalchemy.exc import IntegrityError

from scoring import BonusItem, Grade, GradeRecord, Group, IndicatorValues, Plan, Unit
from scoring.plan import GRADE_LABELS, PERIODS, YearEndSource
from scoring.problems import InputError, InputProblem
from services.access import Actor, Role, require_role
from services.errors import Invalid, NotFound, Refused
from services.imports import (
    BONUS,
    GRADES,
    PLAN,
    UNITS,
    VALUES,
    ChangedMeanwhile,
    prepared_import,
)
from services.peer import peer_import_problems, store_peer_votes
from services.plans import ensure_year_open, plan_in_force, require_year_open
from storage.audit import Change
from storage.audit import prepare as prepare_audit
from storage.bulk import driver_rows, repeat_until_done, write_in_chunks
from storage.clock import as_utc
from storage.models import BonusRow, GradeRow, ValueSet
from storage.repositories.plans import Plans
from storage.repositories.year_data import (
    BONUS_COLUMNS,
    BONUS_TABLE,
    GRADE_COLUMNS,
    GRADE_TABLE,
    INSERT_CHUNK,
    Bonuses,
    Grades,
    ValueSets,
    YearUnits,
)
from storage.statuses import BonusStatus
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# Aliases the bonus dialog imports.
PENDING, APPROVED, REJECTED = BonusStatus.PENDING, BonusStatus.APPROVED, BonusStatus.REJECTED
GRADE_OF: dict[str, Grade] = {
    **{g.value: g for g in Grade},
    **{label: g for g, label in GRADE_LABELS.items()},
}

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ImportSummary:
    """What an import stored.

    values: `version` is the new version, `replaced_version` the one it replaces (None for the
    first), `rows` the values stored, `missing` the empty ones, `changed` how many differ from
    the replaced version. grades and bonus: `added` new rows, `changed` rows that replaced or
    updated stored ones, `unchanged` rows already stored as given; for grades they count the
    peer votes (`peer` of them) with the panel's grades.
    """

    year: int
    kind: str
    source: str
    rows: int
    version: int | None = None
    replaced_version: int | None = None
    missing: int = 0
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    peer: int = 0  # grades: how many of the rows were peer votes (互评)


@dataclass(frozen=True)
class GradeView:
    """A grade as stored."""

    id: int
    year: int
    unit: str
    item: str
    period: str
    rater: str
    grade: Grade
    recorded_at: datetime
    previous: Grade | None
    changed: bool


@dataclass(frozen=True)
class BonusView:
    """A bonus item as stored."""

    id: int
    year: int
    unit: str
    unit_name: str
    title: str
    evidence_text: str
    status: BonusStatus
    created_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True)
class _UnitKey:
    id: int
    code: str
    name: str
    group: Group


def _units(uow: UnitOfWork) -> dict[str, _UnitKey]:
    """The active units by code."""
    return {
        r.code: _UnitKey(r.id, r.code, r.name, Group(r.group))
        for r in uow.repository(YearUnits).rows()
    }


def active_units(uow: UnitOfWork) -> list[Unit]:
    """The active units as the engine and the workbook readers see them (towns first)."""
    with uow:
        return [Unit(r.code, r.name, Group(r.group)) for r in uow.repository(YearUnits).rows()]


def _unit_by_id(uow: UnitOfWork, unit_id: int) -> _UnitKey:
    row = uow.repository(YearUnits).one(unit_id)
    if row is None:
        raise NotFound("unknown_unit", unit=unit_id)
    return _UnitKey(row.id, row.code, row.name, Group(row.group))


# ---------------------------------------------------------------------------------------------
# Indicator values


def _check_values(
    values: IndicatorValues, plan: Plan, units: dict[str, _UnitKey], source: str
) -> None:
    problems: list[InputProblem] = []

    def add(code: str, **params: object) -> None:
        problems.append(InputProblem(code, params, source, "values"))

    seen: set[str] = set()
    for code in values.units:
        unit = units.get(code)
        if unit is None:
            add("unknown_unit", unit=code)
        elif unit.group is not Group.TOWN:
            add("value_for_non_town", unit=code, name=unit.name)
        if code in seen:
            add("duplicate_unit", unit=code)
        seen.add(code)
    known = {ind.code for ind in plan.development.indicators}
    for code in dict.fromkeys(values.indicators):
        if code not in known or values.indicators.count(code) > 1:
            add("unknown_indicator", indicator=code)
    if not values.units or not values.indicators:
        add("no_data_rows")
    if np.isinf(values.matrix).any():
        rows, cols = np.nonzero(np.isinf(values.matrix))
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
            add("not_a_number", got=str(values.matrix[i, j]), indicator=values.indicators[j])
    if problems:
        raise InputError(problems)


def _content_hash(values: IndicatorValues) -> str:
    """The SHA-256 of the values, independent of row and column order."""
    digest = hashlib.sha256()
    order = sorted(range(len(values.units)), key=lambda i: values.units[i])
    columns = sorted(range(len(values.indicators)), key=lambda j: values.indicators[j])
    digest.update(repr([values.indicators[j] for j in columns]).encode())
    for i in order:
        row = values.matrix[i, columns]
        digest.update(values.units[i].encode() + b"\0" + row.tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class _ValuesBasis:
    """What a values import is checked and compared against, read from a snapshot."""

    plan_id: int
    plan: Plan
    units: dict[str, _UnitKey]
    previous_id: int | None
    previous_version: int | None


def _values_basis(uow: UnitOfWork, year: int) -> _ValuesBasis:
    with uow:
        plan = plan_in_force(uow, year)
        plan_row = uow.repository(Plans).current(year)
        assert plan_row is not None  # plan_in_force found it
        previous = uow.repository(ValueSets).latest(year)
        return _ValuesBasis(
            plan_row.id,
            plan,
            _units(uow),
            previous.id if previous is not None else None,
            previous.version if previous is not None else None,
        )


@dataclass(frozen=True)
class _ValuesPrepared:
    basis: _ValuesBasis
    changed: int


def import_values(
    uow: UnitOfWork,
    actor: Actor,
    year: int,
    values: IndicatorValues,
    source: str,
    progress: Progress | None = None,
) -> ImportSummary:
    """Store `values` (towns x indicators, NaN = no figure) as the newest version of the year's
    indicator values; earlier versions are kept. `progress(done, total)` follows the writing.

    The values are checked against a snapshot, written in chunks of short transactions as a
    set nobody sees yet, then published (version number, audit entry) in one short
    transaction that first checks that the plan, the units and the version in force are still
    those the values were checked and compared against."""
    require_role(actor, Role.COORDINATOR)
    ensure_year_open(uow, year)
    basis = _values_basis(uow.snapshot(), year)
    _check_values(values, basis.plan, basis.units, source)
    unit_ids = np.array([basis.units[code].id for code in values.units], dtype=np.int64)
    total = int(values.matrix.size)
    missing = int(np.isnan(values.matrix).sum())
    digest = _content_hash(values)
    if progress is not None:
        progress(0, total)
    _discard_abandoned(uow, year)
    with uow:
        set_id = uow.repository(ValueSets).stage(year, source[:500], uow.now(), actor.person_id)
        uow.commit()
    first = [basis]  # the first try publishes against the basis the values were checked on

    def prepare() -> _ValuesPrepared:
        if first:
            fresh = first.pop()
        else:  # something changed meanwhile: check the values again against the new state
            fresh = _values_basis(uow.snapshot(), year)
            _check_values(values, fresh.plan, fresh.units, source)
        if fresh.previous_id is None:
            return _ValuesPrepared(fresh, total)
        return _ValuesPrepared(
            fresh, _changed_cells(uow.snapshot(), fresh.previous_id, values, unit_ids)
        )

    def publish(ready: _ValuesPrepared) -> tuple[int, _ValuesPrepared]:
        previous = ready.basis.previous_version
        version = (previous or 0) + 1
        with uow:
            _recheck_values(uow, year, ready.basis, unit_ids)
            try:
                published = uow.repository(ValueSets).publish(set_id, version, uow.now())
                uow.flush()
            except IntegrityError as exc:  # another import took this version meanwhile
                raise ChangedMeanwhile(VALUES) from exc
            if not published:  # the staged set is gone: nothing of this import is left
                raise Invalid("values_import_concurrent", year=year)
            uow.audit(
                actor.audit_name,
                "values.import",
                "value_set",
                set_id,
                {"year": year, "version": previous} if previous is not None else None,
                {
                    "year": year,
                    "version": version,
                    "replaces": previous,
                    "source": source,
                    "units": len(values.units),
                    "indicators": list(values.indicators),
                    "values": total,
                    "missing": missing,
                    "changed": ready.changed,
                    "sha256": digest,
                },
            )
            uow.commit()
        return version, ready

    try:
        _write_values(uow, set_id, values, unit_ids, progress)
        version, ready = prepared_import(VALUES, prepare, publish)
    except BaseException:
        _discard_quietly(uow, set_id)
        raise
    return ImportSummary(
        year=year,
        kind="values",
        source=source,
        rows=total,
        version=version,
        replaced_version=ready.basis.previous_version,
        missing=missing,
        changed=ready.changed,
    )


UnitIds = np.ndarray[Any, np.dtype[np.int64]]


def _write_values(
    uow: UnitOfWork,
    set_id: int,
    values: IndicatorValues,
    unit_ids: UnitIds,
    progress: Progress | None,
) -> None:
    """Write the staged set's values in chunks of short transactions."""
    width = len(values.indicators)
    flat = values.matrix.ravel()
    indicators = list(values.indicators)

    def build(start: int, stop: int) -> list[tuple[int, int, str, float | None]]:
        cells = flat[start:stop].tolist()  # Python floats, NaN where missing
        units = unit_ids[np.arange(start, stop) // width].tolist()
        return [
            (set_id, unit, indicators[k % width], None if value != value else value)
            for k, unit, value in zip(range(start, stop), units, cells, strict=True)
        ]

    def write(work: UnitOfWork, rows: list[tuple[int, int, str, float | None]]) -> None:
        work.repository(ValueSets).insert_values(rows)

    write_in_chunks(uow, len(flat), build, write, progress)


def _recheck_values(uow: UnitOfWork, year: int, basis: _ValuesBasis, unit_ids: UnitIds) -> None:
    """Inside the publishing transaction: the plan, the units and the version in force are
    still those the values were checked and compared against."""
    plan_row = uow.repository(Plans).current(year)
    if plan_row is None or plan_row.id != basis.plan_id:
        raise ChangedMeanwhile(PLAN)
    towns = {r.id for r in uow.repository(YearUnits).rows() if r.group == Group.TOWN.value}
    if not towns.issuperset(unit_ids.tolist()):
        raise ChangedMeanwhile(UNITS)
    latest = uow.repository(ValueSets).latest(year)
    if (latest.id if latest is not None else None) != basis.previous_id:
        raise ChangedMeanwhile(VALUES)


# A staged set older than this was left by a process that stopped half-way.
ABANDONED_AFTER = timedelta(days=1)
# Rows deleted per short transaction when a staged set is discarded.
DISCARD_CHUNK = 20_000


def _discard(uow: UnitOfWork, set_id: int) -> None:
    """Remove a staged set that will never be published, in short transactions."""
    repeat_until_done(
        uow, lambda work: work.repository(ValueSets).discard_some(set_id, DISCARD_CHUNK)
    )


def _discard_quietly(uow: UnitOfWork, set_id: int) -> None:
    """`_discard` after a failure; if even that fails, the next import of the year removes the
    set once it is ABANDONED_AFTER old, and nobody sees it meanwhile."""
    try:
        _discard(uow, set_id)
    except Exception:  # the original error is the one to report
        log.warning("staged value set %s left for a later import to remove", set_id)


def _discard_abandoned(uow: UnitOfWork, year: int) -> None:
    """Remove the staged sets of `year` that a stopped process left behind."""
    with uow.snapshot() as work:
        stale = work.repository(ValueSets).abandoned(year, work.now() - ABANDONED_AFTER)
    for set_id in stale:
        _discard(uow, set_id)


def _changed_cells(
    uow: UnitOfWork, previous_id: int, values: IndicatorValues, unit_ids: UnitIds
) -> int:
    """How many cells differ between the replaced version and the new values (both ways:
    a cell in only one of them counts)."""
    with uow:
        rows = uow.repository(ValueSets).values(previous_id)
    if not rows:
        return int(values.matrix.size)
    # Vectorised, as standings.newest_values: the old cells placed in the new matrix's grid.
    old_units = np.asarray(list(map(itemgetter(0), rows)), dtype=np.int64)
    column = {code: j for j, code in enumerate(values.indicators)}
    cols = np.array([column.get(c, -1) for c in map(itemgetter(1), rows)], dtype=np.int64)
    old = np.asarray(list(map(itemgetter(2), rows)), dtype=float)  # None: NaN
    row_of = np.full(int(max(old_units.max(), unit_ids.max())) + 1, -1, dtype=np.int64)
    row_of[unit_ids] = np.arange(len(unit_ids))
    at = row_of[old_units]
    both = (at >= 0) & (cols >= 0)
    new = values.matrix[at[both], cols[both]]
    was = old[both]
    same = (new == was) | (np.isnan(new) & np.isnan(was))
    in_both = int(both.sum())
    return int((~same).sum()) + (len(rows) - in_both) + (int(values.matrix.size) - in_both)


@dataclass(frozen=True)
class ValueSetView:
    """One stored version of a year's indicator values."""

    year: int
    version: int
    source: str
    imported_at: datetime
    imported_by: int | None


def _value_set_view(row: ValueSet) -> ValueSetView:
    assert row.version is not None  # the repository reads published sets only
    return ValueSetView(
        row.year, row.version, row.source, as_utc(row.imported_at), row.imported_by
    )


def value_versions(uow: UnitOfWork, year: int) -> list[ValueSetView]:
    """Every values import of `year`, oldest first (the last one is in force)."""
    with uow:
        return [_value_set_view(r) for r in uow.repository(ValueSets).versions(year)]


def values_in_force(uow: UnitOfWork, year: int) -> ValueSetView | None:
    """The newest values import of `year` (the one in force, which a new import replaces)."""
    with uow:
        r = uow.repository(ValueSets).latest(year)
        return _value_set_view(r) if r is not None else None


# ---------------------------------------------------------------------------------------------
# Grades


def _grade(value: Grade | str) -> Grade | None:
    if isinstance(value, Grade):
        return value
    return GRADE_OF.get(str(value).strip().lower()) or GRADE_OF.get(str(value).strip())


def record_grade(
    uow: UnitOfWork,
    actor: Actor,
    year: int,
    unit_id: int,
    item: str,
    period: str,
    grade: Grade | str,
    rater_name: str | None = None,
) -> GradeView:
    """Record one rater's grade of a unit's work item for a period (`Q1`…`Q4`, `year`); a
    grade already in force for the same rater is replaced, and kept."""
    require_role(actor, Role.COORDINATOR, Role.RATER)
    rater = (rater_name if rater_name is not None else actor.name).strip()
    if actor.role is Role.RATER and rater != actor.name.strip():
        raise Refused("grade_as_other_rater", rater=rater)
    if not rater:
        raise Invalid("grade_rater_empty")
    given = _grade(grade)
    if given is None:
        raise Invalid("grade_unknown", grade=str(grade))
    if period not in PERIODS:
        raise Invalid("grade_unknown_period", period=period, periods=list(PERIODS))
    with uow:
        require_year_open(uow, year)
        plan = plan_in_force(uow, year)
        items = [i.code for i in plan.work.items]
        if item not in items:
            raise Invalid("grade_unknown_item", item=item, items=items)
        unit = _unit_by_id(uow, unit_id)
        uow.repository(YearUnits).lock([unit.id])
        grades = uow.repository(Grades)
        old = grades.current(year, unit.id, item, period, rater)
        if old is not None and old.grade == given.value:
            return _grade_view(old, unit.code, None, changed=False)
        now = uow.now()
        if old is not None:
            old.replaced_at = now
        row = grades.add(
            GradeRow(
                year=year,
                unit_id=unit.id,
                item=item,
                period=period,
                rater=rater,
                grade=given.value,
                recorded_at=now,
                recorded_by=actor.person_id,
            )
        )
        uow.flush()
        key = {"year": year, "unit": unit.code, "item": item, "period": period, "rater": rater}
        uow.audit(
            actor.audit_name,
            "grade.record",
            "grade",
            row.id,
            {**key, "grade": old.grade, "grade_id": old.id} if old is not None else None,
            {**key, "grade": given.value},
        )
        uow.commit()
        previous = Grade(old.grade) if old is not None else None
        return _grade_view(row, unit.code, previous, changed=True)


def _grade_view(row: GradeRow, unit: str, previous: Grade | None, changed: bool) -> GradeView:
    return GradeView(
        id=row.id,
        year=row.year,
        unit=unit,
        item=row.item,
        period=row.period,
        rater=row.rater,
        grade=Grade(row.grade),
        recorded_at=as_utc(row.recorded_at),
        previous=previous,
        changed=changed,
    )


def _check_grades(
    records: Sequence[GradeRecord],
    plan: Plan,
    units: dict[str, _UnitKey],
    source: str,
    more: Sequence[InputProblem] = (),
) -> None:
    problems: list[InputProblem] = list(more)

    def add(code: str, **params: object) -> None:
        problems.append(InputProblem(code, params, source, "grades"))

    items = {i.code for i in plan.work.items}
    seen: set[tuple[str, str, str, str]] = set()
    for r in records:
        if r.unit not in units:
            add("unknown_unit", unit=r.unit)
        if r.item not in items:
            add("unknown_item", item=r.item, choices=sorted(items))
        if r.period not in PERIODS:
            add("unknown_period", period=r.period)
        if _grade(r.grade) is None:
            add("unknown_grade", got=str(r.grade))
        if not r.rater.strip():
            add("empty_cell", field="rater")
        key = (r.unit, r.item, r.period, r.rater.strip())
        if key in seen:
            add("duplicate_grade", unit=r.unit, item=r.item, period=r.period, rater=r.rater)
        seen.add(key)
    if problems:
        raise InputError(problems)


def _recheck_basis(uow: UnitOfWork, year: int, plan_id: int, unit_ids: set[int]) -> None:
    """Inside an import's write transaction: the year's plan is the one the import was
    checked against, and the units it names are all still active."""
    plan_row = uow.repository(Plans).current(year)
    if plan_row is None or plan_row.id != plan_id:
        raise ChangedMeanwhile(PLAN)
    if not {r.id for r in uow.repository(YearUnits).rows()}.issuperset(unit_ids):
        raise ChangedMeanwhile(UNITS)


def _plan_id(uow: UnitOfWork, year: int) -> int:
    row = uow.repository(Plans).current(year)
    assert row is not None  # plan_in_force found it
    return row.id


@dataclass(frozen=True)
class _GradesPrepared:
    """A grades import worked out against a snapshot."""

    plan_id: int
    unit_ids: set[int]
    stamp: tuple[int, int]
    new_rows: list[tuple[Any, ...]]  # GRADE_COLUMNS up to the grade
    replaced_ids: list[int]
    replaced: list[dict[str, str]]
    unchanged: int


def import_grades(
    uow: UnitOfWork,
    actor: Actor,
    year: int,
    records: Sequence[GradeRecord],
    source: str,
    progress: Progress | None = None,
) -> ImportSummary:
    """Store raters' grades, all or nothing; each replaces the grade in force with the same
    unit, item, period and rater (kept, marked replaced); identical ones change nothing.

    Checked and compared against a snapshot; written with bulk statements in one short
    transaction that first checks no grade of the year was recorded meanwhile."""
    require_role(actor, Role.COORDINATOR)
    # Peer votes (互评, `source: peer`) go to the peer rating; the rest are the panel's grades.
    votes = [r for r in records if r.source is YearEndSource.PEER]
    records = [r for r in records if r.source is not YearEndSource.PEER]
    ensure_year_open(uow, year)
    if progress is not None:
        progress(0, len(records))

    def prepare() -> _GradesPrepared:
        with uow.snapshot() as snapshot:
            plan = plan_in_force(snapshot, year)
            plan_id = _plan_id(snapshot, year)
            units = _units(snapshot)
            peer_problems = peer_import_problems(snapshot, plan, year, votes, source)
            _check_grades(records, plan, units, source, peer_problems)
            grades = snapshot.repository(Grades)
            stamp = grades.stamp(year)  # before the grades: a later grade only forces a retry
            current = grades.current_keys(year)
        ready = _prepare_grades(actor, year, records, units, plan_id, stamp, current)
        return replace(ready, unit_ids=ready.unit_ids | {units[r.unit].id for r in votes})

    def write(ready: _GradesPrepared) -> ImportSummary:
        now = uow.now()
        rows = driver_rows(
            uow.database.engine.dialect,
            GRADE_TABLE,
            GRADE_COLUMNS,
            [(*row, now, actor.person_id) for row in ready.new_rows],
        )
        total = len(rows)
        [entry] = prepare_audit(
            [
                Change(
                    actor.audit_name,
                    "grades.import",
                    "grades",
                    year,
                    {"replaced": ready.replaced} if ready.replaced else None,
                    {
                        "year": year,
                        "source": source,
                        "records": len(records),
                        "added": total - len(ready.replaced),
                        "replaced": len(ready.replaced),
                        "unchanged": ready.unchanged,
                    },
                )
            ]
        )
        with uow:
            # Units first, as record_grade does, so that the two never wait for each other.
            uow.repository(YearUnits).lock(ready.unit_ids)
            _recheck_basis(uow, year, ready.plan_id, ready.unit_ids)
            grades = uow.repository(Grades)
            if grades.stamp(year) != ready.stamp:
                raise ChangedMeanwhile(GRADES)
            if votes and peer_import_problems(uow, plan_in_force(uow, year), year, votes, source):
                raise ChangedMeanwhile(GRADES)  # a peer round closed meanwhile, say
            peer = store_peer_votes(uow, actor, year, votes, source) if votes else None
            grades.mark_replaced(ready.replaced_ids, now)
            for start in range(0, total, INSERT_CHUNK):
                grades.insert_plain(rows[start : start + INSERT_CHUNK])
                if progress is not None:
                    progress(min(start + INSERT_CHUNK, total), total)
            uow.audit_many([entry])
            uow.commit()
        peer_added, peer_replaced, peer_unchanged = (
            (peer.added, peer.replaced, peer.unchanged) if peer is not None else (0, 0, 0)
        )
        return ImportSummary(
            year=year,
            kind="grades",
            source=source,
            rows=total + peer_added + peer_replaced,
            added=total - len(ready.replaced) + peer_added,
            changed=len(ready.replaced) + peer_replaced,
            unchanged=ready.unchanged + peer_unchanged,
            peer=peer_added + peer_replaced + peer_unchanged,
        )

    return prepared_import(GRADES, prepare, write)


def _prepare_grades(
    actor: Actor,
    year: int,
    records: Sequence[GradeRecord],
    units: dict[str, _UnitKey],
    plan_id: int,
    stamp: tuple[int, int],
    current: dict[tuple[int, str, str, str], tuple[int, str]],
) -> _GradesPrepared:
    """The rows a grades import adds and replaces, given the grades in force."""
    new_rows: list[tuple[Any, ...]] = []
    replaced: list[dict[str, str]] = []
    replaced_ids: list[int] = []
    unchanged = 0
    for r in records:
        unit = units[r.unit]
        rater = r.rater.strip()
        given = _grade(r.grade)
        assert given is not None  # checked before
        old = current.get((unit.id, r.item, r.period, rater))
        if old is not None and old[1] == given.value:
            unchanged += 1
            continue
        if old is not None:
            replaced_ids.append(old[0])
            replaced.append(
                {
                    "unit": r.unit,
                    "item": r.item,
                    "period": r.period,
                    "rater": rater,
                    "before": old[1],
                    "after": given.value,
                }
            )
        new_rows.append((year, unit.id, r.item, r.period, rater, given.value))
    unit_ids = {units[r.unit].id for r in records}
    return _GradesPrepared(plan_id, unit_ids, stamp, new_rows, replaced_ids, replaced, unchanged)


# ---------------------------------------------------------------------------------------------
# Bonus


def _bonus_view(row: BonusRow, unit: _UnitKey) -> BonusView:
    return BonusView(
        id=row.id,
        year=row.year,
        unit=unit.code,
        unit_name=unit.name,
        title=row.title,
        evidence_text=row.evidence_text,
        status=row.status,
        created_at=as_utc(row.created_at),
        decided_at=as_utc(row.decided_at) if row.decided_at is not None else None,
    )


def _bonus_audit(row: BonusRow, unit: str) -> dict[str, object]:
    return {
        "year": row.year,
        "unit": unit,
        "title": row.title,
        "evidence": row.evidence_text,
        "status": row.status,
    }


def add_bonus(
    uow: UnitOfWork, actor: Actor, year: int, unit_id: int, title: str, evidence_text: str = ""
) -> BonusView:
    """Record a bonus item claimed for a unit, pending a decision."""
    require_role(actor, Role.COORDINATOR)
    title = title.strip()
    if not title:
        raise Invalid("bonus_title_empty")
    with uow:
        require_year_open(uow, year)
        plan_in_force(uow, year)
        unit = _unit_by_id(uow, unit_id)
        bonuses = uow.repository(Bonuses)
        if any(b.unit_id == unit.id and b.title == title[:500] for b in bonuses.of_year(year)):
            raise Invalid("bonus_duplicate", unit=unit.code, title=title)
        row = bonuses.add(
            BonusRow(
                year=year,
                unit_id=unit.id,
                title=title[:500],
                evidence_text=evidence_text.strip(),
                status=BonusStatus.PENDING,
                created_at=uow.now(),
                created_by=actor.person_id,
            )
        )
        uow.flush()
        uow.audit(
            actor.audit_name, "bonus.add", "bonus", row.id, None, _bonus_audit(row, unit.code)
        )
        uow.commit()
        return _bonus_view(row, unit)


def decide_bonus(uow: UnitOfWork, actor: Actor, bonus_id: int, approve: bool) -> BonusView:
    """Approve or reject a pending bonus item; a decision is final."""
    require_role(actor, Role.COORDINATOR)
    with uow:
        row = uow.repository(Bonuses).by_id(bonus_id)
        if row is None or row.withdrawn_at is not None:
            raise NotFound("bonus_not_found", bonus=bonus_id)
        if row.status != BonusStatus.PENDING:
            raise Invalid("bonus_already_decided", bonus=bonus_id, status=row.status)
        require_year_open(uow, row.year)
        unit = _unit_by_id(uow, row.unit_id)
        before = _bonus_audit(row, unit.code)
        row.status = BonusStatus.APPROVED if approve else BonusStatus.REJECTED
        row.decided_at = uow.now()
        row.decided_by = actor.person_id
        uow.flush()
        uow.audit(
            actor.audit_name, "bonus.decide", "bonus", row.id, before, _bonus_audit(row, unit.code)
        )
        uow.commit()
        return _bonus_view(row, unit)


def list_bonus(uow: UnitOfWork, year: int) -> list[BonusView]:
    """The year's bonus items (not withdrawn), oldest first."""
    with uow:
        units = {u.id: u for u in _units_all(uow).values()}
        return [_bonus_view(r, units[r.unit_id]) for r in uow.repository(Bonuses).of_year(year)]


def _units_all(uow: UnitOfWork) -> dict[str, _UnitKey]:
    return {
        r.code: _UnitKey(r.id, r.code, r.name, Group(r.group))
        for r in uow.repository(YearUnits).rows(include_inactive=True)
    }


@dataclass(frozen=True)
class _BonusPrepared:
    """A bonus import worked out against a snapshot of the year's items."""

    plan_id: int
    unit_ids: set[int]
    states: list[tuple[int, int, str, str, str]]
    new_rows: list[tuple[tuple[Any, ...], bool]]  # BONUS_COLUMNS up to the status; approved
    evidence: dict[int, str]
    approve: list[int]
    updates: list[tuple[int, dict[str, object], dict[str, object]]]
    unchanged: int
    added_titles: list[str]


def import_bonus(
    uow: UnitOfWork,
    actor: Actor,
    year: int,
    items: Sequence[BonusItem],
    source: str,
    progress: Progress | None = None,
) -> ImportSummary:
    """Store bonus items, all or nothing: new (unit, title) pairs are added (approved ones
    approved now, others pending); a pending item the file approves is approved; an item the
    file contradicts (decided otherwise) refuses the whole import.

    Checked and compared against a snapshot; written with bulk statements in one short
    transaction that first checks the year's items are still as in the snapshot."""
    require_role(actor, Role.COORDINATOR)
    ensure_year_open(uow, year)
    if progress is not None:
        progress(0, len(items))

    def prepare() -> _BonusPrepared:
        with uow.snapshot() as snapshot:
            plan_in_force(snapshot, year)
            plan_id = _plan_id(snapshot, year)
            units = _units(snapshot)
            _check_bonus(items, units, source)
            states = snapshot.repository(Bonuses).states(year)
        return _prepare_bonus(actor, year, items, units, plan_id, states)

    def write(ready: _BonusPrepared) -> ImportSummary:
        now = uow.now()
        rows = driver_rows(
            uow.database.engine.dialect,
            BONUS_TABLE,
            BONUS_COLUMNS,
            [
                (
                    *row,
                    now,
                    actor.person_id,
                    now if approved else None,
                    actor.person_id if approved else None,
                )
                for row, approved in ready.new_rows
            ],
        )
        entries = prepare_audit(
            [
                *(
                    Change(actor.audit_name, "bonus.update", "bonus", bonus_id, before, after)
                    for bonus_id, before, after in ready.updates
                ),
                Change(
                    actor.audit_name,
                    "bonus.import",
                    "bonus",
                    year,
                    None,
                    {
                        "year": year,
                        "source": source,
                        "items": len(items),
                        "added": len(ready.new_rows),
                        "updated": len(ready.updates),
                        "unchanged": ready.unchanged,
                        "added_titles": ready.added_titles,
                    },
                ),
            ]
        )
        with uow:
            _recheck_basis(uow, year, ready.plan_id, ready.unit_ids)
            bonuses = uow.repository(Bonuses)
            if bonuses.states(year) != ready.states:
                raise ChangedMeanwhile(BONUS)
            bonuses.insert_plain(rows)
            bonuses.set_evidence(ready.evidence)
            bonuses.decide_many(ready.approve, BonusStatus.APPROVED, now, actor.person_id)
            uow.audit_many(entries)
            uow.commit()
        if progress is not None:
            progress(len(items), len(items))
        return ImportSummary(
            year=year,
            kind="bonus",
            source=source,
            rows=len(ready.new_rows) + len(ready.updates),
            added=len(ready.new_rows),
            changed=len(ready.updates),
            unchanged=ready.unchanged,
        )

    return prepared_import(BONUS, prepare, write)


def _check_bonus(items: Sequence[BonusItem], units: dict[str, _UnitKey], source: str) -> None:
    problems: list[InputProblem] = []
    first: dict[tuple[str, str], int] = {}
    for n, item in enumerate(items, start=1):
        if item.unit not in units:
            problems.append(InputProblem("unknown_unit", {"unit": item.unit}, source, "bonus"))
        if not item.title.strip():
            problems.append(InputProblem("empty_cell", {"field": "title"}, source, "bonus"))
        seen = first.setdefault((item.unit, item.title.strip()), n)
        if seen != n:
            problems.append(
                InputProblem(
                    "duplicate_bonus",
                    {"unit": item.unit, "title": item.title, "first_row": seen},
                    source,
                    "bonus",
                )
            )
    if problems:
        raise InputError(problems)


def _prepare_bonus(
    actor: Actor,
    year: int,
    items: Sequence[BonusItem],
    units: dict[str, _UnitKey],
    plan_id: int,
    states: list[tuple[int, int, str, str, str]],
) -> _BonusPrepared:
    """What a bonus import adds and changes, given the year's items (refused on a conflict)."""
    stored = {
        (unit_id, title): (i, evidence, status) for i, unit_id, title, evidence, status in states
    }
    code_of = {u.id: u.code for u in units.values()}
    conflicts: list[str] = []
    new_rows: list[tuple[tuple[Any, ...], bool]] = []
    evidence_of: dict[int, str] = {}
    approve: list[int] = []
    updates: list[tuple[int, dict[str, object], dict[str, object]]] = []
    unchanged = 0
    for item in items:
        unit = units[item.unit]
        title = item.title.strip()[:500]
        evidence = item.evidence.strip()
        found = stored.get((unit.id, title))
        if found is None:
            new_rows.append(
                (
                    (
                        year,
                        unit.id,
                        title,
                        evidence,
                        BonusStatus.APPROVED if item.approved else BonusStatus.PENDING,
                    ),
                    item.approved,
                )
            )
            continue
        bonus_id, old_evidence, status = found
        if (status == BonusStatus.APPROVED and not item.approved) or (
            status == BonusStatus.REJECTED and item.approved
        ):
            conflicts.append(f"{unit.code}：{title}")
            continue
        wanted = BonusStatus.APPROVED if item.approved else status
        if wanted == status and evidence in ("", old_evidence):
            unchanged += 1
            continue
        before = _bonus_data(year, code_of[unit.id], title, old_evidence, status)
        new_evidence = evidence or old_evidence
        if new_evidence != old_evidence:
            evidence_of[bonus_id] = new_evidence
        if wanted != status:
            approve.append(bonus_id)
        after = _bonus_data(year, code_of[unit.id], title, new_evidence, wanted)
        updates.append((bonus_id, before, after))
    if conflicts:
        raise Invalid("bonus_import_conflicts", items=conflicts)
    unit_ids = {units[i.unit].id for i in items}
    added_titles = [f"{code_of[row[1]]}：{row[2]}" for row, _ in new_rows]
    return _BonusPrepared(
        plan_id, unit_ids, states, new_rows, evidence_of, approve, updates, unchanged, added_titles
    )


def _bonus_data(year: int, unit: str, title: str, evidence: str, status: str) -> dict[str, object]:
    """A bonus item as its audit entries record it (as _bonus_audit)."""
    return {"year": year, "unit": unit, "title": title, "evidence": evidence, "status": status}
