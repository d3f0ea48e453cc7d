"""Target tasks (目标任务清单): import them for a year, and show a unit its tasks.

A task is identified by (year, unit, code). Importing upserts: a new code adds a task, a known
code with other fields updates it (the audit log keeps the old values), an identical one is left
alone. Tasks absent from an import are kept: progress reports refer to them, and history is
never deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Row

from scoring import Group, Plan, Unit
from services.access import Actor, Role, require_role
from services.errors import Invalid, NotFound, Refused
from services.files.task_reader import MAX_CODE, MAX_TEXT
from services.files.task_reader import TaskInput as TaskInput  # part of this service's API
from services.imports import PLAN, TASKS, UNITS, ChangedMeanwhile, prepared_import
from services.plans import ensure_year_open, plan_in_force
from storage.audit import Change, PreparedChange
from storage.audit import prepare as prepare_audit
from storage.bulk import driver_rows
from storage.models import TaskRow, UnitRow
from storage.repositories.plans import Plans
from storage.repositories.tasks import FIELDS, TASK_COLUMNS, TASK_TABLE, Tasks, TaskState
from storage.repositories.units import Units
from storage.repositories.year_data import YearUnits
from storage.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class TaskView:
    """A stored task."""

    id: int
    year: int
    unit_id: int
    unit_code: str
    unit_name: str
    code: str
    title: str
    source_document: str
    target: str
    due_date: date | None
    work_item: str


@dataclass(frozen=True)
class TaskImportSummary:
    """What an import changed."""

    year: int
    added: int
    updated: int
    unchanged: int

    @property
    def total(self) -> int:
        """How many tasks the import held."""
        return self.added + self.updated + self.unchanged


@dataclass(frozen=True)
class TaskImportBasis:
    """What a tasks workbook is checked against: the year's plan and the active units."""

    plan: Plan
    units: tuple[Unit, ...]


def require_unit_view(actor: Actor, unit_id: int) -> None:
    """Refuse unless the actor may see a unit's tasks and reports: its liaison, a manager or
    a viewer."""
    require_role(actor, Role.COORDINATOR, Role.VIEWER, Role.LIAISON)
    if actor.role is Role.LIAISON and actor.unit_id != unit_id:
        raise Refused("not_your_unit")


def task_import_basis(uow: UnitOfWork, year: int) -> TaskImportBasis:
    """The plan of `year` and the active units, to read a tasks workbook against."""
    with uow:
        plan = plan_in_force(uow, year)
        units = tuple(_as_unit(row) for row in uow.repository(Units).all())
    return TaskImportBasis(plan, units)


@dataclass(frozen=True)
class _TasksPrepared:
    """A tasks import worked out against a snapshot, its audit entries serialised (those of
    new tasks get their ids in the write)."""

    plan_id: int
    unit_ids: set[int]
    states: list[TaskState]
    added: list[tuple[Any, ...]]  # TASK_COLUMNS without created_at
    updated: list[tuple[Any, ...]]  # FIELDS + id
    audit_updated: list[PreparedChange]
    audit_added: list[PreparedChange]
    unchanged: int


def import_tasks(
    uow: UnitOfWork,
    actor: Actor,
    year: int,
    tasks: Sequence[TaskInput],
    progress: Callable[[int, int], None] | None = None,
) -> TaskImportSummary:
    """Add or update the tasks of `year` (coordinators); all or nothing, audited per change.

    Checked and compared against a snapshot; written with bulk statements in one short
    transaction that first checks the year's tasks are still as in the snapshot."""
    require_role(actor, Role.COORDINATOR)
    if not tasks:
        raise Invalid("task_import_empty")
    ensure_year_open(uow, year)
    _check_fields(tasks)
    if progress is not None:
        progress(0, len(tasks))

    def prepare() -> _TasksPrepared:
        with uow.snapshot() as snapshot:
            plan = plan_in_force(snapshot, year)
            plan_row = snapshot.repository(Plans).current(year)
            assert plan_row is not None  # plan_in_force found it
            units = snapshot.repository(YearUnits).rows()
            states = snapshot.repository(Tasks).states(year)
        return _prepare_tasks(actor, year, tasks, plan, plan_row.id, units, states)

    def write(ready: _TasksPrepared) -> TaskImportSummary:
        dialect = uow.database.engine.dialect
        now = uow.now()
        added = driver_rows(dialect, TASK_TABLE, TASK_COLUMNS, [(*r, now) for r in ready.added])
        updated = driver_rows(dialect, TASK_TABLE, (*FIELDS, "id"), ready.updated)
        with uow:
            plan_row = uow.repository(Plans).current(year)
            if plan_row is None or plan_row.id != ready.plan_id:
                raise ChangedMeanwhile(PLAN)
            if not {r.id for r in uow.repository(YearUnits).rows()}.issuperset(ready.unit_ids):
                raise ChangedMeanwhile(UNITS)
            repo = uow.repository(Tasks)
            if repo.states(year) != ready.states:
                raise ChangedMeanwhile(TASKS)
            repo.update_plain(updated)
            ids = repo.insert_plain(year, added)
            for row, entry in zip(ready.added, ready.audit_added, strict=True):
                entry.entity_id = str(ids[(row[1], row[2])])
            uow.audit_many([*ready.audit_updated, *ready.audit_added])
            uow.commit()
        if progress is not None:
            progress(len(tasks), len(tasks))
        return TaskImportSummary(year, len(ready.added), len(ready.updated), ready.unchanged)

    return prepared_import(TASKS, prepare, write)


def _prepare_tasks(
    actor: Actor,
    year: int,
    tasks: Sequence[TaskInput],
    plan: Plan,
    plan_id: int,
    active: Sequence[Row[int, str, str, str]],
    states: list[TaskState],
) -> _TasksPrepared:
    """What a tasks import adds and updates, given the active units and the year's tasks."""
    units = {row.name: row for row in active}
    units.update({row.code: row for row in active})  # codes win over names
    unknown = sorted({t.unit for t in tasks if t.unit not in units})
    if unknown:
        raise NotFound("task_units_unknown", units=unknown)
    items = {key: item.code for item in plan.work.items for key in (item.code, item.name)}
    bad_items = sorted({t.work_item for t in tasks if t.work_item not in items})
    if bad_items:
        raise Invalid(
            "task_work_items_unknown", items=bad_items, choices=[i.code for i in plan.work.items]
        )
    seen: set[tuple[int, str]] = set()
    duplicates: list[str] = []
    for task in tasks:
        key = (units[task.unit].id, task.code)
        if key in seen:
            duplicates.append(f"{units[task.unit].code}/{task.code}")
        seen.add(key)
    if duplicates:
        raise Invalid("task_duplicate", tasks=duplicates)

    existing = {(state[1], state[2]): state for state in states}
    added: list[tuple[Any, ...]] = []
    updated: list[tuple[Any, ...]] = []
    update_changes: list[Change] = []
    add_changes: list[Change] = []
    unchanged = 0
    for task in tasks:
        unit = units[task.unit]
        fields = (
            task.title,
            task.source_document,
            task.target,
            task.due_date,
            items[task.work_item],
        )
        identity = {"year": year, "code": task.code}
        state = existing.get((unit.id, task.code))
        if state is None:
            added.append((year, unit.id, task.code, *fields))
            data = _task_data(identity, fields, unit.code)
            add_changes.append(Change(actor.audit_name, "task.add", "task", "", None, data))
            continue
        if state[3:] == fields:
            unchanged += 1
            continue
        updated.append((*fields, state[0]))
        before = _task_data(identity, state[3:], unit.code)
        after = _task_data(identity, fields, unit.code)
        update_changes.append(
            Change(actor.audit_name, "task.update", "task", state[0], before, after)
        )
    return _TasksPrepared(
        plan_id,
        {units[t.unit].id for t in tasks},
        states,
        added,
        updated,
        prepare_audit(update_changes),
        prepare_audit(add_changes),
        unchanged,
    )


def tasks_of_unit(uow: UnitOfWork, actor: Actor, unit_id: int, year: int) -> list[TaskView]:
    """The tasks of one unit in `year` (its liaison, managers and viewers)."""
    require_unit_view(actor, unit_id)
    with uow:
        return unit_tasks_in(uow, unit_id, year)


def unit_tasks_in(uow: UnitOfWork, unit_id: int, year: int) -> list[TaskView]:
    """The tasks of one unit in `year`, inside an open unit of work (access checked by the
    caller)."""
    unit = uow.repository(Units).by_id(unit_id)
    if unit is None:
        raise NotFound("unknown_unit", unit=unit_id)
    return [_view(row, unit) for row in uow.repository(Tasks).of_unit(unit_id, year)]


def tasks_of_year(uow: UnitOfWork, actor: Actor, year: int) -> list[TaskView]:
    """Every unit's tasks of `year` (managers and viewers), by unit id and code."""
    require_role(actor, Role.COORDINATOR, Role.VIEWER)
    with uow:
        units = {row.id: row for row in uow.repository(Units).all(include_inactive=True)}
        return [_view(row, units[row.unit_id]) for row in uow.repository(Tasks).of_year(year)]


def _check_fields(tasks: Sequence[TaskInput]) -> None:
    """Refuse tasks without a code or title, or with text longer than the columns hold."""
    bad = [
        f"{t.unit}/{t.code}"
        for t in tasks
        if not t.code.strip()
        or not t.title.strip()
        or len(t.code) > MAX_CODE
        or max(len(t.title), len(t.source_document), len(t.target)) > MAX_TEXT
    ]
    if bad:
        raise Invalid("task_fields_invalid", tasks=bad, code_limit=MAX_CODE, text_limit=MAX_TEXT)


def _as_unit(row: UnitRow) -> Unit:
    return Unit(row.code, row.name, Group(row.group))


def _task_data(
    identity: Mapping[str, Any], fields: Sequence[Any], unit_code: str
) -> dict[str, Any]:
    """A task as its audit entries record it (`fields` in the order of FIELDS)."""
    title, source_document, target, due_date, work_item = fields
    return {
        "year": identity["year"],
        "unit": unit_code,
        "code": identity["code"],
        "title": title,
        "source_document": source_document,
        "target": target,
        "due_date": due_date.isoformat() if due_date else None,
        "work_item": work_item,
    }


def _view(row: TaskRow, unit: UnitRow) -> TaskView:
    return TaskView(
        id=row.id,
        year=row.year,
        unit_id=row.unit_id,
        unit_code=unit.code,
        unit_name=unit.name,
        code=row.code,
        title=row.title,
        source_document=row.source_document,
        target=row.target,
        due_date=row.due_date,
        work_item=row.work_item,
    )
