"""Bot benchmark: liaisons each doing a full monthly report at once, against the fake Bot API.

    python -m bench.bench_bot [--liaisons 200] [--tasks 3] [--bots echo,kaohe]

This process runs the fake Bot API server (bot.fake_bot_api) and the simulated liaisons; each
bot runs in a child process of its own and long-polls the server over HTTP, as in production:

- echo: a bare python-telegram-bot Application answering each update with one request (a
  copy of the text, or the answer to a tapped button): the floor.
- kaohe: `kaohe run` (cli.run.run_command) on an SQLite database seeded with one
  unit (a town) per liaison, `--tasks` target tasks per unit, and the plans of this year and
  last, so that the month now due has a plan whatever the date.

Every liaison does a complete /report: /report, "fill in", then for each task a status button,
the key figure, a note, and the files step (a photo and Done for the first task, Skip for the
others), then Confirm, which ends with a receipt. Each liaison waits for the bot's reply before
its next step, like a person; all start at once. The echo liaisons send the same updates.

Measured, per bot: updates per second (all updates over the time from the first update to the
last answer) and the time from an update's arrival (when it was enqueued at the fake server) to
the bot's answer (the arrival at the server of the bot's first request answering it: a message
to the chat, an edit, or the answer to the tapped button's callback query): median, 95th
percentile and maximum. Also shown: the time to the full reply (the message the next step needs,
e.g. the next question after a tap). Goals: kaohe at least half the echo bot's throughput, p95
under 50 ms. Both bots run on the same machine as the harness (the fake server and the
liaisons take a CPU core of their own).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import statistics
import struct
import sys
import tempfile
import time
import zlib
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from bot.fake_bot_api import ApiCall, FakeBotApi, FakeUser
from bot.fake_bot_api.models import JSON, inline_buttons

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "900000001:bench-token-not-a-real-one"
SHANGHAI = ZoneInfo("Asia/Shanghai")
FIRST_USER_ID = 500_000
STEP_TIMEOUT = 120.0
START_TIMEOUT = 120.0
GOAL_SHARE = 0.5
GOAL_P95_MS = 50.0
# The requests by which a bot answers a person (setMyCommands, getFile and the like are not).
ANSWERS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "sendmediagroup",
        "editmessagetext",
        "editmessagecaption",
        "editmessagereplymarkup",
        "deletemessage",
        "answercallbackquery",
    }
)
PROFILE_DIR: Path | None = None  # --profile: where each bot's cProfile statistics go
out = Console(highlight=False, width=max(Console().width, 150))


@dataclass
class Figures:
    """What one bot measured."""

    bot: str
    scenario: str
    liaisons: int
    updates: int
    seconds: float
    first: list[float]  # seconds from each update to the bot's first answer
    full: list[float]  # seconds from each update to the reply the next step needed
    completed: int  # liaisons who got to the end (a stored report, for kaohe)
    requests: int  # Bot API requests the bot made during the run (getUpdates included)
    bot_cpu: float  # CPU seconds the bot's process used during the run
    harness_cpu: float  # CPU seconds this process (fake server and liaisons) used meanwhile
    failures: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Updates per second."""
        return self.updates / self.seconds if self.seconds else 0.0


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile of `values` (seconds), in milliseconds."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0] * 1000
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


@dataclass
class Answer:
    """One request of the bot that answers someone, as the fake server received it."""

    time: float
    method: str
    message: JSON | None  # the Message the request sent or edited, if any


@dataclass(frozen=True)
class Sent:
    """An update a liaison sent: when, and how many answers their chat had before it."""

    at: float
    since: int


@dataclass(frozen=True)
class Scenario:
    """How the liaisons behave: flat out (the bot's capacity) or at a person's pace."""

    name: str
    think: float  # scale of the think times (THINK); 0: the next update as soon as answered
    ramp: float  # seconds over which the liaisons start


FLAT_OUT = Scenario("flat out", 0.0, 0.0)
HUMAN_PACE = Scenario("human pace", 1.0, 10.0)
# Seconds a person takes before each kind of update (uniform between the two): reading the
# question and tapping, typing a figure or a note, picking a photo. A report then takes about a
# minute, as the issue wants.
THINK: dict[str, tuple[float, float]] = {
    "tap": (1.0, 3.0),
    "text": (3.0, 10.0),
    "file": (5.0, 15.0),
}


class Harness:
    """Acts as the liaisons and times the bot's answers to each of their updates."""

    def __init__(self, server: FakeBotApi, scenario: Scenario) -> None:
        self.server = server
        self.scenario = scenario
        self.random: dict[int, random.Random] = {}
        self.answers: dict[int, list[Answer]] = defaultdict(list)
        self.signals: dict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self.queries: dict[str, int] = {}  # callback query id -> chat
        self.waiting: dict[int, float] = {}  # chat -> when its unanswered update was enqueued
        self.first: list[float] = []
        self.full: list[float] = []
        self.updates = 0
        self.first_update = 0.0
        self.last_answer = 0.0
        server.add_listener(self._on_call)

    def _on_call(self, call: ApiCall) -> None:
        method = call.method.lower()
        if method not in ANSWERS or call.status != 200:
            return
        chat = call.chat_id
        if method == "answercallbackquery":
            chat = self.queries.get(str(call.params.get("callback_query_id")))
        if chat is None:
            return
        chat = int(chat)
        message = call.result if isinstance(call.result, dict) else None
        self.answers[chat].append(Answer(call.time, method, message))
        enqueued = self.waiting.pop(chat, None)
        if enqueued is not None:
            self.first.append(call.time - enqueued)
        self.last_answer = max(self.last_answer, call.time)
        self.signals[chat].set()

    async def start(self, user: FakeUser) -> None:
        """Wait for the moment this liaison starts (all at once, or within the ramp)."""
        rng = self.random.setdefault(user.id, random.Random(user.id))
        if self.scenario.ramp:
            await asyncio.sleep(rng.uniform(0, self.scenario.ramp))

    async def act(self, user: FakeUser, action: Callable[[], object], what: str = "text") -> Sent:
        """Think, then send one update (`action` enqueues it at the fake server)."""
        if self.scenario.think:
            low, high = THINK[what]
            rng = self.random.setdefault(user.id, random.Random(user.id))
            await asyncio.sleep(rng.uniform(low, high) * self.scenario.think)
        sent = Sent(time.monotonic(), len(self.answers[user.chat_id]))
        if not self.first_update:
            self.first_update = sent.at
        self.waiting[user.chat_id] = sent.at
        action()
        self.updates += 1
        return sent

    async def tap(self, user: FakeUser, message: JSON, data: str) -> Sent:
        """Tap a button (callback data `data`) of one of the bot's messages."""

        def press() -> None:
            query = user.tap(int(message["message_id"]), data, strict=False)
            self.queries[query] = user.chat_id

        return await self.act(user, press, "tap")

    async def wait(self, user: FakeUser, sent: Sent, found: Callable[[Answer], bool]) -> Answer:
        """The first answer to the chat since `sent` that `found` accepts (the full reply)."""
        event = self.signals[user.chat_id]
        answers = self.answers[user.chat_id]
        position = sent.since
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            while position < len(answers):
                answer = answers[position]
                position += 1
                if found(answer):
                    self.full.append(answer.time - sent.at)
                    return answer
            event.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [(a.method, _text(a.message)[:60]) for a in answers[sent.since :]]
                raise TimeoutError(f"chat {user.chat_id}: not the expected reply; got {seen}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)


def _text(message: JSON | None) -> str:
    return str((message or {}).get("text") or (message or {}).get("caption") or "")


def _callback(answer: Answer, action: str, prefix: str) -> str | None:
    """The callback data of a button with this action (kaohe's `kind|version|action|arg|sig`)."""
    for button in inline_buttons((answer.message or {}).get("reply_markup")):
        parts = str(button.get("callback_data") or "").split("|")
        if len(parts) == 5 and parts[2] == action and parts[3].startswith(prefix):
            return "|".join(parts)
    return None


async def _button(
    h: Harness, user: FakeUser, sent: Sent, action: str, prefix: str = ""
) -> tuple[JSON, str]:
    """Wait for a message carrying a button with `action`; the message and its callback data."""
    answer = await h.wait(user, sent, lambda a: _callback(a, action, prefix) is not None)
    data = _callback(answer, action, prefix)
    assert answer.message is not None and data is not None
    return answer.message, data


def _new_message(answer: Answer) -> bool:
    return answer.method == "sendmessage" and answer.message is not None


def _receipt(answer: Answer) -> bool:
    return _new_message(answer) and not (answer.message or {}).get("reply_markup")


def png(seed: int) -> bytes:
    """A small valid PNG whose bytes differ by seed (each liaison's photo is new evidence)."""
    width, height = 16 + seed % 97, 12 + seed // 97 % 89

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + bytes([(seed + y) % 256]) * width for y in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _note(i: int) -> str:
    return f"第 {i + 1} 项本月按计划推进，已完成过半。"


# -- the liaisons ---------------------------------------------------------------------------


async def kaohe_liaison(h: Harness, user: FakeUser, tasks: int, seed: int) -> None:
    """One complete monthly report, tapped and typed as a person would."""
    await h.start(user)
    sent = await h.act(user, lambda: user.send_command("/report"), "tap")
    message, data = await _button(h, user, sent, "fill")
    sent = await h.tap(user, message, data)
    for i in range(tasks):
        message, data = await _button(h, user, sent, "st", f"{i}:1")  # on track
        sent = await h.tap(user, message, data)
        await h.wait(user, sent, _new_message)  # the key figure, please
        sent = await h.act(user, lambda: user.send_text("60%"))
        await _button(h, user, sent, "nn", str(i))  # a note, please
        sent = await h.act(user, partial(user.send_text, _note(i)))
        message, data = await _button(h, user, sent, "skip", str(i))  # any files?
        if i == 0:
            sent = await h.act(user, lambda: user.send_photo(png(seed), "现场照片"), "file")
            message, data = await _button(h, user, sent, "fd")  # received 1: Done
        sent = await h.tap(user, message, data)
    message, data = await _button(h, user, sent, "ok")  # the summary: Confirm
    sent = await h.tap(user, message, data)
    await h.wait(user, sent, _receipt)


async def echo_liaison(h: Harness, user: FakeUser, tasks: int, seed: int) -> None:
    """The same updates as a monthly report, each answered by the echo bot."""
    last: JSON = {}

    async def answered(sent: Sent) -> None:
        nonlocal last
        answer = await h.wait(user, sent, lambda a: True)
        last = answer.message or last

    await h.start(user)
    await answered(await h.act(user, lambda: user.send_command("/report"), "tap"))
    await answered(await h.tap(user, last, "fill"))
    for i in range(tasks):
        await answered(await h.tap(user, last, f"st{i}"))
        await answered(await h.act(user, lambda: user.send_text("60%")))
        await answered(await h.act(user, partial(user.send_text, _note(i))))
        if i == 0:
            photo = partial(user.send_photo, png(seed), "现场照片")
            await answered(await h.act(user, photo, "file"))
        await answered(await h.tap(user, last, "done"))
    await answered(await h.tap(user, last, "ok"))


Liaison = Callable[[Harness, FakeUser, int, int], Awaitable[None]]
LIAISONS: dict[str, Liaison] = {
    "echo": echo_liaison,
    "kaohe": kaohe_liaison,
}
KAOHE_BOTS = frozenset({"kaohe"})


# -- the bots -------------------------------------------------------------------------------


def serve_echo() -> None:
    """The floor: a bare python-telegram-bot echo bot (runs in the child process)."""
    from telegram import Update
    from telegram.ext import ApplicationBuilder, ContextTypes, TypeHandler

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            await update.callback_query.answer()
        elif update.effective_message is not None:
            await update.effective_message.reply_text(update.effective_message.text or "📎")

    app = (
        ApplicationBuilder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(os.environ["KAOHE_BOT_API_URL"])
        .base_file_url(os.environ["KAOHE_BOT_FILE_URL"])
        .build()
    )
    app.add_handler(TypeHandler(Update, echo))
    app.run_polling(allowed_updates=Update.ALL_TYPES)


def serve_kaohe() -> None:
    """kaohe's bot exactly as `kaohe run` starts it (runs in the child process)."""
    from cli.run import run_command

    run_command(verbose=False)


SERVE: dict[str, Callable[[], None]] = {
    "echo": serve_echo,
    "kaohe": serve_kaohe,
}


def seed_kaohe(url: str, liaisons: int, tasks: int) -> int:
    """Plans, one town per liaison with its tasks, and the liaisons; the year reported on."""
    from scoring import Group, Unit
    from services.access import Actor, Role
    from services.files.plan_file import default_plan_text
    from services.people import register_person, register_units
    from services.plans import load_plan
    from services.tasks import TaskInput, import_tasks
    from storage.clock import SystemClock
    from storage.database import open_database
    from storage.migrate import upgrade
    from storage.unit_of_work import UnitOfWork

    operator = Actor.operator("bench")
    database = open_database(url)
    try:
        upgrade(database)

        def uow() -> UnitOfWork:
            return UnitOfWork(database, SystemClock())

        today = datetime.now(SHANGHAI).date()
        years = sorted({today.year, (today.replace(day=1) - timedelta(days=1)).year})
        for year in years:
            load_plan(uow(), operator, default_plan_text(year), "bench")
        units = [Unit(f"u{n:03d}", f"测试镇{n:03d}", Group.TOWN) for n in range(liaisons)]
        register_units(uow(), operator, units)
        for n, unit in enumerate(units):
            register_person(
                uow(), operator, FIRST_USER_ID + n, f"联络员{n:03d}", Role.LIAISON, unit.code
            )
        for year in years:
            due = date(year, 12, 31)
            rows = [
                TaskInput(unit.code, f"T{k + 1:02d}", f"目标任务 {k + 1}", "区重点工作清单")
                for unit in units
                for k in range(tasks)
            ]
            rows = [
                replace(r, target="按计划推进", due_date=due, work_item="key_work") for r in rows
            ]
            import_tasks(uow(), operator, year, rows)
    finally:
        database.dispose()
    return today.year


def stored_reports(url: str) -> int:
    """How many monthly reports the kaohe bot stored."""
    from sqlalchemy import func, select

    from storage.database import open_database
    from storage.models import ProgressReport

    database = open_database(url)
    try:
        with database.engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(ProgressReport)).scalar_one()
            )
    finally:
        database.dispose()


async def start_bot(
    kind: str, server: FakeBotApi, folder: Path, log: Any
) -> asyncio.subprocess.Process:
    """The bot in a child process, polling `server`; returns once it polls."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAOHE_")}
    env.update(
        TELEGRAM_BOT_TOKEN=server.token,
        KAOHE_BOT_API_URL=server.base_url,
        KAOHE_BOT_FILE_URL=server.base_file_url,
        KAOHE_DATABASE_URL=f"sqlite:///{folder / 'kaohe.db'}",
        KAOHE_DATA_DIR=str(folder / "data"),
        PYTHONPATH=str(ROOT),
        PTB_TIMEDELTA="1",
    )
    profile = ["-m", "cProfile", "-o", str(PROFILE_DIR / f"{kind}.prof")] if PROFILE_DIR else []
    process = await asyncio.create_subprocess_exec(
        sys.executable, *profile, "-m", "bench.bench_bot", "--serve", kind,
        cwd=folder, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
    )  # fmt: skip
    await server.wait_for(
        lambda: server.calls("getUpdates") or process.returncode is not None, START_TIMEOUT
    )
    if process.returncode is not None:
        raise RuntimeError(f"the {kind} bot exited with {process.returncode}; see {log.name}")
    return process


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a running process (Linux /proc), 0 where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def stop_bot(process: asyncio.subprocess.Process) -> None:
    """Stop the bot as an operator would (SIGINT), killing it if it hangs."""
    process.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(process.wait(), 30)
    except TimeoutError:
        process.kill()
        await process.wait()


async def measure(
    kind: str, scenario: Scenario, liaisons: int, tasks: int, folder: Path
) -> Figures:
    """Run one bot against `liaisons` simultaneous monthly reports."""
    url = f"sqlite:///{folder / 'kaohe.db'}"
    if kind in KAOHE_BOTS:
        await asyncio.to_thread(seed_kaohe, url, liaisons, tasks)
    log_path = folder / f"{kind}.log"
    with log_path.open("wb") as log:
        async with FakeBotApi(TOKEN) as server:
            process = await start_bot(kind, server, folder, log)
            try:
                harness = Harness(server, scenario)
                users = [server.user(FIRST_USER_ID + n, f"联络员{n:03d}") for n in range(liaisons)]
                liaison = LIAISONS[kind]
                bot_cpu, harness_cpu = cpu_seconds(process.pid), time.process_time()
                requests = len(server.sent)
                results = await asyncio.gather(
                    *(liaison(harness, user, tasks, n) for n, user in enumerate(users)),
                    return_exceptions=True,
                )
                bot_cpu = cpu_seconds(process.pid) - bot_cpu
                requests = len(server.sent) - requests
                harness_cpu = time.process_time() - harness_cpu
            finally:
                await stop_bot(process)
            failures = [repr(r) for r in results if isinstance(r, BaseException)]
            if server.internal_errors:
                failures.append(f"fake Bot API errors: {server.internal_errors[:3]}")
    errors = [
        line for line in log_path.read_text(errors="replace").splitlines() if " ERROR " in line
    ]
    if errors:
        failures.append(f"{len(errors)} errors in the bot's log, the first: {errors[0]}")
    completed = liaisons - sum(isinstance(r, BaseException) for r in results)
    if kind in KAOHE_BOTS:
        completed = min(completed, await asyncio.to_thread(stored_reports, url))
    return Figures(
        bot=kind,
        scenario=scenario.name,
        liaisons=liaisons,
        updates=harness.updates,
        seconds=harness.last_answer - harness.first_update,
        first=harness.first,
        full=harness.full,
        completed=completed,
        requests=requests,
        bot_cpu=bot_cpu,
        harness_cpu=harness_cpu,
        failures=failures,
    )


def show(figures: list[Figures]) -> None:
    """The table, and how kaohe fares against the goals."""
    table = Table(title="bot benchmark: liaisons doing a full monthly report at once")
    columns = ["scenario", "bot", "done", "updates", "seconds", "updates/s", "p50 ms"]
    columns += ["p95 ms", "max ms", "full p50 ms", "full p95 ms", "requests/upd"]
    columns += ["bot CPU ms/upd", "harness CPU"]
    for column in columns:
        left = column in ("scenario", "bot")
        table.add_column(column, justify="left" if left else "right", no_wrap=left)
    for f in figures:
        cells = [f.scenario, f.bot, f"{f.completed}/{f.liaisons}", str(f.updates)]
        cells += [f"{f.seconds:.2f}", f"{f.rate:.0f}", f"{percentile(f.first, 50):.1f}"]
        cells += [f"{percentile(f.first, 95):.1f}", f"{max(f.first, default=0) * 1000:.1f}"]
        cells += [f"{percentile(f.full, 50):.1f}", f"{percentile(f.full, 95):.1f}"]
        cells += [f"{f.requests / max(f.updates, 1):.2f}"]
        cells += [f"{f.bot_cpu / max(f.updates, 1) * 1000:.1f}"]
        cells += [f"{f.harness_cpu / f.seconds:.0%}" if f.seconds else "-"]
        table.add_row(*cells)
    out.print(table)
    for f in figures:
        for failure in f.failures[:5]:
            out.print(f"{f.scenario} {f.bot}: {failure}", style="red", markup=False)
    found = {(f.scenario, f.bot): f for f in figures}
    for bot in sorted(KAOHE_BOTS):
        kaohe, echo = found.get((FLAT_OUT.name, bot)), found.get((FLAT_OUT.name, "echo"))
        if kaohe is not None and echo is not None and echo.rate:
            share = kaohe.rate / echo.rate
            verdict = "met" if share >= GOAL_SHARE else "NOT met"
            out.print(
                f"throughput ({FLAT_OUT.name}): {bot} {kaohe.rate:.0f}/s = {share:.0%} of "
                f"the echo bot's {echo.rate:.0f}/s (goal ≥ {GOAL_SHARE:.0%}): {verdict}"
            )
        paced = found.get((HUMAN_PACE.name, bot))
        if paced is not None:
            p95 = percentile(paced.first, 95)
            verdict = "met" if p95 < GOAL_P95_MS else "NOT met"
            out.print(
                f"p95 to the first answer ({HUMAN_PACE.name}): {bot} {p95:.1f} ms "
                f"(goal < {GOAL_P95_MS:.0f} ms): {verdict}"
            )


async def main_async(
    liaisons: int, tasks: int, bots: list[str], scenarios: list[Scenario]
) -> list[Figures]:
    """Measure each bot in each scenario, in a temporary folder of its own."""
    figures = []
    for scenario in scenarios:
        for kind in bots:
            with tempfile.TemporaryDirectory(prefix=f"kaohe-bench-{kind}-") as tmp:
                out.print(f"{scenario.name}: {kind}, {liaisons} liaisons × {tasks} tasks …")
                result = await measure(kind, scenario, liaisons, tasks, Path(tmp))
                if result.failures:
                    log = (Path(tmp) / f"{kind}.log").read_text(errors="replace")
                    out.print(log[-3000:], markup=False)
                figures.append(result)
    return figures


def main() -> None:
    """Run the benchmark (or, with --serve, be one of the bots)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--liaisons", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=3)
    parser.add_argument("--bots", default="echo,kaohe", help=f"of {', '.join(SERVE)}")
    parser.add_argument(
        "--scenarios", default="flat,human", help="flat (capacity) and/or human (latency)"
    )
    parser.add_argument("--think", type=float, default=1.0, help="scale of the think times")
    parser.add_argument("--ramp", type=float, default=HUMAN_PACE.ramp, help="start spread, s")
    parser.add_argument("--profile", type=Path, help="write each bot's cProfile stats here")
    parser.add_argument("--serve", choices=sorted(SERVE), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        SERVE[args.serve]()
        return
    global PROFILE_DIR
    PROFILE_DIR = args.profile.resolve() if args.profile else None
    bots = [b.strip() for b in args.bots.split(",") if b.strip()]
    unknown = sorted(set(bots) - set(SERVE))
    if unknown:
        parser.error(f"unknown bots {unknown}; choose from {sorted(SERVE)}")
    human = Scenario(HUMAN_PACE.name, args.think, args.ramp)
    known = {"flat": FLAT_OUT, "human": human}
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    if not names or set(names) - set(known):
        parser.error("--scenarios takes flat and/or human")
    show(asyncio.run(main_async(args.liaisons, args.tasks, bots, [known[n] for n in names])))


if __name__ == "__main__":
    main()
