"""`kaohe console`: try the bot without a Telegram account.

The real Application (bot.app) runs with long polling against the fake Bot API server
(bot.fake_bot_api) on 127.0.0.1, on an SQLite database in the data folder that is seeded with
the bundled sample district. The person at the terminal types as one of the sample users: text
becomes a message, `/cmd args` a command, and `:`-commands switch users, tap buttons and send
files. The bot's replies are printed as they arrive, with their buttons numbered.

`ConsoleSession.handle(line)` is the whole command loop, so tests feed it lines and read what
it printed without a terminal; `run_console` adds a stdin reader thread (the bot keeps running
on the event loop while `input()` waits).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
import queue
import shlex
import shutil
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from rich.console import Console
from rich.text import Text
from telegram import Update

from bot.app import Companion, KaoheApplication, build_application, make_deps
from bot.fake_bot_api import AlbumDocument, AlbumPhoto, ApiCall, FakeBotApi, FakeUser
from bot.fake_bot_api.models import JSON, inline_buttons
from bot.logging_setup import configure_logging
from services.access import Actor, Role
from services.errors import NotFound, ServiceError
from services.files.plan_file import default_plan_text
from services.findings import record_finding
from services.people import (
    issue_invite,
    list_people,
    person_session,
    register_person,
    register_units,
)
from services.plans import current_plan, load_plan
from services.sample_district import SAMPLE_YEAR, TOWNS, sample_units
from services.settings import Settings
from services.tasks import TaskInput, import_tasks, tasks_of_year
from storage import migrate
from storage.clock import as_utc
from storage.database import Database, open_database
from storage.unit_of_work import UnitOfWork
from templates import normalise_language, render

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The console's clock starts here on the first run (the sample plan is of 2025) and then runs
# in real time, across runs too, so that what was stored earlier never lies in the future.
CONSOLE_START = datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI)
CONSOLE_TOKEN = "7000000001:kaohe-console-local"
OPERATOR = Actor.operator("console")
# How long the bot must stay silent after its last answer before the prompt comes back (an
# evidence status message, for one, may be edited a moment after the update was handled).
QUIET_SECONDS = 0.15
ANSWER_TIMEOUT = 15.0

_SHOWN_METHODS = {
    "sendmessage",
    "sendphoto",
    "senddocument",
    "sendmediagroup",
    "editmessagetext",
    "editmessagecaption",
    "editmessagereplymarkup",
    "deletemessage",
    "answercallbackquery",
    "setmycommands",
}
_PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp"}
_ENTITY_STYLES = {
    "bold": "bold",
    "italic": "italic",
    "underline": "underline",
    "strikethrough": "strike",
    "spoiler": "reverse",
    "code": "cyan",
    "pre": "cyan",
    "text_link": "underline blue",
    "blockquote": "italic dim",
}


@dataclass(frozen=True)
class SampleUser:
    """A person the console can type as; `role` None is a newcomer without an account."""

    telegram_id: int
    name: str
    role: Role | None
    unit_code: str | None = None


SAMPLE_USERS: tuple[SampleUser, ...] = (
    SampleUser(10001, "王芳", Role.LIAISON, "dianzi"),
    SampleUser(10002, "李强", Role.LIAISON, "xiji"),
    SampleUser(10003, "赵敏", Role.COORDINATOR),
    SampleUser(10004, "陈新", None),
)

# A few target tasks per town: one due later, one due within three days of the console's
# first day, one already overdue, so /tasks shows every traffic light. Synthetic, like the
# sample district's figures.
_SAMPLE_TASKS: tuple[tuple[str, str, str, str, date, str], ...] = (
    ("T01", "重点项目开工建设", "区重点项目清单", "年内新开工项目 3 个",
     date(2025, 6, 30), "key_work"),
    ("T02", "规上工业企业培育", "区新旧动能转换工作要点", "新增规上企业 2 家",
     date(2025, 3, 12), "key_work"),
    ("T03", "项目台账规范管理", "督导考核办法", "每月 5 日前更新项目台账",
     date(2025, 3, 5), "basic_work"),
)  # fmt: skip
_SAMPLE_FINDINGS: tuple[tuple[str, str, str, date, date], ...] = (
    ("dianzi", "部分重点项目台账更新不及时，缺少现场照片。", "on_site_inspection",
     date(2025, 3, 3), date(2025, 3, 24)),
    ("xiji", "规上企业培育进度滞后于年度计划，未见具体措施。", "dispatch_meeting",
     date(2025, 2, 26), date(2025, 3, 14)),
)  # fmt: skip


@dataclass(frozen=True)
class SeedResult:
    """What preparing the console's database did."""

    seeded: bool  # the sample district was written now
    sample_users: bool  # the sample users exist (now or from an earlier run)
    units: int = 0
    tasks: int = 0
    findings: int = 0
    people: int = 0


class RunningClock:
    """Real time, shifted: it shows `start` at the real moment `anchor` (a Unix time)."""

    def __init__(self, start: datetime, anchor: float) -> None:
        self.start = as_utc(start)
        self.anchor = anchor

    def now(self) -> datetime:
        """The current time of the console, in UTC."""
        return self.start + timedelta(seconds=time.time() - self.anchor)


def console_database_path(settings: Settings) -> Path:
    """The console's SQLite file in the data folder (unless KAOHE_DATABASE_URL says otherwise)."""
    return settings.data_dir / "console.db"


def console_database_url(settings: Settings) -> str:
    """KAOHE_DATABASE_URL, else the console's own SQLite file (never the bot's data)."""
    return settings.database_url or f"sqlite:///{console_database_path(settings).as_posix()}"


def console_archive_dir(settings: Settings) -> Path:
    """Where the console archives evidence: its own folder next to console.db, so that
    `--reset` can clear it without touching the bot's archive (unless the settings name one)."""
    if settings.archive_dir is not None or settings.database_url:
        return settings.resolved_archive_dir
    return settings.data_dir / "console-archive"


def reset_console(settings: Settings) -> None:
    """Remove the console's database, clock and archived evidence (`kaohe console --reset`);
    a database or archive named in the settings is not the console's to remove."""
    if settings.database_url is None:
        for path in console_database_path(settings).parent.glob("console.*"):
            path.unlink()
    archive = console_archive_dir(settings)
    if archive != settings.resolved_archive_dir:
        shutil.rmtree(archive, ignore_errors=True)


def console_clock(settings: Settings, *, restart: bool = False) -> RunningClock:
    """The console's clock; its anchor lives next to the database so time goes on across runs."""
    path = settings.data_dir / "console.clock"
    anchor: float | None = None
    if not restart:
        with contextlib.suppress(OSError, ValueError):
            anchor = float(path.read_text(encoding="utf-8").strip())
    if anchor is None:
        anchor = time.time()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{anchor}\n", encoding="utf-8")
    return RunningClock(CONSOLE_START, anchor)


def prepare_database(database: Database, clock: RunningClock) -> SeedResult:
    """Migrate the database and seed the sample district into it if it is empty."""
    migrate.upgrade(database)
    return seed_sample(database, clock)


def seed_sample(database: Database, clock: RunningClock) -> SeedResult:
    """The sample district, its tasks, findings and users, written if the database is empty."""

    def uow() -> UnitOfWork:
        return UnitOfWork(database, clock)

    people = list_people(uow(), OPERATOR)
    try:
        current_plan(uow(), SAMPLE_YEAR)
        has_plan = True
    except NotFound:
        has_plan = False
    if has_plan or people:
        known = {p.telegram_user_id for p in people if p.active}
        registered = [u for u in SAMPLE_USERS if u.role is not None]
        return SeedResult(False, all(u.telegram_id in known for u in registered))

    load_plan(uow(), OPERATOR, default_plan_text(SAMPLE_YEAR), "sample")
    units = sample_units()
    register_units(uow(), OPERATOR, units)
    coordinator: Actor | None = None
    for user in SAMPLE_USERS:
        if user.role is None:
            continue
        person = register_person(
            uow(), OPERATOR, user.telegram_id, user.name, user.role, user.unit_code
        )
        if user.role is Role.COORDINATOR:
            coordinator = Actor(person.id, Role.COORDINATOR, None, person.display_name)
    assert coordinator is not None
    tasks = [
        TaskInput(unit, suffix, title, source, target, due, item)
        for unit, _name in TOWNS
        for suffix, title, source, target, due, item in _SAMPLE_TASKS
    ]
    import_tasks(uow(), coordinator, SAMPLE_YEAR, tasks)
    unit_ids = {t.unit_code: t.unit_id for t in tasks_of_year(uow(), coordinator, SAMPLE_YEAR)}
    for unit, description, source, found_on, deadline in _SAMPLE_FINDINGS:
        record_finding(uow(), coordinator, unit_ids[unit], description, source, found_on, deadline)
    return SeedResult(
        seeded=True,
        sample_users=True,
        units=len(units),
        tasks=len(tasks),
        findings=len(_SAMPLE_FINDINGS),
        people=sum(1 for u in SAMPLE_USERS if u.role is not None),
    )


def styled(text: str, entities: Sequence[JSON]) -> Text:
    """Telegram's text and entities (UTF-16 offsets) as rich Text with the entities' styles."""
    index_of: dict[int, int] = {}
    position = 0
    for index, character in enumerate(text):
        index_of[position] = index
        position += 2 if ord(character) > 0xFFFF else 1
    index_of[position] = len(text)
    result = Text(text)
    for entity in entities:
        style = _ENTITY_STYLES.get(str(entity.get("type")))
        start = index_of.get(int(entity.get("offset", 0)))
        end = index_of.get(int(entity.get("offset", 0)) + int(entity.get("length", 0)))
        if style and start is not None and end is not None:
            result.stylize(style, start, end)
    return result


class LineSource(Protocol):
    """Where the console's input lines come from."""

    async def next_line(self, prompt: str) -> str | None:
        """The next line typed after showing `prompt`; None at the end of the input."""
        ...


class ConsoleSession:
    """The console's command loop: a person typing as sample users to the running bot."""

    def __init__(
        self,
        server: FakeBotApi,
        app: KaoheApplication,
        database: Database,
        clock: RunningClock,
        out: Console,
        language: str,
        users: Sequence[SampleUser] = SAMPLE_USERS,
    ) -> None:
        self.server = server
        self.app = app
        self.database = database
        self.clock = clock
        self.out = out
        self.language = normalise_language(language)
        self.users = list(users)
        self.current = 0
        # Lines the companions (the dashboard) want shown after the introduction.
        self.notes: list[str] = []
        self._keyboards: dict[int, int] = {}  # chat -> the latest printed message with buttons
        self._queries: dict[str, int] = {}  # callback query id -> the user who tapped
        self._last_answer = 0.0
        self._commands: dict[str, Callable[[str], Awaitable[bool]]] = {
            "users": self._users,
            "as": self._as,
            "tap": self._tap,
            "file": self._file,
            "album": self._album,
            "invite": self._invite,
            "help": self._help,
            "quit": self._quit,
            "q": self._quit,
            "exit": self._quit,
        }
        server.add_listener(self._on_call)

    # -- the loop -----------------------------------------------------------------------------

    @property
    def user(self) -> FakeUser:
        """The Telegram user the person is typing as."""
        sample = self.users[self.current]
        return self.server.user(sample.telegram_id, sample.name, self.language)

    def prompt(self) -> str:
        """The prompt: who is typing."""
        return render("console.prompt", self.language, name=self.users[self.current].name) + " "

    async def interact(self, lines: LineSource) -> None:
        """Read and handle lines until `:quit` or the end of the input."""
        while True:
            line = await lines.next_line(self.prompt())
            if line is None or not await self.handle(line):
                return

    async def handle(self, line: str) -> bool:
        """Handle one typed line; False when the person wants to leave."""
        text = line.strip()
        if not text:
            return True
        if text.startswith("::"):
            self.user.send_text(text[1:])
        elif text.startswith(":"):
            name, _, rest = text[1:].partition(" ")
            command = self._commands.get(name.lower())
            if command is None:
                self.say("console.unknown_command", command=f":{name}")
                return True
            return await command(rest.strip())
        elif text.startswith("/"):
            command_text, _, args = text.partition(" ")
            self.user.send_command(command_text, args.strip() or None)
        else:
            self.user.send_text(text)
        await self.settle()
        return True

    async def settle(self, timeout: float = ANSWER_TIMEOUT) -> None:
        """Wait until the bot has handled every update sent so far and has gone quiet."""
        pending = self.server.pending_updates
        if not pending:
            return
        last = pending[-1]["update_id"]
        loop = asyncio.get_running_loop()

        def fetched() -> bool:
            return all(u["update_id"] > last for u in self.server.pending_updates)

        async def done() -> None:
            await self.server.wait_for(fetched, timeout)
            # The Updater queued the update before confirming it; the queue's join returns
            # once Application.process_update has finished with everything queued.
            await self.app.update_queue.join()
            while (idle := loop.time() - self._last_answer) < QUIET_SECONDS:
                await asyncio.sleep(QUIET_SECONDS - idle)

        try:
            await asyncio.wait_for(done(), timeout)
        except TimeoutError:
            self.say("console.slow", style="yellow")

    # -- output -------------------------------------------------------------------------------

    def say(self, key: str, *, style: str | None = None, indent: str = "", **params: Any) -> None:
        """Print a console message (not the bot's)."""
        text = render(key, self.language, **params)
        self.out.print(Text(indent + text, style=style or "dim"), soft_wrap=True)

    def _name_of(self, user_id: int | None) -> str | None:
        for sample in self.users:
            if sample.telegram_id == user_id:
                return sample.name
        return None

    def _header(self, chat_id: int | None) -> Text:
        current = self.users[self.current].telegram_id
        name = self._name_of(chat_id)
        if chat_id == current or name is None:
            return Text(render("console.bot", self.language) + ":", style="bold cyan")
        return Text(render("console.bot_to", self.language, name=name) + ":", style="bold cyan")

    def _on_call(self, call: ApiCall) -> None:
        """Print what the bot did, as it happens (called by the fake server for each request)."""
        method = call.method.lower()
        if method not in _SHOWN_METHODS:
            return
        self._last_answer = asyncio.get_running_loop().time()
        if call.status != 200:
            if call.status:
                self.out.print(Text(f"Bot API {call.method}: {call.error}", style="red"))
            return
        chat_id = _int(call.params.get("chat_id"))
        result = call.result
        if method == "answercallbackquery":
            text = call.params.get("text")
            if text:
                key = "console.alert" if call.params.get("show_alert") else "console.toast"
                self.out.print(Text("  " + render(key, self.language, text=text), "magenta"))
            return
        if method == "setmycommands":
            self._print_menu(call)
            return
        if method == "deletemessage":
            message_id = call.params.get("message_id")
            self.out.print(self._header(chat_id))
            self.say("console.deleted", indent="  ", id=message_id)
            return
        if method == "sendmediagroup" and isinstance(result, list):
            self.out.print(self._header(chat_id))
            self.out.print("  " + render("console.album", self.language, count=len(result)))
            return
        if not isinstance(result, dict):
            return
        self.out.print(self._header(chat_id))
        if method == "editmessagereplymarkup":
            self.say("console.buttons_changed", indent="  ", id=result.get("message_id"))
        elif method.startswith("edit"):
            self.say("console.edited", indent="  ", id=result.get("message_id"))
        self._print_message(result, show_text=method != "editmessagereplymarkup")

    def _print_message(self, message: JSON, *, show_text: bool = True) -> None:
        if show_text:
            if "photo" in message:
                self.out.print("  " + render("console.photo", self.language))
            if "document" in message:
                name = message["document"].get("file_name") or "-"
                self.out.print("  " + render("console.document", self.language, name=name))
            text = message.get("text", message.get("caption"))
            entities = message.get("entities") or message.get("caption_entities") or []
            if text:
                body = styled(text, entities)
                for line in body.split("\n", allow_blank=True):
                    self.out.print(Text("  ").append_text(line), soft_wrap=True)
        chat_id = _int((message.get("chat") or {}).get("id"))
        rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        number = 0
        for row in rows:
            line = Text("  ")
            for button in row:
                number += 1
                line.append(f"[{number}] ", style="bold yellow")
                line.append(str(button.get("text", "")), style="yellow")
                line.append("   ")
            line.rstrip()
            self.out.print(line, soft_wrap=True)
        if number and chat_id is not None:
            self._keyboards[chat_id] = int(message["message_id"])

    def _print_menu(self, call: ApiCall) -> None:
        scope = call.params.get("scope") or {}
        if not isinstance(scope, dict) or scope.get("type") != "chat":
            return
        chat_id = _int(scope.get("chat_id"))
        if chat_id != self.users[self.current].telegram_id:
            return
        commands = call.params.get("commands") or []
        names = " ".join(f"/{c.get('command')}" for c in commands if isinstance(c, dict))
        self.say("console.menu", commands=names)

    # -- commands -----------------------------------------------------------------------------

    async def _help(self, _rest: str) -> bool:
        self.out.print(Text(render("console.help", self.language)))
        return True

    async def _quit(self, _rest: str) -> bool:
        return False

    async def _users(self, _rest: str) -> bool:
        await self.show_users()
        return True

    async def show_users(self) -> None:
        """List the sample users, marking the current one."""
        self.say("console.users_title", style="bold")
        for number, sample in enumerate(self.users, 1):
            what = await self._describe(sample)
            current = number - 1 == self.current
            line = render(
                "console.user_line", self.language, number=number, name=sample.name, what=what
            )
            self.out.print(
                Text(("* " if current else "  ") + line, style="bold" if current else "")
            )

    async def _describe(self, sample: SampleUser) -> str:
        session = await asyncio.to_thread(
            person_session, UnitOfWork(self.database, self.clock, read_only=True),
            sample.telegram_id,
        )  # fmt: skip
        if session is None:
            return render("console.unregistered", self.language)
        role = render(f"people.role_{session.actor.role.value}", self.language)
        return render("console.user_role", self.language, role=role, unit=session.unit_name)

    async def _as(self, rest: str) -> bool:
        if not rest.isdigit():
            self.say("console.usage_as", style="yellow")
            return True
        number = int(rest)
        if not 1 <= number <= len(self.users):
            self.say("console.bad_user", style="yellow", value=rest)
            return True
        self.current = number - 1
        sample = self.users[self.current]
        self.say(
            "console.now_as", style="bold", name=sample.name, what=await self._describe(sample)
        )
        return True

    async def _tap(self, rest: str) -> bool:
        if not rest.isdigit():
            self.say("console.usage_tap", style="yellow")
            return True
        user = self.user
        message_id = self._keyboards.get(user.chat_id)
        message = next(
            (m for m in self.server.messages_to(user.chat_id) if m.message_id == message_id),
            None,
        )
        buttons = inline_buttons(message.reply_markup) if message is not None else []
        if message is None or not buttons:
            self.say("console.no_buttons", style="yellow")
            return True
        number = int(rest)
        if not 1 <= number <= len(buttons):
            self.say("console.bad_button", style="yellow", value=rest, count=len(buttons))
            return True
        button = buttons[number - 1]
        if button.get("callback_data") is None:
            self.say("console.url_button", url=button.get("url", "-"))
            return True
        query = user.tap(message, str(button["callback_data"]))
        self._queries[query] = user.id
        await self.settle()
        return True

    async def _file(self, rest: str) -> bool:
        words = _split(rest)
        if not words:
            self.say("console.usage_file", style="yellow")
            return True
        loaded = self._read(words[0])
        if loaded is None:
            return True
        name, data, mime = loaded
        caption = " ".join(words[1:]) or None
        if mime in _PHOTO_TYPES:
            self.user.send_photo(data, caption)
        else:
            self.user.send_document(data, name, mime, caption)
        await self.settle()
        return True

    async def _album(self, rest: str) -> bool:
        words = _split(rest)
        if not 2 <= len(words) <= 10:
            self.say("console.usage_album", style="yellow")
            return True
        items: list[bytes | AlbumPhoto | AlbumDocument] = []
        for word in words:
            loaded = self._read(word)
            if loaded is None:
                return True
            name, data, mime = loaded
            items.append(
                AlbumPhoto(data) if mime in _PHOTO_TYPES else AlbumDocument(data, name, mime)
            )
        self.user.send_album(items)
        await self.settle()
        return True

    def _read(self, word: str) -> tuple[str, bytes, str] | None:
        path = Path(word).expanduser()
        try:
            data = path.read_bytes()
        except OSError as exc:
            self.say("console.file_missing", style="yellow", path=word, reason=exc.strerror or exc)
            return None
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return path.name, data, mime

    async def _invite(self, rest: str) -> bool:
        target = rest.strip()
        if not target:
            codes = ", ".join(unit.code for unit in sample_units())
            self.say("console.usage_invite", style="yellow", codes=codes)
            return True
        role = Role.COORDINATOR if target.lower() == Role.COORDINATOR.value else Role.LIAISON
        unit = None if role is Role.COORDINATOR else target
        try:
            invite = await asyncio.to_thread(
                issue_invite, UnitOfWork(self.database, self.clock), OPERATOR, role, unit
            )
        except ServiceError as exc:
            reason = render(f"errors.{exc.code}", self.language, **exc.params)
            self.say("console.invite_refused", style="yellow", reason=reason)
            return True
        role_name = render(f"people.role_{role.value}", self.language)
        what = render("console.user_role", self.language, role=role_name, unit=invite.unit_name)
        self.say("console.invite_made", style="green", what=what, code=invite.code)
        return True


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _split(rest: str) -> list[str]:
    try:
        return shlex.split(rest)
    except ValueError:
        return rest.split()


class ConsoleCompanion(Companion, Protocol):
    """Something the console runs beside the bot (the dashboard), with a line to print once
    it runs, for a sample person (their Telegram id and name)."""

    async def note(
        self, application: KaoheApplication, telegram_user_id: int, name: str
    ) -> str | None:
        """What to tell the person at the terminal, if anything."""


@asynccontextmanager
async def console_bot(
    settings: Settings,
    database: Database,
    clock: RunningClock,
    out: Console,
    companions: Sequence[ConsoleCompanion] = (),
) -> AsyncIterator[ConsoleSession]:
    """The fake Telegram on 127.0.0.1 and the real bot polling it, for the body of the block;
    `companions` run beside the bot on its loop."""
    async with FakeBotApi(
        CONSOLE_TOKEN, bot_first_name="kaohe", bot_username="kaohe_console_bot"
    ) as server:
        # Every sample person has "started" the bot: anyone can be written to from the first
        # minute (a reminder to the coordinator, a liaison's request), as in a live district.
        for sample in SAMPLE_USERS:
            server.user(sample.telegram_id, sample.name, normalise_language(settings.language))
        local = settings.model_copy(
            update={
                "archive_dir": console_archive_dir(settings),
                "telegram_bot_token": SecretStr(server.token),
                "bot_api_url": server.base_url,
                "bot_file_url": server.base_file_url,
                "webhook_url": None,
            }
        )
        deps = make_deps(local, database, clock)
        app = build_application(
            deps, server.token, base_url=server.base_url, base_file_url=server.base_file_url
        )
        session = ConsoleSession(server, app, database, clock, out, settings.language)
        await app.initialize()
        try:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(
                poll_interval=0, timeout=timedelta(seconds=1), allowed_updates=Update.ALL_TYPES
            )
            started: list[ConsoleCompanion] = []
            try:
                for companion in companions:
                    await companion.start(app)
                    started.append(companion)
                    coordinator = next(u for u in SAMPLE_USERS if u.role is Role.COORDINATOR)
                    note = await companion.note(app, coordinator.telegram_id, coordinator.name)
                    if note:
                        session.notes.append(note)
                yield session
            finally:
                for companion in reversed(started):
                    await companion.stop()
                await app.updater.stop()
                await app.stop()
        finally:
            await app.shutdown()


class StdinLines:
    """Lines typed at the terminal, read by a daemon thread while the bot runs on the loop.

    The thread waits for each prompt before calling `input()`, so the prompt appears after the
    bot's answers; being a daemon, it never holds up the exit while blocked in `input()`.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._prompts: queue.Queue[str] = queue.Queue()
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._echo = not _is_tty(sys.stdin)
        if not self._echo:
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401  (line editing and history for input())
        threading.Thread(target=self._read, name="kaohe-console-stdin", daemon=True).start()

    async def next_line(self, prompt: str) -> str | None:
        """Show `prompt` and wait for the next line (None at the end of the input)."""
        self._prompts.put(prompt)
        return await self._lines.get()

    def _read(self) -> None:
        while True:
            prompt = self._prompts.get()
            line: str | None
            try:
                line = input(prompt)
            except (EOFError, OSError, RuntimeError, ValueError, KeyboardInterrupt):
                line = None  # end of the input, or no stdin at all (closed, detached)
            if self._echo or line is None:
                with contextlib.suppress(OSError, ValueError):
                    print(line or "", flush=True)
            self._loop.call_soon_threadsafe(self._lines.put_nowait, line)
            if line is None:
                return


def _is_tty(stream: Any) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (OSError, ValueError):
        return False


async def console_main(
    settings: Settings,
    out: Console,
    lines: LineSource | None = None,
    companions: Sequence[ConsoleCompanion] = (),
) -> int:
    """Prepare the database, start the fake Telegram and the bot (and its companions: the
    dashboard), and run the command loop."""
    database = open_database(console_database_url(settings))
    label = "KAOHE_DATABASE_URL" if settings.database_url else str(console_database_path(settings))
    try:
        fresh = not settings.database_url and not console_database_path(settings).exists()
        clock = console_clock(settings, restart=fresh)
        seed = await asyncio.to_thread(prepare_database, database, clock)
        async with console_bot(settings, database, clock, out, companions) as session:
            now = clock.now().astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
            session.say("console.intro", style="bold", now=now, database=label)
            if seed.seeded:
                session.say(
                    "console.seeded", year=SAMPLE_YEAR, units=seed.units, tasks=seed.tasks,
                    findings=seed.findings, people=seed.people,
                )  # fmt: skip
            elif not seed.sample_users:
                session.say("console.foreign_database", style="yellow")
            await session.show_users()
            for note in session.notes:
                out.print(note, markup=False, highlight=False, soft_wrap=True)
            session.say("console.start_hint")
            await session.interact(lines or StdinLines(asyncio.get_running_loop()))
        session.say("console.bye", database=label)
    finally:
        database.dispose()
    return 0


def run_console(settings: Settings, companions: Sequence[ConsoleCompanion] = ()) -> int:
    """`kaohe console`: returns the exit status."""
    # Only warnings and errors: PTB's and httpx's routine lines would drown the conversation.
    configure_logging(CONSOLE_TOKEN, logging.WARNING)
    out = Console(highlight=False, soft_wrap=True)
    try:
        return asyncio.run(console_main(settings, out, companions=companions))
    except KeyboardInterrupt:
        return 0
