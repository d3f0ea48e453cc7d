"""`kaohe console`: the real bot on the fake Telegram, driven through the console's loop."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rich.console import Console

from bot.console import (
    CONSOLE_TOKEN,
    SAMPLE_USERS,
    ConsoleCompanion,
    ConsoleSession,
    console_archive_dir,
    console_bot,
    console_clock,
    console_database_path,
    console_database_url,
    prepare_database,
    reset_console,
    seed_sample,
    styled,
)
from bot.fake_bot_api import parse_html
from bot.jobs import SCHEDULER_ID, send_reminders
from services.access import Actor, Role
from services.people import list_people, register_person
from services.settings import Settings
from services.tasks import tasks_of_year
from storage.database import open_database
from storage.migrate import upgrade
from storage.unit_of_work import UnitOfWork
from tests.fakes.bot_api import tiny_png
from tests.texts import said, text_of

ROOT = Path(__file__).resolve().parents[2]
OPERATOR = Actor.operator("test")


@dataclass
class Terminal:
    """The console as a person sees it: type a line, read what it printed since."""

    session: ConsoleSession
    buffer: io.StringIO
    folder: Path
    lines: list[str] = field(default_factory=list)

    async def type(self, line: str) -> str:
        """Handle one line; the output it produced."""
        start = len(self.buffer.getvalue())
        assert await self.session.handle(line), f"{line!r} ended the console"
        return self.buffer.getvalue()[start:]


def _settings(folder: Path) -> Settings:
    return Settings(
        data_dir=folder / "data",
        database_url=None,
        language="zh",
        admin_ids=[],
        _env_file=None,  # type: ignore[call-arg]
    )


@asynccontextmanager
async def console(
    folder: Path, template: Path, companions: Sequence[ConsoleCompanion] = ()
) -> AsyncIterator[Terminal]:
    """A console on a fresh copy of the migrated database, seeded with the sample district."""
    settings = _settings(folder)
    path = console_database_path(settings)
    path.parent.mkdir(parents=True)
    shutil.copyfile(template, path)
    database = open_database(console_database_url(settings))
    clock = console_clock(settings, restart=True)
    assert prepare_database(database, clock).seeded
    buffer = io.StringIO()
    out = Console(file=buffer, width=200, color_system=None, highlight=False, soft_wrap=True)
    try:
        async with console_bot(settings, database, clock, out, companions) as session:
            yield Terminal(session, buffer, folder)
            assert session.server.internal_errors == []
    finally:
        database.dispose()


@pytest.fixture
async def terminal(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Terminal]:
    """A running console, typing as the first sample user (店子镇's liaison)."""
    async with console(tmp_path, sqlite_template) as term:
        yield term


# -- the sample district --------------------------------------------------------------------


def test_the_sample_district_is_seeded_once_with_tasks_findings_and_users(
    sqlite_template: Path, tmp_path: Path
) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'console.db'}")
    shutil.copyfile(sqlite_template, tmp_path / "console.db")
    clock = console_clock(_settings(tmp_path), restart=True)
    try:
        first = prepare_database(database, clock)
        second = seed_sample(database, clock)
        people = list_people(UnitOfWork(database, clock), OPERATOR)
        tasks = tasks_of_year(UnitOfWork(database, clock), OPERATOR, 2025)
    finally:
        database.dispose()
    assert (first.seeded, first.units, first.findings, first.people) == (True, 23, 2, 3)
    assert (second.seeded, second.sample_users) == (False, True)
    assert sorted(p.telegram_user_id or 0 for p in people) == [10001, 10002, 10003]
    assert len(tasks) == first.tasks == 30
    assert {t.unit_code for t in tasks if t.code == "T01"} >= {"dianzi", "xiji"}


def test_a_database_with_other_data_gets_no_sample_district_and_no_sample_users(
    tmp_path: Path,
) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'other.db'}")
    clock = console_clock(_settings(tmp_path), restart=True)
    try:
        upgrade(database)
        register_person(UnitOfWork(database, clock), OPERATOR, 777, "某人", Role.COORDINATOR)
        result = seed_sample(database, clock)
        people = list_people(UnitOfWork(database, clock), OPERATOR)
    finally:
        database.dispose()
    assert (result.seeded, result.sample_users) == (False, False)
    assert [p.telegram_user_id for p in people] == [777]


def test_the_console_clock_runs_on_from_the_sample_year_across_runs(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    first = console_clock(settings, restart=True)
    again = console_clock(settings)
    assert first.now().year == 2025
    assert again.anchor == first.anchor
    earlier = first.now()
    assert again.now() >= earlier


# -- typing as sample users -----------------------------------------------------------------


async def test_a_liaison_sees_their_units_tasks_and_a_colleague_sees_theirs(
    terminal: Terminal,
) -> None:
    mine = await terminal.type("/tasks")
    assert "店子镇" in mine
    assert "T01" in mine and "重点项目开工建设" in mine
    switched = await terminal.type(":as 2")
    assert "李强" in switched and "西集镇" in switched
    theirs = await terminal.type("/tasks")
    assert "西集镇" in theirs
    assert "店子镇" not in theirs


async def test_users_lists_everyone_and_marks_who_is_typing(terminal: Terminal) -> None:
    await terminal.type(":as 3")
    listing = await terminal.type(":users")
    lines = [line for line in listing.splitlines() if ". " in line]
    assert [line.startswith("*") for line in lines] == [False, False, True, False]
    assert text_of("people.role_coordinator") in lines[2]
    assert text_of("console.unregistered") in lines[3]
    assert (await terminal.type(":as 9")).count("没有第 9 号用户") == 1
    assert text_of("console.usage_as") in await terminal.type(":as x")


async def test_a_newcomer_is_refused_then_joins_with_an_invitation(terminal: Terminal) -> None:
    await terminal.type(":as 4")
    refused = await terminal.type("你好")
    assert said("common.unknown_account") in refused
    made = await terminal.type(":invite sangcun")
    code = made.split("/start ")[1].split()[0]
    joined = await terminal.type(f"/start {code}")
    assert "桑村镇" in joined
    assert text_of("people.role_liaison") in await terminal.type(":users")


async def test_an_invitation_for_an_unknown_unit_says_why(terminal: Terminal) -> None:
    answer = await terminal.type(":invite nowhere")
    assert "邀请码没有生成" in answer
    assert "dianzi" in await terminal.type(":invite")


async def test_a_report_starts_by_tapping_numbered_buttons_and_takes_files(
    terminal: Terminal,
) -> None:
    photo = terminal.folder / "site.png"
    photo.write_bytes(tiny_png(40, 30))
    other_photo = terminal.folder / "site2.png"
    other_photo.write_bytes(tiny_png(30, 40))
    document = terminal.folder / "ledger.pdf"
    document.write_bytes(b"%PDF-1.4 ledger")

    opened = await terminal.type("/report")
    assert "[1]" in opened and "[2]" in opened
    first_task = await terminal.type(":tap 1")
    assert "T01" in first_task
    statuses = [line for line in first_task.splitlines() if "[1]" in line or "[3]" in line]
    assert statuses, first_task
    await terminal.type(":tap 2")  # on track
    await terminal.type("60")
    await terminal.type("已完成项目选址")
    sent_photo = await terminal.type(f":file {photo} 现场照片")
    assert "[1]" in sent_photo  # the collection's Done button
    await terminal.type(f":file {document}")
    await terminal.type(f":album {photo} {other_photo}")

    server = terminal.session.server
    chat = server.state.chat_of(SAMPLE_USERS[0].telegram_id)
    sent = [m for m in chat.messages.values() if m["from"]["id"] == chat.user.id]
    assert sum("photo" in m for m in sent) == 3
    assert [m["document"]["mime_type"] for m in sent if "document" in m] == ["application/pdf"]
    assert len({m["media_group_id"] for m in sent if "media_group_id" in m}) == 1
    archive = terminal.folder / "data" / "console-archive"
    assert console_archive_dir(_settings(terminal.folder)) == archive
    assert not (terminal.folder / "data" / "archive").exists()  # the bot's archive, untouched
    archived = [p for p in archive.rglob("*") if p.is_file()]
    assert len(archived) == 3  # the repeated photo is the same evidence


async def test_taps_and_files_that_cannot_be_done_are_explained(terminal: Terminal) -> None:
    assert text_of("console.no_buttons") in await terminal.type(":tap 1")
    await terminal.type("/report")
    assert text_of("console.bad_button", value="99", count=3) in await terminal.type(":tap 99")
    assert "用法" in await terminal.type(":tap")
    assert text_of(
        "console.file_missing", path="/no/such/file.png", reason="No such file or directory"
    ) in await terminal.type(":file /no/such/file.png")
    assert "用法" in await terminal.type(":file")
    assert "用法" in await terminal.type(":album only-one.png")


async def test_console_commands_help_unknown_ones_and_quit(terminal: Terminal) -> None:
    assert ":tap" in await terminal.type(":help")
    assert text_of("console.unknown_command", command=":frob") in await terminal.type(":frob")
    await terminal.type("::)")
    chat = terminal.session.server.state.chat_of(SAMPLE_USERS[0].telegram_id)
    assert any(m.get("text") == ":)" for m in chat.messages.values())
    assert await terminal.session.handle(":quit") is False


async def test_the_bots_messages_to_someone_else_are_labelled_with_their_name(
    terminal: Terminal,
) -> None:
    await terminal.type(":as 2")
    await terminal.type("/start")
    await terminal.type(":as 1")
    start = len(terminal.buffer.getvalue())
    terminal.session.server.user(SAMPLE_USERS[1].telegram_id).send_command("/help")
    await terminal.session.settle()
    assert text_of("console.bot_to", name="李强") in terminal.buffer.getvalue()[start:]


async def test_every_sample_person_is_reachable_and_sees_their_reminders_as_they_come(
    terminal: Terminal,
) -> None:
    server = terminal.session.server
    assert set(server.state.chats) == {user.telegram_id for user in SAMPLE_USERS}
    start = len(terminal.buffer.getvalue())
    app = terminal.session.app
    result = await send_reminders(app.bot_data["deps"], app.bot, app.bot_data[SCHEDULER_ID])
    await terminal.session.settle()
    shown = terminal.buffer.getvalue()[start:]
    # 赵敏, the coordinator, who never typed a word, gets the overdue units and their digest.
    assert result.failed == 0 and result.sent >= 1, result
    assert text_of("console.bot_to", name="赵敏") in shown
    assert "chat not found" not in shown and "Bot API" not in shown
    coordinator = server.state.chat_of(SAMPLE_USERS[2].telegram_id)
    assert any(m["from"]["id"] != coordinator.user.id for m in coordinator.messages.values())


def test_reset_removes_the_console_database_clock_and_archive_but_nothing_else(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    data = tmp_path / "data"
    for name in ("console.db", "console.db-wal", "console.clock", "kaohe.db"):
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_text("x")
    for folder in ("console-archive/ab", "archive/ab"):
        (data / folder).mkdir(parents=True)
        (data / folder / "abcd.png").write_bytes(b"png")
    reset_console(settings)
    left = sorted(str(p.relative_to(data)) for p in data.rglob("*") if p.is_file())
    assert left == ["archive/ab/abcd.png", "kaohe.db"]
    shared = settings.model_copy(update={"archive_dir": data / "archive"})
    reset_console(shared)  # an archive named in the settings is never the console's to clear
    assert (data / "archive" / "ab" / "abcd.png").exists()


def test_bold_and_other_entities_keep_their_place_after_emoji() -> None:
    text, entities = parse_html("🟢 <b>加粗</b> 与 <i>斜体</i>")
    shown = styled(text, entities)
    spans = {(text[s.start : s.end], str(s.style)) for s in shown.spans}
    assert spans == {("加粗", "bold"), ("斜体", "italic")}


# -- the command itself ---------------------------------------------------------------------


def _kaohe_console(folder: Path, *args: str, stdin: str, script: str = "") -> str:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KAOHE_")}
    env.update(KAOHE_DATA_DIR=str(folder / "data"), KAOHE_LANGUAGE="zh", PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "cli.app", "console", *args]
    if stdin == "closed":
        command = ["bash", "-c", 'exec "$@" <&-', "kaohe", *command]
    result = subprocess.run(
        command,
        cwd=folder,
        env=env,
        input=script if stdin == "script" else None,
        stdin=subprocess.DEVNULL if stdin == "empty" else None,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


@pytest.mark.parametrize("stdin", ["closed", "empty"])
def test_kaohe_console_without_input_shows_the_sample_and_exits_cleanly(
    tmp_path: Path, stdin: str
) -> None:
    output = _kaohe_console(tmp_path, stdin=stdin)
    assert "kaohe 控制台" in output
    assert "已写入示例数据" in output
    assert "再见" in output
    assert (tmp_path / "data" / "console.db").exists()


def test_kaohe_console_reads_a_script_and_starts_again_with_reset(tmp_path: Path) -> None:
    first = _kaohe_console(tmp_path, stdin="script", script="/tasks\n:quit\n")
    assert "T01" in first
    reset = _kaohe_console(tmp_path, "--reset", stdin="script", script="/help\n")
    assert "已写入示例数据" in reset
    assert "/report" in reset


async def test_the_console_serves_the_dashboard_and_prints_a_login_link(
    sqlite_template: Path, tmp_path: Path
) -> None:
    import re

    import httpx

    from cli.dashboard import DashboardCompanion

    dashboard = DashboardCompanion("127.0.0.1", 0, CONSOLE_TOKEN)
    async with console(tmp_path, sqlite_template, [dashboard]) as term:
        [note] = term.session.notes
        match = re.search(r"(http://127\.0\.0\.1:\d+)/login\?token=([\w-]+)", note)
        assert match is not None, note
        async with httpx.AsyncClient(base_url=match.group(1)) as web:
            signed_in = await web.post("/login", data={"token": match.group(2)})
            assert signed_in.status_code == 303
            me = (await web.get("/api/me")).json()
            assert me["user"]["name"] == "赵敏" and me["user"]["role"] == "coordinator"
            standings = await web.get("/api/standings?year=2025")
            assert standings.status_code == 200
    assert not dashboard.running
