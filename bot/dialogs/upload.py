"""A workbook sent to the bot by a coordinator: checked, summarised, confirmed, imported.

A coordinator (or admin) sends an Excel workbook outside any dialog; the router starts this
dialog with it (`begin_with_file`). The bot answers "checking the workbook…", downloads it and,
off the event loop, finds what it holds by its sheet names (values, units, grades, bonus, tasks;
Chinese names too: services.files.reader.SHEET_NAMES) and reads it with the workbook readers;
the work itself (inspect, check, summarise, import) is services.uploads, this dialog only shows it.
Bad rows: every problem is listed (several messages under Telegram's 4,096 characters, or a
text file when there are very many) and nothing is stored. A good workbook: a summary (what it
holds, what it will replace) with Confirm / Cancel; Confirm imports it (services.uploads:
import_workbook) and answers with
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
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import ClassVar

from telegram import InlineKeyboardButton
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.dialogs import evidence
from bot.dialogs.engine import Dialog, IncomingFile, Step, Tapped, Turn
from bot.dialogs.helpers import current_year
from bot.handlers.router import MAX_DOWNLOAD
from bot.message_split import split_messages
from scoring import InputError, InputProblem
from services.access import Role
from services.errors import ServiceError
from services.files.reader import SHEET_NAMES, format_problem
from services.uploads import (
    IMPORTABLE,
    YEARLESS,
    CheckedUpload,
    ReceivedWorkbook,
    check_and_archive,
    import_upload,
    inspect_upload,
    problem_of,
    summary_data,
    years_with_plan,
)
from storage.errors import DatabaseUnavailable
from templates import render

log = logging.getLogger(__name__)

# More problem messages than this and the full list goes as a text file instead.
MAX_PROBLEM_MESSAGES = 5


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
        info = await turn.call(inspect_upload, content, name)
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
        years = await turn.call(years_with_plan, turn.context.deps.read_uow, (stated, current))
        if not years:
            await turn.finish()
            await turn.say("errors.no_plan", year=stated)
            return
        data["years"] = years
        await turn.save("year", data)
        await self.prompt(turn)

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
        received = ReceivedWorkbook(
            name, content, data["file_id"], data["unique_id"], data.get("mime_type")
        )
        try:
            result = await turn.call(
                check_and_archive,
                deps.uow,
                deps.read_uow,
                deps.archive,
                turn.who.actor,
                received,
                data["kind"],
                data["year"],
                deps.settings.timezone,
            )
        except ServiceError:
            # No plan for the year, say: nothing to go back to; the engine says why.
            await turn.finish()
            raise
        if result.summary is None or result.upload is None:
            await turn.finish()
            await self._problems(turn, result.problems, name)
            return
        data["evidence_id"] = result.upload.evidence_id
        data["sha256"] = result.upload.sha256
        data["summary"] = summary_data(result.summary)
        await turn.save("confirm", data)
        await self.prompt(turn)

    async def _import(self, turn: Turn) -> None:
        data = dict(turn.data)
        deps = turn.context.deps
        name = data["file_name"]
        await turn.save("importing", data)
        await turn.say("coord.upload_importing", file=name)
        await self._action(turn, ChatAction.TYPING)
        upload = CheckedUpload(
            name, data["kind"], data["year"], data["evidence_id"], data["sha256"]
        )
        try:
            done = await turn.call(
                import_upload, deps.uow, deps.read_uow, deps.archive, turn.who.actor, upload
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
        if done is None:
            await turn.finish()
            await turn.say("coord.upload_archive_missing", file=name)
            return
        await turn.finish()
        await turn.say(f"coord.upload_done_{data['kind']}", file=name, **asdict(done))

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
