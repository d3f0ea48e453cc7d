"""A data workbook sent by a coordinator: what it holds, what importing it would do, the import.

The use cases behind the bot's upload dialog (bot.dialogs.upload), with plain values in and
out. A received workbook is read from its bytes (services.files.received puts them on disk for
the guarded readers, which parse in a child process with limits: services.files.safety); the
check reads it as one kind (`IMPORTABLE`) against the year's plan and the active units and
answers with every problem, or with a summary of what importing it would store and replace, and
archives the checked bytes as evidence (`check_and_archive`); the import (`import_upload`)
reads the archived copy again against the data as it is then and stores it through the import
services (register_units, import_values, import_grades, import_bonus, import_tasks).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from scoring import Group, InputError, InputProblem
from scoring.calendar import local_date
from scoring.plan import YearEndSource
from services import year_data
from services.access import Actor
from services.errors import NotFound, ServiceError
from services.evidence import keep_evidence, register_evidence
from services.files.inspection import WorkbookInfo, inspect_workbook
from services.files.reader import read_bonus, read_grades, read_units, read_values
from services.files.received import received_workbook
from services.files.task_reader import read_tasks
from services.people import register_units
from services.plans import current_plan
from services.tasks import import_tasks, task_import_basis
from services.year_data import active_units, import_bonus, import_grades, import_values
from storage.archive import EvidenceArchive
from storage.errors import DatabaseUnavailable
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# The kinds of data sheet a workbook may be imported as, in the order they are offered.
IMPORTABLE: tuple[str, ...] = ("values", "units", "grades", "bonus", "tasks")
# Kinds that are not per year: no year is asked for them.
YEARLESS = frozenset({"units"})

Uow = Callable[[], UnitOfWork]


# ---------------------------------------------------------------------------------------------
# What a check finds: a summary per kind


@dataclass(frozen=True)
class ValuesInForce:
    """The version of a year's values in force (the one an import replaces)."""

    version: int
    date: date  # the day it was imported, in the programme's time zone
    source: str


@dataclass(frozen=True)
class UnitsSummary:
    """A units workbook: how many units, and which are new or changed."""

    units: int
    towns: int
    new: tuple[str, ...]  # names
    changed: tuple[str, ...]  # names of units whose name or group changes
    unchanged: int


@dataclass(frozen=True)
class ValuesSummary:
    """A values workbook: towns and indicators covered, values given, the version it replaces,
    and what deserves a second look before confirming (`warnings`)."""

    year: int
    towns: int
    all_towns: int
    towns_without_row: tuple[str, ...]  # names
    indicators: int
    plan_indicators: int
    values: int
    missing: int
    replaces: ValuesInForce | None
    warnings: tuple[InputProblem, ...] = ()


@dataclass(frozen=True)
class GradesSummary:
    """A grades workbook: records, units, the panel's raters, periods and peer votes."""

    year: int
    records: int
    units: int
    raters: tuple[str, ...]
    periods: tuple[str, ...]
    peer: int  # peer votes (互评), their raters being units


@dataclass(frozen=True)
class BonusSummary:
    """A bonus workbook: items, how many approved, and units."""

    year: int
    items: int
    approved: int
    units: int


@dataclass(frozen=True)
class TasksSummary:
    """A tasks workbook: tasks, units, and how many have a deadline."""

    year: int
    tasks: int
    units: int
    dated: int


UploadSummary = UnitsSummary | ValuesSummary | GradesSummary | BonusSummary | TasksSummary


# ---------------------------------------------------------------------------------------------
# What an import stored, per kind


@dataclass(frozen=True)
class UnitsImported:
    """A units import: units added, updated and unchanged."""

    added: int
    updated: int
    unchanged: int


@dataclass(frozen=True)
class ValuesImported:
    """A values import: the new version, the one it replaced, values stored, missing, changed."""

    year: int
    version: int | None
    replaced: int | None
    values: int
    missing: int
    changed: int


@dataclass(frozen=True)
class RecordsImported:
    """A grades or bonus import: rows added, changed and unchanged (of them `peer` votes)."""

    year: int
    added: int
    changed: int
    unchanged: int
    peer: int


@dataclass(frozen=True)
class TasksImported:
    """A tasks import: tasks added, updated and unchanged."""

    year: int
    added: int
    updated: int
    unchanged: int


UploadImported = UnitsImported | ValuesImported | RecordsImported | TasksImported


# ---------------------------------------------------------------------------------------------
# A workbook received, checked, archived


@dataclass(frozen=True)
class ReceivedWorkbook:
    """A workbook as it was received: its name, its bytes, and the file as Telegram knows it."""

    file_name: str
    content: bytes
    telegram_file_id: str | None = None
    telegram_unique_id: str | None = None
    mime_type: str | None = None


@dataclass(frozen=True)
class CheckedUpload:
    """A workbook checked and archived as evidence, ready to import as `kind` for `year`."""

    file_name: str
    kind: str
    year: int | None
    evidence_id: int
    sha256: str


@dataclass(frozen=True)
class UploadCheck:
    """A workbook read against the year: every problem, or the summary of its import (and,
    once archived, the upload to confirm)."""

    problems: tuple[InputProblem, ...] = ()
    summary: UploadSummary | None = None
    upload: CheckedUpload | None = None


# ---------------------------------------------------------------------------------------------
# The use cases


def inspect_upload(content: bytes, file_name: str) -> WorkbookInfo:
    """The data sheets of a received workbook and the year it states (or why it is unreadable)."""
    with received_workbook(content, file_name) as path:
        return inspect_workbook(path, file_name)


def check_upload(
    read_uow: Uow, content: bytes, kind: str, year: int | None, file_name: str, timezone: str
) -> UploadCheck:
    """A received workbook read as `kind` for `year`: its problems, or what importing it would
    do. Raises ServiceError (no plan for the year, say)."""
    with received_workbook(content, file_name) as path:
        return check_workbook(read_uow, path, kind, year, file_name, timezone)


def check_and_archive(
    uow: Uow,
    read_uow: Uow,
    archive: EvidenceArchive,
    actor: Actor,
    received: ReceivedWorkbook,
    kind: str,
    year: int | None,
    timezone: str,
) -> UploadCheck:
    """Check a received workbook as `kind` for `year`; one without problems is archived as
    evidence, so that the draft survives a restart and the import reads exactly these bytes.
    Raises ServiceError (no plan for the year, a file too large to archive)."""
    name = received.file_name
    result = check_upload(read_uow, received.content, kind, year, name, timezone)
    if result.summary is None:
        return result
    stored = register_evidence(
        uow(),
        actor,
        "document",
        received.telegram_file_id,
        received.telegram_unique_id,
        name,
        received.mime_type,
        len(received.content),
        received.content,
        archive,
    )
    assert stored.sha256 is not None  # archived with its content
    upload = CheckedUpload(name, kind, year, stored.id, stored.sha256)
    return UploadCheck(summary=result.summary, upload=upload)


def check_workbook(
    read_uow: Uow, path: Path, kind: str, year: int | None, file_name: str, timezone: str
) -> UploadCheck:
    """The workbook at `path` read as `kind` for `year`: its problems, or what importing it
    would do. Raises ServiceError (no plan for the year, say)."""
    try:
        return UploadCheck(summary=_summaries[kind](read_uow, path, year, file_name, timezone))
    except InputError as exc:
        return UploadCheck(problems=tuple(exc.problems))


def years_with_plan(read_uow: Uow, years: tuple[int, ...]) -> list[int]:
    """Those of `years` that have a plan in force, in the order given."""
    found = []
    for year in years:
        try:
            current_plan(read_uow(), year)
        except NotFound:
            continue
        found.append(year)
    return found


def values_in_force(uow: UnitOfWork, year: int, timezone: str) -> ValuesInForce | None:
    """The version of the year's values in force (the one an import replaces), if any."""
    latest = year_data.values_in_force(uow, year)
    if latest is None:
        return None
    return ValuesInForce(latest.version, local_date(latest.imported_at, timezone), latest.source)


def import_upload(
    uow: Uow, read_uow: Uow, archive: EvidenceArchive, actor: Actor, upload: CheckedUpload
) -> UploadImported | None:
    """Import a checked workbook from its archived copy (read again against the data as it is
    now): what was stored, or None when the copy is gone. Raises InputError (problems found
    now) or ServiceError. The copy is then kept for good: the import's source names it."""
    archived = archive.check(upload.sha256)
    if archived is None:
        return None
    source = f"{upload.file_name} #{upload.evidence_id}"
    done = import_workbook(
        uow,
        read_uow,
        actor,
        archived.path,
        upload.kind,
        upload.year,
        upload.file_name,
        source,
    )
    try:
        keep_evidence(uow(), actor, upload.evidence_id)
    except (ServiceError, DatabaseUnavailable) as exc:
        # The import is stored: a copy not marked kept must not make it look undone (or be
        # confirmed again); pruning only removes it later.
        log.warning("imported workbook #%s not marked kept: %s", upload.evidence_id, exc)
    return done


def import_workbook(
    uow: Uow,
    read_uow: Uow,
    actor: Actor,
    path: Path,
    kind: str,
    year: int | None,
    file_name: str,
    source: str,
) -> UploadImported:
    """Read the workbook again and import it: what was stored. Raises InputError (problems
    found now) or ServiceError."""
    if kind == "units":
        units = read_units(path, source=file_name)
        done = register_units(uow(), actor, units)
        return UnitsImported(len(done.added), len(done.updated), len(done.unchanged))
    assert year is not None
    if kind == "tasks":
        basis = task_import_basis(read_uow(), year)
        tasks = read_tasks(path, basis.plan, basis.units, source=file_name)
        result = import_tasks(uow(), actor, year, tasks)
        return TasksImported(year, result.added, result.updated, result.unchanged)
    plan = current_plan(read_uow(), year)
    units_in_force = active_units(read_uow())
    if kind == "values":
        values = read_values(path, plan, units_in_force, source=file_name)
        summary = import_values(uow(), actor, year, values, source)
        return ValuesImported(
            year,
            summary.version,
            summary.replaced_version,
            summary.rows,
            summary.missing,
            summary.changed,
        )
    if kind == "grades":
        records = read_grades(path, plan, units_in_force, source=file_name)
        summary = import_grades(uow(), actor, year, records, source)
    else:
        items = read_bonus(path, units_in_force, source=file_name)
        summary = import_bonus(uow(), actor, year, items, source)
    return RecordsImported(year, summary.added, summary.changed, summary.unchanged, summary.peer)


# ---------------------------------------------------------------------------------------------
# Summaries as plain data (a dialog keeps the summary in its draft, as JSON)


def summary_data(summary: UploadSummary) -> dict[str, Any]:
    """A summary as JSON data: its fields, lists for tuples, an ISO date, problems as dicts."""
    data: dict[str, Any] = {}
    for f in fields(summary):
        value = getattr(summary, f.name)
        if isinstance(value, ValuesInForce):
            value = {
                "version": value.version,
                "date": value.date.isoformat(),
                "source": value.source,
            }
        elif f.name == "warnings":
            value = [problem_data(w) for w in value]
        elif isinstance(value, tuple):
            value = list(value)
        data[f.name] = value
    return data


def problem_data(problem: InputProblem) -> dict[str, Any]:
    """A problem as plain data (JSON)."""
    return {
        "code": problem.code,
        "params": dict(problem.params),
        "source": problem.source,
        "sheet": problem.sheet,
        "row": problem.row,
        "column": problem.column,
    }


def problem_of(data: dict[str, Any]) -> InputProblem:
    """A problem kept as plain data by `problem_data`."""
    return InputProblem(
        data["code"], data["params"], data["source"], data["sheet"], data["row"], data["column"]
    )


# ---------------------------------------------------------------------------------------------
# One summary per kind


def _summary_units(
    read_uow: Uow, path: Path, year: int | None, file_name: str, timezone: str
) -> UnitsSummary:
    units = read_units(path, source=file_name)
    existing = {u.code: u for u in active_units(read_uow())}
    new = [u for u in units if u.code not in existing]
    changed = [u for u in units if u.code in existing and existing[u.code] != u]
    return UnitsSummary(
        units=len(units),
        towns=sum(1 for u in units if u.group is Group.TOWN),
        new=tuple(u.name for u in new),
        changed=tuple(u.name for u in changed),
        unchanged=len(units) - len(new) - len(changed),
    )


def _summary_values(
    read_uow: Uow, path: Path, year: int | None, file_name: str, timezone: str
) -> ValuesSummary:
    assert year is not None
    plan = current_plan(read_uow(), year)
    units = active_units(read_uow())
    warnings: list[InputProblem] = []
    values = read_values(path, plan, units, source=file_name, warnings=warnings)
    towns = [u for u in units if u.group is Group.TOWN]
    given = set(values.units)
    return ValuesSummary(
        year=year,
        towns=len(values.units),
        all_towns=len(towns),
        towns_without_row=tuple(u.name for u in towns if u.code not in given),
        indicators=len(values.indicators),
        plan_indicators=len(plan.development.indicators),
        values=int(values.matrix.size),
        missing=int(np.isnan(values.matrix).sum()),
        replaces=values_in_force(read_uow(), year, timezone),
        # Shown before the confirmation (a column mixing percentages and plain numbers).
        warnings=tuple(warnings),
    )


def _summary_grades(
    read_uow: Uow, path: Path, year: int | None, file_name: str, timezone: str
) -> GradesSummary:
    assert year is not None
    plan = current_plan(read_uow(), year)
    records = read_grades(path, plan, active_units(read_uow()), source=file_name)
    panel = [r for r in records if r.source is YearEndSource.PANEL]
    return GradesSummary(
        year=year,
        records=len(records),
        units=len({r.unit for r in records}),
        raters=tuple(sorted({r.rater for r in panel})),
        periods=tuple(sorted({r.period for r in records})),
        peer=len(records) - len(panel),
    )


def _summary_bonus(
    read_uow: Uow, path: Path, year: int | None, file_name: str, timezone: str
) -> BonusSummary:
    assert year is not None
    current_plan(read_uow(), year)  # a year without a plan is refused (NotFound)
    items = read_bonus(path, active_units(read_uow()), source=file_name)
    return BonusSummary(
        year=year,
        items=len(items),
        approved=sum(1 for i in items if i.approved),
        units=len({i.unit for i in items}),
    )


def _summary_tasks(
    read_uow: Uow, path: Path, year: int | None, file_name: str, timezone: str
) -> TasksSummary:
    assert year is not None
    basis = task_import_basis(read_uow(), year)
    tasks = read_tasks(path, basis.plan, basis.units, source=file_name)
    return TasksSummary(
        year=year,
        tasks=len(tasks),
        units=len({t.unit for t in tasks}),
        dated=sum(1 for t in tasks if t.due_date is not None),
    )


_summaries: dict[str, Callable[[Uow, Path, int | None, str, str], UploadSummary]] = {
    "units": _summary_units,
    "values": _summary_values,
    "grades": _summary_grades,
    "bonus": _summary_bonus,
    "tasks": _summary_tasks,
}
