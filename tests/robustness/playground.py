"""The robustness playground: the real Application on SQLite, the fake Bot API, and people of
every role (and strangers) doing anything at all; after every step, the invariants.

Driven by the hypothesis state machine of this folder (a short run in the test suite) and by
`python -m bench.soak` (a long run, with faults). Each action returns once the bot has handled
the updates it caused; `check()` then lists every invariant that no longer holds:

- every update got an answer (a message, an edit or a callback answer), unless every attempt
  to answer was refused by an injected fault;
- no exception reached the error handler (with faults: only Telegram's errors and a database
  outage may);
- the audit chain verifies;
- no half-written row exists (the rules per table are in `HALF_WRITTEN`);
- nobody saw another unit's data: no message to a liaison names another unit.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, text
from telegram import Update
from telegram.error import TelegramError
from telegram.request import HTTPXRequest

from bot.app import KaoheApplication, build_application, make_deps
from bot.context import BotDeps
from bot.fake_bot_api import AlbumDocument, AlbumPhoto, ApiCall, FakeBotApi, FakeUser
from bot.jobs import send_reminders
from services.access import Actor, Role
from services.files.plan_file import default_plan_text
from services.findings import record_finding
from services.free_text import clean_text
from services.people import issue_invite, register_units
from services.plans import load_plan
from services.sample_district import sample_units
from services.settings import Settings
from services.tasks import TaskInput, import_tasks
from storage.audit import verify
from storage.clock import FixedClock
from storage.database import Database, open_database
from storage.errors import DatabaseUnavailable
from storage.migrate import upgrade
from storage.unit_of_work import UnitOfWork
from templates import LANGUAGES, render
from tests.fakes.bot_api import tiny_png

SHANGHAI = ZoneInfo("Asia/Shanghai")
OPERATOR = Actor.operator("robustness")
ADMIN_ID = 9_000_001
START = datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI)
YEAR = 2025
# Every command anyone could type, and some nobody has.
COMMANDS = (
    "start", "help", "cancel", "language", "tasks", "report", "rectify", "extend", "myscore",
    "finding", "review", "matrix", "grade", "bonus", "templates", "standings", "unit", "export",
    "publish", "supervision_report", "broadcast", "invite", "nonsense", "START", "report@kaohe",
)  # fmt: skip
COORDINATION = (
    "finding", "review", "matrix", "grade", "bonus", "templates", "standings", "unit", "export",
    "publish", "supervision_report", "broadcast", "invite",
)  # fmt: skip
# The commands of each role, which random play prefers (to get deep into the dialogs).
ROLE_COMMANDS: dict[Role | None, tuple[str, ...]] = {
    Role.LIAISON: ("tasks", "report", "rectify", "extend", "myscore"),
    Role.COORDINATOR: COORDINATION,
    Role.ADMIN: COORDINATION,
    Role.RATER: ("grade",),
    Role.VIEWER: ("standings", "unit", "export", "supervision_report"),
    None: ("start",),
}
ROLES = (Role.LIAISON, Role.COORDINATOR, Role.RATER, Role.VIEWER, Role.ADMIN, None)
ANSWERS = {"sendmessage", "sendphoto", "senddocument", "sendmediagroup", "editmessagetext"}
TAP_ANSWERS = ANSWERS | {"answercallbackquery", "editmessagereplymarkup"}

# A row is half-written when one of these finds it (each query returns offending ids).
HALF_WRITTEN: dict[str, str] = {
    "a report without entries": (
        "SELECT r.id FROM progress_reports r WHERE NOT EXISTS "
        "(SELECT 1 FROM report_entries e WHERE e.report_id = r.id)"
    ),
    "a rectification decided without a time, or timed without a decision": (
        "SELECT id FROM rectifications WHERE (decision IS NULL) <> (decided_at IS NULL)"
    ),
    "a submitted finding without an undecided rectification": (
        "SELECT f.id FROM findings f WHERE f.status = 'submitted' AND NOT EXISTS "
        "(SELECT 1 FROM rectifications r WHERE r.finding_id = f.id AND r.decision IS NULL)"
    ),
    "an open or returned finding with an undecided rectification": (
        "SELECT f.id FROM findings f WHERE f.status IN ('open', 'returned') AND EXISTS "
        "(SELECT 1 FROM rectifications r WHERE r.finding_id = f.id AND r.decision IS NULL)"
    ),
    "an accepted finding without its time": (
        "SELECT id FROM findings WHERE status = 'accepted' AND accepted_at IS NULL"
    ),
    "an extension decided without a time, or timed without a decision": (
        "SELECT id FROM extension_requests WHERE (decision IS NULL) <> (decided_at IS NULL)"
    ),
    "an extension for neither or both of a finding and a month": (
        "SELECT id FROM extension_requests WHERE (finding_id IS NULL) = "
        "(report_year IS NULL OR report_month IS NULL)"
    ),
    "evidence linked that does not exist": (
        "SELECT l.id FROM report_evidence l LEFT JOIN evidence e ON e.id = l.evidence_id "
        "WHERE e.id IS NULL UNION ALL "
        "SELECT l.id FROM rectification_evidence l LEFT JOIN evidence e "
        "ON e.id = l.evidence_id WHERE e.id IS NULL UNION ALL "
        "SELECT l.id FROM finding_evidence l LEFT JOIN evidence e ON e.id = l.evidence_id "
        "WHERE e.id IS NULL"
    ),
    "a broadcast claimed or delivered without who or when": (
        "SELECT id FROM broadcast_deliveries WHERE (status = 'claimed' AND claimed_by IS NULL) "
        "OR (status = 'delivered' AND delivered_at IS NULL)"
    ),
    "a finished broadcast without its time": (
        "SELECT id FROM broadcasts WHERE status = 'done' AND finished_at IS NULL"
    ),
    "a reminder claimed or sent without who or when": (
        "SELECT id FROM reminders WHERE (status = 'claimed' AND claimed_by IS NULL) "
        "OR (status = 'sent' AND sent_at IS NULL)"
    ),
    "a dialog without a step": "SELECT id FROM dialog_states WHERE kind <> '_last' AND step = ''",
    "a liaison without a unit": (
        "SELECT id FROM people WHERE role = 'liaison' AND active AND unit_id IS NULL"
    ),
}


# Free text people typed, which must have passed the one rule of services.free_text.
FREE_TEXT: dict[str, str] = {
    "rectifications": "text",
    "findings": "description",
    "broadcasts": "text",
    "people": "display_name",
    "report_entries": "note",
    "extension_requests": "reason",
    "evidence": "file_name",
}


@dataclass
class Person:
    """Someone talking to the bot: a registered role, or a stranger (role None)."""

    user: FakeUser
    role: Role | None
    unit: str | None = None


@dataclass
class Figures:
    """What a run did."""

    steps: int = 0
    updates: int = 0
    answers: int = 0
    excused: int = 0  # updates whose every answer was refused by an injected fault
    errors_expected: int = 0  # Telegram errors and outages the error handler saw (with faults)
    outages: int = 0
    actions: Counter[str] = field(default_factory=Counter)


@dataclass
class _Step:
    """What one action caused: the updates and who sent them."""

    name: str
    person: Person
    updates: list[tuple[str, str | None]]  # (kind, callback query id)


class Playground:
    """The bot and its world for random play; see the module's docstring."""

    def __init__(
        self,
        server: FakeBotApi,
        database: Database,
        checker: Database,
        clock: FixedClock,
        deps: BotDeps,
        app: KaoheApplication,
        rng: random.Random,
        faults: bool,
    ) -> None:
        self.server = server
        self.database = database
        self.checker = checker  # a connection of its own, never part of an outage
        self.clock = clock
        self.deps = deps
        self.app = app
        self.rng = rng
        self.faults = faults
        self.people: list[Person] = []
        self.buttons: list[tuple[int, int, str]] = []  # (chat, message id, callback data)
        self.figures = Figures()
        self.unit_names = {u.code: u.name for u in sample_units()}
        self._seen_errors = 0
        self._seen_buttons: set[tuple[int, int, str]] = set()
        self._outage_until = 0.0
        self._new_errors: list[BaseException] = []
        self._job_problems: list[str] = []

    # -- lifecycle ----------------------------------------------------------------------------

    @classmethod
    async def open(
        cls, folder: Path, *, seed: int = 0, faults: bool = False, template: Path | None = None
    ) -> Playground:
        """A running playground in `folder` (an empty folder of its own)."""
        path = folder / "kaohe.db"
        if template is not None:
            shutil.copyfile(template, path)
        database = open_database(f"sqlite:///{path}")
        if template is None:
            upgrade(database)
        clock = FixedClock(START)
        _seed(database, clock)
        settings = Settings(
            data_dir=folder,
            telegram_bot_token="123:TEST",  # type: ignore[arg-type]
            admin_ids=[ADMIN_ID],
        )
        server = FakeBotApi()
        await server.start()
        deps = make_deps(settings, database, clock)
        deps.errors = []
        # Short timeouts: a held request (an injected timeout) costs a second, not five.
        request = HTTPXRequest(connect_timeout=1.0, read_timeout=1.0, write_timeout=1.0)
        app = build_application(
            deps,
            server.token,
            base_url=server.base_url,
            base_file_url=server.base_file_url,
            request=request,
            updater=False,
            jobs=False,
        )
        await app.initialize()
        checker = open_database(f"sqlite:///{path}")
        rng = random.Random(seed)
        playground = cls(server, database, checker, clock, deps, app, rng, faults)
        event.listen(database.engine, "before_cursor_execute", playground._outage_hook)
        await playground._people()
        if faults:
            server.chaos(0.08, random.Random(seed + 1), hold=2.0)
        return playground

    async def close(self) -> None:
        """Stop the bot and the server; release the database."""
        self.server.chaos(0, self.rng)
        await self.app.shutdown()
        await self.server.stop()
        self.database.dispose()
        self.checker.dispose()

    async def _people(self) -> None:
        """Two liaisons of different units and one person of every other role; two strangers."""
        plan: list[tuple[int, Role | None, str | None]] = [
            (1001, Role.LIAISON, "dianzi"),
            (1002, Role.LIAISON, "xiji"),
            (2001, Role.COORDINATOR, None),
            (3001, Role.RATER, None),
            (4001, Role.VIEWER, None),
            (ADMIN_ID, Role.ADMIN, None),
            (5001, None, None),
            (5002, None, None),
        ]
        for user_id, role, unit in plan:
            user = self.server.user(user_id, first_name=f"用户{user_id}")
            person = Person(user, role, unit)
            self.people.append(person)
            if role in (Role.LIAISON, Role.COORDINATOR, Role.RATER, Role.VIEWER):
                code = issue_invite(self._uow(), OPERATOR, role, unit).code
                await self._run(
                    "join", person, lambda u=user, c=code: [u.send_command("/start", c)]
                )
            elif role is Role.ADMIN:
                await self._run("join", person, lambda u=user: [u.send_command("/help")])
        problems = self.check()
        if problems:
            raise RuntimeError(f"the playground did not start cleanly: {problems}")

    def _uow(self) -> UnitOfWork:
        return UnitOfWork(self.checker, self.clock)

    # -- actions --------------------------------------------------------------------------------

    async def command(self, who: int, name: str, args: str) -> None:
        """`/name args` from person `who`."""
        person = self.people[who]
        await self._run("command", person, lambda: [person.user.send_command(name, args or None)])

    async def say(self, who: int, words: str) -> None:
        """Typed text (any Unicode, any length) from person `who`."""
        person = self.people[who]
        if not words:
            words = " "
        await self._run("text", person, lambda: [person.user.send_text(words)])

    async def tap(self, who: int, pick: int, fresh: bool = False) -> None:
        """Tap a button ever shown (stale ones, and other people's on one's own message); with
        `fresh`, one of the person's newest message with buttons (to get deep into dialogs)."""
        person = self.people[who]
        choices = self.buttons
        if fresh:
            newest = [
                m for m in self.server.messages_to(person.user.id) if any(d for _, d in m.buttons)
            ]
            if newest:
                message = newest[-1]
                choices = [
                    (person.user.id, message.message_id, d) for _, d in message.buttons if d
                ]
        if not choices:
            await self.command(who, "help", "")
            return
        chat, message_id, data = choices[pick % len(choices)]
        if chat != person.user.id:
            own = self.server.messages_to(person.user.id)
            if not own:
                await self.say(who, "?")
                return
            message_id = own[-1].message_id  # someone else's button, forged onto one's own
        await self._run(
            "tap",
            person,
            lambda: [person.user.tap(message_id, data, strict=False)],
            tap=True,
        )

    async def tap_label(self, who: int, prefix: str) -> None:
        """Tap the button starting with `prefix` on the person's newest message that has one
        (a scripted journey); if none is shown, a random fresh tap instead."""
        person = self.people[who]
        for message in reversed(self.server.messages_to(person.user.id)):
            for label, data in message.buttons:
                if data and label.startswith(prefix):
                    await self._run(
                        "tap",
                        person,
                        lambda m=message.message_id, d=data: [person.user.tap(m, d, strict=False)],
                        tap=True,
                    )
                    return
        await self.tap(who, 0, fresh=True)

    async def send_file(self, who: int, kind: str, size: int, name: str, mime: str) -> None:
        """A photo, a document, an album, a sticker or a voice message of any size."""
        person = self.people[who]
        user = person.user
        data = _bytes_of(kind, size, self.rng)
        declared = size if size > len(data) else None
        if kind == "photo":
            send = lambda: [user.send_photo(data, file_size=declared)]  # noqa: E731
        elif kind == "album":
            items: list[bytes | AlbumPhoto | AlbumDocument] = [
                AlbumPhoto(tiny_png()),
                AlbumDocument(data, name or "file.pdf", mime or "application/pdf"),
                AlbumPhoto(tiny_png(5, 5)),
            ]
            send = lambda: user.send_album(items)  # noqa: E731
        elif kind == "sticker":
            send = lambda: [user.send_sticker()]  # noqa: E731
        elif kind == "voice":
            send = lambda: [user.send_voice()]  # noqa: E731
        else:
            send = lambda: [  # noqa: E731
                user.send_document(data, name or "file", mime, file_size=declared)
            ]
        await self._run(f"file:{kind}", person, send)

    async def cancel(self, who: int) -> None:
        """/cancel from person `who`."""
        await self.command(who, "cancel", "")

    async def edit(self, who: int, words: str) -> None:
        """Edit one's latest text message (edits are not read again, but answered)."""
        person = self.people[who]
        chat = self.server.state.chat_of(person.user.id)
        mine = [
            m
            for m in chat.messages.values()
            if m.get("from", {}).get("id") == person.user.id and "text" in m
        ]
        if not mine:
            await self.say(who, words)
            return
        message_id = mine[-1]["message_id"]
        await self._run("edit", person, lambda: [person.user.edit_text(message_id, words or "x")])

    def jump(self, hours: int) -> None:
        """Move the clock forward (across month ends and deadlines)."""
        self.clock.advance(hours=hours)
        self.figures.actions["clock"] += 1

    async def remind(self) -> None:
        """One reminder tick, as the JobQueue would run it."""
        self.figures.actions["reminders"] += 1
        try:
            await send_reminders(self.deps, self.app.bot, "robustness")
        except DatabaseUnavailable as exc:  # the job skips its run then; only an outage may
            if not self.faults:
                self._job_problems.append(f"the reminder tick failed: {exc}")

    def outage(self, seconds: float) -> None:
        """The bot's database becomes unreachable for `seconds` (faults only)."""
        self._outage_until = time.monotonic() + seconds
        self.figures.outages += 1

    def _in_outage(self) -> bool:
        return time.monotonic() < self._outage_until

    def _outage_hook(self, *args: Any) -> None:
        if self._in_outage():
            raise sqlite3.OperationalError("unable to open database file (injected outage)")

    # -- running an action ----------------------------------------------------------------------

    async def _run(self, name: str, person: Person, send: Any, tap: bool = False) -> None:
        start = len(self.server.sent)
        payloads = send()
        updates: list[tuple[str, str | None]] = []
        for payload in payloads:
            updates.append(("tap" if tap else "message", payload if tap else None))
        step = _Step(name, person, updates)
        pending = self.server.pending_updates
        if pending:
            self.server.state.confirm_updates(pending[-1]["update_id"] + 1)
        for raw in pending:
            await self.app.process_update(Update.de_json(raw, self.app.bot))
        self.figures.steps += 1
        self.figures.updates += len(pending)
        self.figures.actions[name] += 1
        self._last = (step, self.server.sent[start:])
        self._remember_buttons()

    def _remember_buttons(self) -> None:
        for person in self.people:
            for message in self.server.messages_to(person.user.id):
                for _label, data in message.buttons:
                    key = (person.user.id, message.message_id, data or "")
                    if data and key not in self._seen_buttons:
                        self._seen_buttons.add(key)
                        self.buttons.append(key)

    # -- invariants -----------------------------------------------------------------------------

    def check(self) -> list[str]:
        """Every invariant that does not hold after the last action (empty: all is well)."""
        problems: list[str] = self._job_problems
        self._job_problems = []
        last = getattr(self, "_last", None)
        if last is not None:
            problems += self._answered(*last)
            problems += self._no_leak(last[1])
        errors = self._errors()
        if last is not None and self._new_errors:
            problems += self._apologised(*last)
        problems += errors
        problems += self._audit()
        problems += self._half_written()
        return problems

    def _answered(self, step: _Step, calls: list[ApiCall]) -> list[str]:
        chat = step.person.user.id
        mine = [c for c in calls if str(c.params.get("chat_id", "")) == str(chat)]
        wanted = TAP_ANSWERS if any(k == "tap" for k, _ in step.updates) else ANSWERS
        for kind, query_id in step.updates:
            if kind == "tap" and query_id is not None:
                mine += [
                    c
                    for c in calls
                    if c.method.lower() == "answercallbackquery"
                    and c.params.get("callback_query_id") == query_id
                ]
        tried = [c for c in mine if c.method.lower() in wanted]
        if any(c.status == 200 for c in tried):
            self.figures.answers += 1
            return []
        if self.faults and tried and all(c.status != 200 for c in tried):
            self.figures.excused += 1  # every answer was refused by an injected fault
            return []
        return [f"{step.name} by {step.person.role} got no answer (calls: {_calls(calls)})"]

    def carry(self, problems: list[str]) -> None:
        """Problems found inside a scripted journey, reported by the next check()."""
        self._job_problems += problems

    @property
    def new_errors(self) -> list[BaseException]:
        """The errors the error handler saw during the last action."""
        return list(self._new_errors)

    def _apologised(self, step: _Step, calls: list[ApiCall]) -> list[str]:
        """After an error, the person was told to try again (if anything could be sent)."""
        chat = str(step.person.user.id)
        apologies = {
            render("common.something_went_wrong", language, html=True) for language in LANGUAGES
        }
        told = [
            c
            for c in calls
            if c.method.lower() == "sendmessage"
            and str(c.params.get("chat_id")) == chat
            and c.params.get("text") in apologies
        ]
        if told:
            return []
        return [f"{step.name}: an error, and no 'please try again' was even tried"]

    def _errors(self) -> list[str]:
        errors = self.deps.errors or []
        new, self._seen_errors = errors[self._seen_errors :], len(errors)
        self._new_errors = new
        problems = []
        for error in new:
            if self.faults and isinstance(error, TelegramError | DatabaseUnavailable):
                self.figures.errors_expected += 1
                continue
            problems.append(f"the error handler saw {type(error).__name__}: {error}")
        return problems

    def _audit(self) -> list[str]:
        with self._uow() as uow:
            breaks = verify(uow.session)
        return [f"audit chain broken: {b}" for b in breaks]

    def rows(self) -> Counter[str]:
        """How many rows the play wrote to the tables people fill (to see that it gets far)."""
        tables = (
            "findings", "rectifications", "progress_reports", "extension_requests",
            "broadcasts", "evidence", "grades", "bonus_items", "dialog_states", "reminders",
        )  # fmt: skip
        counts: Counter[str] = Counter()
        with self.checker.engine.connect() as conn:
            for table in tables:
                query = text(f"SELECT count(*) FROM {table}")
                counts[table] = conn.execute(query).scalar_one()
        return counts

    def _half_written(self) -> list[str]:
        problems = []
        with self.checker.engine.connect() as conn:
            for rule, query in HALF_WRITTEN.items():
                ids = [r[0] for r in conn.execute(text(query))]
                if ids:
                    problems.append(f"half-written: {rule}: {ids[:5]}")
            for table, column in FREE_TEXT.items():
                rows = conn.execute(text(f"SELECT id, {column} FROM {table}"))
                dirty = [i for i, value in rows if value and clean_text(value) != value]
                if dirty:
                    problems.append(f"uncleaned text in {table}.{column}: {dirty[:5]}")
        return problems

    def _no_leak(self, calls: list[ApiCall]) -> list[str]:
        problems = []
        for person in self.people:
            if person.role is not Role.LIAISON or person.unit is None:
                continue
            own = self.unit_names[person.unit]
            others = [n for c, n in self.unit_names.items() if c != person.unit and n not in own]
            for call in calls:
                if str(call.params.get("chat_id", "")) != str(person.user.id):
                    continue
                shown = str(call.params.get("text") or call.params.get("caption") or "")
                named = [n for n in others if n in shown]
                if named:
                    problems.append(f"a liaison of {own} was shown {named}: {shown[:200]!r}")
        return problems


def _calls(calls: list[ApiCall]) -> str:
    return ", ".join(f"{c.method}->{c.status}" for c in calls[-6:])


def _bytes_of(kind: str, size: int, rng: random.Random) -> bytes:
    """File content of a kind: a real PNG, a PDF header, or random bytes (at most 64 KB are
    made; a larger size is only declared)."""
    if kind == "photo":
        return tiny_png()
    made = min(size, 65_536)
    body = rng.randbytes(made)
    if kind == "pdf":
        return (b"%PDF-1.4\n" + body)[:made] if made else b""
    return body


def _seed(database: Database, clock: FixedClock) -> None:
    """The sample plan and units, tasks of two units, and a finding each."""
    uow = lambda: UnitOfWork(database, clock)  # noqa: E731
    load_plan(uow(), OPERATOR, default_plan_text(YEAR), "default")
    load_plan(uow(), OPERATOR, default_plan_text(YEAR + 1), "default")
    register_units(uow(), OPERATOR, sample_units())
    tasks = [
        TaskInput(unit, f"T{n}", title, "", "目标", None, "key_work")
        for unit in ("dianzi", "xiji")
        for n, title in enumerate(("招商引资项目落地", "老旧小区改造"), start=1)
    ]
    import_tasks(uow(), OPERATOR, YEAR, tasks)
    with uow() as work:
        ids = dict(work.session.execute(text("SELECT code, id FROM units")).all())
    for code in ("dianzi", "xiji"):
        found_on, deadline = START.date() - timedelta(days=9), START.date() + timedelta(days=20)
        coordinator = Actor(None, Role.COORDINATOR, None, "区发改局")
        record_finding(
            uow(), coordinator, ids[code], "台账不完整", "on_site_inspection", found_on, deadline
        )
