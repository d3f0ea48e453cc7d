"""A workbook sent to the bot by a coordinator: checked, summarised, confirmed, imported.

A coordinator (or admin) sends an Excel workbook outside any dialog; the router starts this
dialog with it (`begin_with_file`). The bot answers "checking the workbook…", downloads it and,
off the event loop, finds what it holds by its sheet names (values, units, grades, bonus, tasks;
Chinese names too: services.files.reader.SHEET_NAMES) and reads it with the workbook readers.
Bad rows: every problem is listed (several messages under Telegram's 4,096 characters, or a
text file when there are very many) and nothing is stored. A good workbook: a summary (what it
holds, what it will replace) with Confirm / Cancel; Confirm imports it through the services
(import_values, register_units, import_grades, import_bonus, import_tasks) and answers with
what was stored ("imported as version N"). The steps (kind, year, confirm; checking and
importing while that work runs) are declared in `UploadDialog.steps`. A refusal before the
summary ends the dialog (the engine says why); one at the import also says nothing was stored.

Decisions:
- The year a workbook is for. Data sheets carry no year, so the year is taken from what the
  workbook states: the title on its instructions sheet (every template the bot sends says
  "2025 年度考核数据模板…") or else a year in the file name ("2024年指标值.xlsx"). A workbook
  stating no year is for the current year (the calendar year of today in the bot's time zone).
  One stating another year is never imported silently into either: the bot says so and asks,
  with a button for each of the two years that has a plan (and Cancel); the workbook is then
  checked against the chosen year's plan, so indicators of another plan are reported as such.
  Units are not per year and are never asked about.
- A workbook with sheets of several kinds asks which to import. An events sheet is not
  imported: the bot derives those events from the reports and findings it holds.
- The checked workbook is archived and registered as an evidence file when the summary is
  shown, so the draft survives a restart and the import reads exactly the bytes that were
  checked; the import's source names the file and its evidence id.
- Confirm reads the archived file again against the data as it is then (units or the plan may
  have changed meanwhile); problems found then are listed the same way.
- Every read (what the file holds, the check, the import) first checks what the file declares
  (zip sizes and ratios, sheet dimensions) and parses it in a child process with a memory and
  time limit (services.files.safety): a hostile workbook is refused like a bad row, and the bot
  keeps serving everyone else.
"""

from __future__ import annotations

import io
import logging
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from telegram import InlineKeyboardButton
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.dialogs import evidence
from bot.dialogs.engine import Dialog, IncomingFile, Step, Tapped, Turn
from bot.dialogs.helpers import current_year, split_messages
from bot.handlers.router import MAX_DOWNLOAD
from scoring import Group, InputError, InputProblem
from scoring.calendar import local_date
from scoring.plan import YearEndSource
from services import year_data
from services.access import Actor, Role
from services.errors import NotFound, ServiceError
from services.evidence import keep_evidence, register_evidence
from services.files.inspection import WorkbookInfo, inspect_workbook
from services.files.reader import (
    SHEET_NAMES,
    format_problem,
    read_bonus,
    read_grades,
    read_units,
    read_values,
)
from services.files.task_reader import read_tasks
from services.people import register_units
from services.plans import current_plan
from services.tasks import import_tasks, task_import_basis
from services.year_data import (
    active_units,
    import_bonus,
    import_grades,
    import_values,
)
from storage.errors import DatabaseUnavailable
from storage.unit_of_work import UnitOfWork
from templates import render

log = logging.getLogger(__name__)

# More problem messages than this and the full list goes as a text file instead.
MAX_PROBLEM_MESSAGES = 5
IMPORTABLE: tuple[str, ...] = ("values", "units", "grades", "bonus", "tasks")
YEARLESS = frozenset({"units"})


# ---------------------------------------------------------------------------------------------
# Work done off the event loop (plain functions, no Telegram)


@dataclass(frozen=True)
class CheckResult:
    """A workbook read against the year: every problem, or the summary's parameters."""

    problems: tuple[InputProblem, ...] = ()
    summary: dict[str, Any] = field(default_factory=dict)


ReadUow = Callable[[], UnitOfWork]


def check_workbook(
    read_uow: ReadUow, path: Path, kind: str, year: int | None, file_name: str, timezone: str
) -> CheckResult:
    """Read the workbook as `kind` for `year`: its problems, or what importing it would do.
    Raises ServiceError (no plan for the year, say)."""
    try:
        return CheckResult(summary=_summaries[kind](read_uow, path, year, file_name, timezone))
    except InputError as exc:
        return CheckResult(problems=tuple(exc.problems))


def _summary_units(
    read_uow: ReadUow, path: Path, year: int | None, file_name: str, timezone: str
) -> dict[str, Any]:
    units = read_units(path, source=file_name)
    existing = {u.code: u for u in active_units(read_uow())}
    new = [u for u in units if u.code not in existing]
    changed = [u for u in units if u.code in existing and existing[u.code] != u]
    return {
        "units": len(units),
        "towns": sum(1 for u in units if u.group is Group.TOWN),
        "new": [u.name for u in new],
        "changed": [u.name for u in changed],
        "unchanged": len(units) - len(new) - len(changed),
    }


def _summary_values(
    read_uow: ReadUow, path: Path, year: int | None, file_name: str, timezone: str
) -> dict[str, Any]:
    assert year is not None
    plan = current_plan(read_uow(), year)
    units = active_units(read_uow())
    warnings: list[InputProblem] = []
    values = read_values(path, plan, units, source=file_name, warnings=warnings)
    towns = [u for u in units if u.group is Group.TOWN]
    given = set(values.units)
    in_force = values_in_force(read_uow(), year, timezone)
    return {
        "year": year,
        "towns": len(values.units),
        "all_towns": len(towns),
        "towns_without_row": [u.name for u in towns if u.code not in given],
        "indicators": len(values.indicators),
        "plan_indicators": len(plan.development.indicators),
        "values": int(values.matrix.size),
        "missing": int(np.isnan(values.matrix).sum()),
        "replaces": in_force,
        # Shown before the confirmation (a column mixing percentages and plain numbers).
        "warnings": [problem_data(w) for w in warnings],
    }


def problem_data(problem: InputProblem) -> dict[str, Any]:
    """A problem as plain data for a dialog's draft (JSON)."""
    return {
        "code": problem.code,
        "params": dict(problem.params),
        "source": problem.source,
        "sheet": problem.sheet,
        "row": problem.row,
        "column": problem.column,
    }


def problem_of(data: dict[str, Any]) -> InputProblem:
    """A problem kept in a dialog's draft by `problem_data`."""
    return InputProblem(
        data["code"], data["params"], data["source"], data["sheet"], data["row"], data["column"]
    )


def values_in_force(uow: UnitOfWork, year: int, timezone: str) -> dict[str, Any] | None:
    """The version of the year's values in force (the one an import replaces), if any."""
    latest = year_data.values_in_force(uow, year)
    if latest is None:
        return None
    return {
        "version": latest.version,
        "date": local_date(latest.imported_at, timezone).isoformat(),
        "source": latest.source,
    }


def _summary_grades(
    read_uow: ReadUow, path: Path, year: int | None, file_name: str, timezone: str
) -> dict[str, Any]:
    assert year is not None
    plan = current_plan(read_uow(), year)
    records = read_grades(path, plan, active_units(read_uow()), source=file_name)
    panel = [r for r in records if r.source is YearEndSource.PANEL]
    return {
        "year": year,
        "records": len(records),
        "units": len({r.unit for r in records}),
        "raters": sorted({r.rater for r in panel}),
        "periods": sorted({r.period for r in records}),
        "peer": len(records) - len(panel),  # peer votes (互评), raters being units
    }


def _summary_bonus(
    read_uow: ReadUow, path: Path, year: int | None, file_name: str, timezone: str
) -> dict[str, Any]:
    assert year is not None
    current_plan(read_uow(), year)
    items = read_bonus(path, active_units(read_uow()), source=file_name)
    return {
        "year": year,
        "items": len(items),
        "approved": sum(1 for i in items if i.approved),
        "units": len({i.unit for i in items}),
    }


def _summary_tasks(
    read_uow: ReadUow, path: Path, year: int | None, file_name: str, timezone: str
) -> dict[str, Any]:
    assert year is not None
    basis = task_import_basis(read_uow(), year)
    tasks = read_tasks(path, basis.plan, basis.units, source=file_name)
    return {
        "year": year,
        "tasks": len(tasks),
        "units": len({t.unit for t in tasks}),
        "dated": sum(1 for t in tasks if t.due_date is not None),
    }


_summaries: dict[str, Callable[[ReadUow, Path, int | None, str, str], dict[str, Any]]] = {
    "units": _summary_units,
    "values": _summary_values,
    "grades": _summary_grades,
    "bonus": _summary_bonus,
    "tasks": _summary_tasks,
}


def import_workbook(
    uow: ReadUow,
    read_uow: ReadUow,
    actor: Actor,
    path: Path,
    kind: str,
    year: int | None,
    file_name: str,
    source: str,
) -> dict[str, Any]:
    """Read the workbook again and import it; what was stored (the done message's
    parameters). Raises InputError (problems found now) or ServiceError."""
    if kind == "units":
        units = read_units(path, source=file_name)
        done = register_units(uow(), actor, units)
        return {
            "added": len(done.added),
            "updated": len(done.updated),
            "unchanged": len(done.unchanged),
        }
    assert year is not None
    if kind == "tasks":
        basis = task_import_basis(read_uow(), year)
        tasks = read_tasks(path, basis.plan, basis.units, source=file_name)
        result = import_tasks(uow(), actor, year, tasks)
        return {
            "year": year,
            "added": result.added,
            "updated": result.updated,
            "unchanged": result.unchanged,
        }
    plan = current_plan(read_uow(), year)
    units = active_units(read_uow())
    if kind == "values":
        values = read_values(path, plan, units, source=file_name)
        summary = import_values(uow(), actor, year, values, source)
        return {
            "year": year,
            "version": summary.version,
            "replaced": summary.replaced_version,
            "values": summary.rows,
            "missing": summary.missing,
            "changed": summary.changed,
        }
    if kind == "grades":
        records = read_grades(path, plan, units, source=file_name)
        summary = import_grades(uow(), actor, year, records, source)
    else:
        items = read_bonus(path, units, source=file_name)
        summary = import_bonus(uow(), actor, year, items, source)
    return {
        "year": year,
        "added": summary.added,
        "changed": summary.changed,
        "unchanged": summary.unchanged,
        "peer": summary.peer,
    }


def _write_temp(folder: str, content: bytes, file_name: str) -> Path:
    suffix = Path(file_name).suffix.lower() if file_name else ""
    path = Path(folder) / f"upload{suffix if suffix in ('.xlsx', '.xls', '.xlsm') else '.xlsx'}"
    path.write_bytes(content)
    return path


def inspect_bytes(content: bytes, file_name: str) -> WorkbookInfo:
    """`inspect_workbook` on downloaded bytes (written to a temporary file, then removed)."""
    with tempfile.TemporaryDirectory(prefix="kaohe-upload-") as folder:
        return inspect_workbook(_write_temp(folder, content, file_name), file_name)


def check_bytes(
    read_uow: ReadUow, content: bytes, kind: str, year: int | None, file_name: str, timezone: str
) -> CheckResult:
    """`check_workbook` on downloaded bytes."""
    with tempfile.TemporaryDirectory(prefix="kaohe-upload-") as folder:
        path = _write_temp(folder, content, file_name)
        return check_workbook(read_uow, path, kind, year, file_name, timezone)


# ---------------------------------------------------------------------------------------------
# The dialog


class UploadDialog(Dialog):
    """A workbook sent outside any dialog: check, summary, confirm, import."""

    kind = "upload"
    command = "upload"
    takes_args = False
    roles = frozenset({Role.COORDINATOR, Role.ADMIN})

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """/upload: how to send a workbook."""
        await turn.say("coord.upload_how")

    async def begin_with_file(self, turn: Turn, incoming: IncomingFile) -> None:
        """A file sent outside any dialog: check it as a workbook."""
        if turn.who.actor.role not in self.roles:
            await turn.say("common.not_for_your_role")
            return
        if incoming.kind != "document":
            await turn.say("coord.upload_photo_not_workbook")
            return
        if incoming.size is not None and incoming.size > MAX_DOWNLOAD:
            await turn.say("common.file_too_large", mb=MAX_DOWNLOAD // (1024 * 1024))
            return
        name = incoming.file_name or "workbook.xlsx"
        await turn.say("coord.upload_checking", file=name)
        await self._action(turn, ChatAction.TYPING)
        content = await self._download(turn, incoming.file_id, name)
        if content is None:
            return
        info: WorkbookInfo = await turn.call(inspect_bytes, content, name)
        if info.problems:
            await self._problems(turn, info.problems, name)
            return
        kinds = [k for k in IMPORTABLE if k in info.kinds]
        if not kinds:
            if "events" in info.kinds:
                await turn.say("coord.upload_events_not_imported", file=name)
            else:
                await turn.say(
                    "coord.upload_no_data_sheet",
                    file=name,
                    sheets=list(info.sheets),
                    expected={k: SHEET_NAMES[k] for k in IMPORTABLE},
                )
            return
        await turn.start(
            "kind",
            {
                "file_id": incoming.file_id,
                "unique_id": incoming.unique_id,
                "file_name": name,
                "mime_type": incoming.mime_type,
                "size": incoming.size,
                "kinds": kinds,
                "stated_year": info.stated_year,
                "year_from": info.year_from,
            },
        )
        if len(kinds) > 1:
            await self.prompt(turn)
            return
        await self._kind_chosen(turn, kinds[0], content)

    # -- how the steps are shown ------------------------------------------------------------

    def _cancel_button(self, turn: Turn) -> InlineKeyboardButton:
        return turn.button(turn.plain("coord.upload_cancel_button"), "cx")

    async def _show_kind(self, turn: Turn) -> None:
        data = turn.data
        buttons = [
            [turn.button(turn.plain("coord.upload_kind", kind=k), "k", k)] for k in data["kinds"]
        ]
        await turn.say(
            "coord.upload_choose_kind",
            [*buttons, [self._cancel_button(turn)]],
            file=data["file_name"],
        )

    async def _show_year(self, turn: Turn) -> None:
        data = turn.data
        buttons = [
            [turn.button(turn.plain("coord.upload_year_button", year=y), "y", str(y))]
            for y in data["years"]
        ]
        await turn.say(
            "coord.upload_choose_year",
            [*buttons, [self._cancel_button(turn)]],
            file=data["file_name"],
            kind=data["kind"],
            stated=data["stated_year"],
            year_from=data["year_from"],
            current=data["current_year"],
            years=data["years"],
        )

    async def _show_confirm(self, turn: Turn) -> None:
        data = turn.data
        buttons = [
            [
                turn.button(turn.plain("coord.upload_confirm_button"), "ok"),
                self._cancel_button(turn),
            ]
        ]
        summary = dict(data["summary"])
        warnings = [problem_of(w) for w in summary.pop("warnings", [])]
        if warnings:
            lines = [
                turn.t("workbook.warnings_header", file=data["file_name"], count=len(warnings))
            ]
            lines += [format_problem(w, turn.who.language, html=True) for w in warnings]
            for text in split_messages(lines):
                await turn.send(text)
        await turn.say(
            f"coord.upload_summary_{data['kind']}",
            buttons,
            file=data["file_name"],
            **summary,
        )

    async def _show_in_progress(self, turn: Turn) -> None:
        await turn.say("coord.upload_in_progress")

    # -- what the steps take ----------------------------------------------------------------

    async def _file(self, turn: Turn, incoming: IncomingFile) -> None:
        """Another file while one is being checked: it replaces the one before."""
        await self.begin_with_file(turn, incoming)

    async def _cancel(self, turn: Turn, arg: str) -> None:
        data = turn.data
        await turn.finish()
        await turn.say("coord.upload_cancelled", file=data.get("file_name"))
        await evidence.discard_files(turn.context, data)

    async def _kind_tapped(self, turn: Turn, arg: str) -> None:
        if arg not in turn.data["kinds"]:
            await self.prompt(turn)
            return
        await self._kind_chosen(turn, arg, None)

    async def _year_tapped(self, turn: Turn, arg: str) -> None:
        if not (arg.isdigit() and int(arg) in turn.data["years"]):
            await self.prompt(turn)
            return
        await turn.save("checking", {**turn.data, "year": int(arg)})
        await self._check(turn, None)

    async def _confirmed(self, turn: Turn, arg: str) -> None:
        await self._import(turn)

    # -- steps ----------------------------------------------------------------------------------

    async def _kind_chosen(self, turn: Turn, kind: str, content: bytes | None) -> None:
        data = dict(turn.data)
        data["kind"] = kind
        if kind in YEARLESS:
            data["year"] = None
            await turn.save("checking", data)
            await self._check(turn, content)
            return
        current = await current_year(turn)
        stated = data.get("stated_year")
        data["current_year"] = current
        if stated is None or stated == current:
            data["year"] = current
            await turn.save("checking", data)
            await self._check(turn, content)
            return
        years = [y for y in (stated, current) if await self._has_plan(turn, y)]
        if not years:
            await turn.finish()
            await turn.say("errors.no_plan", year=stated)
            return
        data["years"] = years
        await turn.save("year", data)
        await self.prompt(turn)

    async def _has_plan(self, turn: Turn, year: int) -> bool:
        try:
            await turn.call(current_plan, turn.context.deps.read_uow(), year)
        except NotFound:
            return False
        return True

    async def _check(self, turn: Turn, content: bytes | None) -> None:
        data = dict(turn.data)
        deps = turn.context.deps
        name = data["file_name"]
        if content is None:
            await turn.say("coord.upload_checking", file=name)
            await self._action(turn, ChatAction.TYPING)
            content = await self._download(turn, data["file_id"], name)
            if content is None:
                await turn.finish()
                return
        try:
            result: CheckResult = await turn.call(
                check_bytes,
                deps.read_uow,
                content,
                data["kind"],
                data["year"],
                name,
                deps.settings.timezone,
            )
        except ServiceError:
            # No plan for the year, say: nothing to go back to; the engine says why.
            await turn.finish()
            raise
        if result.problems:
            await turn.finish()
            await self._problems(turn, result.problems, name)
            return
        try:
            stored = await turn.call(
                register_evidence,
                deps.uow(),
                turn.who.actor,
                "document",
                data["file_id"],
                data["unique_id"],
                name,
                data.get("mime_type"),
                len(content),
                content,
                deps.archive,
            )
        except ServiceError:
            await turn.finish()
            raise
        data["evidence_id"] = stored.id
        data["sha256"] = stored.sha256
        data["summary"] = result.summary
        await turn.save("confirm", data)
        await self.prompt(turn)

    async def _import(self, turn: Turn) -> None:
        data = dict(turn.data)
        deps = turn.context.deps
        name = data["file_name"]
        await turn.save("importing", data)
        await turn.say("coord.upload_importing", file=name)
        await self._action(turn, ChatAction.TYPING)
        archived = await turn.call(deps.archive.check, data["sha256"])
        if archived is None:
            await turn.finish()
            await turn.say("coord.upload_archive_missing", file=name)
            return
        source = f"{name} #{data['evidence_id']}"
        try:
            done = await turn.call(
                import_workbook,
                deps.uow,
                deps.read_uow,
                turn.who.actor,
                archived.path,
                data["kind"],
                data["year"],
                name,
                source,
            )
        except InputError as exc:
            await turn.finish()
            await self._problems(turn, exc.problems, name)
            await evidence.discard_files(turn.context, data)
            return
        except ServiceError as exc:
            # Kept: after the reason, "nothing was stored", and the checked file goes.
            await turn.finish()
            await turn.refused(exc)
            await turn.say("coord.upload_nothing_stored")
            await evidence.discard_files(turn.context, data)
            return
        except DatabaseUnavailable as exc:
            if exc.reason != "locked":
                raise
            # Busy: nothing was stored; the summary and its Confirm button come back.
            await turn.say("common.database_locked")
            await turn.save("confirm", data)
            await self.prompt(turn)
            return
        await turn.finish()
        await turn.say(f"coord.upload_done_{data['kind']}", file=name, **done)
        # The workbook an import read stays in the archive for good (its source names it).
        try:
            await turn.call(keep_evidence, deps.uow(), turn.who.actor, data["evidence_id"])
        except ServiceError as exc:
            log.warning("imported workbook #%s not marked kept: %s", data["evidence_id"], exc)

    # -- helpers --------------------------------------------------------------------------------

    async def _download(self, turn: Turn, file_id: str, name: str) -> bytes | None:
        try:
            telegram_file = await turn.context.bot.get_file(file_id)
            return bytes(await telegram_file.download_as_bytearray())
        except TelegramError as exc:
            log.info("download of an uploaded workbook failed: %s", exc)
            await turn.say("coord.upload_download_failed", file=name)
            return None

    async def _action(self, turn: Turn, action: str) -> None:
        try:
            await turn.context.bot.send_chat_action(turn.who.chat_id, action)
        except TelegramError:
            log.debug("chat action not sent")

    async def _problems(self, turn: Turn, problems: Sequence[InputProblem], name: str) -> None:
        """Every problem, then "nothing was stored"; very many go as a text file."""
        language = turn.who.language
        lines = [format_problem(p, language, html=True) for p in problems]
        header = turn.t("coord.upload_problems", file=name, count=len(problems))
        footer = turn.t("coord.upload_fix_and_resend")
        messages = split_messages([header, *lines, footer])
        if len(messages) <= MAX_PROBLEM_MESSAGES:
            for text in messages:
                await turn.send(text)
            return
        shown = split_messages([header, *lines])[: MAX_PROBLEM_MESSAGES - 1]
        for text in shown:
            await turn.send(text)
        plain = "\n".join(format_problem(p, language) for p in problems)
        await turn.context.bot.send_document(
            turn.who.chat_id,
            document=io.BytesIO(plain.encode("utf-8")),
            filename=render("coord.upload_problems_file", language, file=Path(name).stem),
            caption=turn.t("coord.upload_problems_file_caption", count=len(problems)),
        )
        await turn.send(footer)

    # Every step takes a file (the new workbook replaces the one before) and Cancel (anywhere).
    steps: ClassVar[Mapping[str, Step]] = {
        "kind": Step(_show_kind, files=_file, buttons={"k": _kind_tapped}),
        "year": Step(_show_year, files=_file, buttons={"y": _year_tapped}),
        "confirm": Step(_show_confirm, files=_file, buttons={"ok": _confirmed}),
        "checking": Step(_show_in_progress, files=_file),
        "importing": Step(_show_in_progress, files=_file),
    }
    anywhere: ClassVar[Mapping[str, Tapped]] = {"cx": _cancel}
