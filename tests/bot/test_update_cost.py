"""What one update costs the database: a report step reads once and writes once (issue 12).

The gate reads the person and their dialogs in one statement; the dialog's step is saved in
one write transaction of one UPDATE, before the answer. Counted through the engine's
events, on SQLite and on PostgreSQL, so the saving cannot silently regress.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from bot.fake_bot_api import FakeUser
from services import dialogs as dialog_service
from services.access import Role
from services.people import Admission, admit, deactivate_person, list_people
from services.tasks import TaskInput, import_tasks
from storage.database import open_database
from tests.bot.world import OPERATOR, BotWorld, bot_world
from tests.conftest import _truncate_all

TASKS = [
    TaskInput("dianzi", "T1", "招商引资项目落地", "区重点工作清单", "签约 5 个项目",
              date(2025, 6, 30), "key_work"),
    TaskInput("dianzi", "T2", "老旧小区改造", "区重点工作清单", "完成 3 个小区",
              date(2025, 9, 30), "key_work"),
]  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
async def any_world(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path
) -> AsyncIterator[BotWorld]:
    """A bot world on SQLite and on PostgreSQL; the test fails if a handler raised."""
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        database = open_database(url)
        _truncate_all(database)
        database.dispose()
    async with bot_world(sqlite_template, tmp_path, database_url=url) as world:
        yield world
        assert world.errors == []


@dataclass
class Transactions:
    """Transactions begun and committed, and statements run (BEGIN aside), on an engine."""

    begun: int = 0
    committed: int = 0
    statements: list[str] = field(default_factory=list)


@contextmanager
def counted(engine: Engine) -> Iterator[Transactions]:
    """Count what happens on `engine` (and the read-only engine made from it) meanwhile."""
    seen = Transactions()

    def begin(connection: Any) -> None:
        seen.begun += 1

    def commit(connection: Any) -> None:
        seen.committed += 1

    def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        if not sql.lstrip().upper().startswith("BEGIN"):
            seen.statements.append(sql.split()[0].upper())

    event.listen(engine, "begin", begin)
    event.listen(engine, "commit", commit)
    event.listen(engine, "before_cursor_execute", statement)
    try:
        yield seen
    finally:
        event.remove(engine, "begin", begin)
        event.remove(engine, "commit", commit)
        event.remove(engine, "before_cursor_execute", statement)


async def tap(world: BotWorld, user: FakeUser, label: str) -> None:
    """Tap the button `label` of the latest message offering it."""
    for message in reversed(world.server.messages_to(user.id)):
        if any(text == label for text, _ in message.buttons):
            user.tap(message, message.callback_data(label))
            await world.step()
            return
    raise KeyError(f"no message with a button {label!r}")


async def report_started(world: BotWorld) -> FakeUser:
    """A liaison of 店子镇 with two tasks, in the report of March at its first task."""
    import_tasks(world.uow(), OPERATOR, 2025, TASKS)
    user = await world.join(1001)
    user.send_command("/report")
    await world.step()
    if "2025 年 3 月进展报送" not in world.last(user).text:
        await tap(world, user, "📅 改报 3 月")
    await tap(world, user, "📝 逐项填写")
    assert "任务 1/2" in world.last(user).text
    return user


async def test_each_step_of_a_report_is_one_read_and_one_write(any_world: BotWorld) -> None:
    world = any_world
    user = await report_started(world)
    steps = [
        ("tap a status", lambda: tap(world, user, "正常推进")),
        ("type the figure", lambda: _say(world, user, "60%")),
        ("type a note", lambda: _say(world, user, "已签约 3 个项目")),
        ("skip the files", lambda: tap(world, user, "⏭ 跳过")),
    ]
    for what, step in steps:
        with counted(world.database.engine) as seen:
            await step()
        # The gate's read (the person with their dialogs) and the step's save (one UPDATE).
        assert (what, seen.begun, seen.committed) == (what, 2, 1)
        assert (what, seen.statements) == (what, ["SELECT", "UPDATE"])
    assert "任务 2/2" in world.last(user).text
    draft = dialog_service.current_dialog(world.uow(), list_people(world.uow(), OPERATOR)[0].id)
    assert draft is not None and draft.step == "status"
    [entry] = draft.data["entries"].values()
    assert (entry["status"], entry["figure"], entry["note"]) == (
        "on_track",
        "60%",
        "已签约 3 个项目",
    )


async def _say(world: BotWorld, user: FakeUser, text: str) -> None:
    user.send_text(text)
    await world.step()


async def test_a_stale_button_is_still_answered_after_the_gate_read_the_dialogs(
    any_world: BotWorld,
) -> None:
    world = any_world
    user = await report_started(world)
    [first_question] = [
        m for m in world.server.messages_to(user.id) if "任务 1/2" in m.text and m.buttons
    ]
    user.send_command("/cancel")  # the draft is dropped: its buttons expire
    await world.step()
    query = user.tap(first_question, first_question.callback_data("正常推进"))
    await world.step()
    answered = world.server.answer_to(query)
    assert answered is not None and "过期" in (answered.text or "")


async def test_the_gate_reads_the_dialogs_the_services_would_read(any_world: BotWorld) -> None:
    world = any_world
    user = await report_started(world)
    person_id = list_people(world.uow(), OPERATOR)[0].id
    user.send_command("/language")  # a second dialog, now the current one
    await world.step()
    admission = admit(world.deps.read_uow(), user.id)
    assert admission.session is not None and admission.session.actor.person_id == person_id
    assert admission.session.unit_name == "店子镇"
    shelf = admission.dialogs
    assert shelf is not None
    assert shelf.current() == dialog_service.current_dialog(world.uow(), person_id)
    for kind in ("report", "language", "finding"):
        expected = dialog_service.dialog_for_button(world.uow(), person_id, kind)
        assert shelf.for_button(kind) == expected
    assert shelf.for_button("report")[1] is False and shelf.for_button("language")[1] is True
    dialog_service.end_dialog(world.uow(), person_id, "language")
    dialog_service.end_dialog(world.uow(), person_id, "report")
    shelf = admit(world.deps.read_uow(), user.id).dialogs
    assert shelf is not None and shelf.current() is None
    assert shelf.for_button("report") == (None, False)


async def test_an_unknown_or_deactivated_account_is_admitted_with_nothing(
    any_world: BotWorld,
) -> None:
    world = any_world
    assert admit(world.deps.read_uow(), 4242) == Admission(None, None)
    await world.join(1002, Role.COORDINATOR, None)
    admission = admit(world.deps.read_uow(), 1002)
    assert admission.session is not None and admission.session.unit_name is None
    assert admission.dialogs is not None and admission.dialogs.current() is None
    assert admission.session.actor.person_id is not None
    deactivate_person(world.uow(), OPERATOR, admission.session.actor.person_id)
    assert admit(world.deps.read_uow(), 1002) == Admission(None, None)


async def test_the_menu_is_set_after_the_first_answer_not_before_it(any_world: BotWorld) -> None:
    world = any_world
    user = await world.join(1001)
    before = len(world.server.sent)
    user.send_command("/help")
    await world.step()
    methods = [call.method.lower() for call in world.server.sent[before:]]
    assert methods.index("sendmessage") < methods.index("setmycommands")
    scope = {"type": "chat", "chat_id": 1001}
    assert [c["command"] for c in world.server.commands_for(scope)][:2] == ["tasks", "report"]
    user.send_command("/help")  # once per process: not again
    await world.step()
    assert len(world.server.calls("setMyCommands")) == methods.count("setmycommands")


async def test_a_language_change_sets_the_menu_in_the_new_language_once(
    any_world: BotWorld,
) -> None:
    world = any_world
    user = await world.join(1001)
    user.send_command("/help")
    await world.step()
    scope = {"type": "chat", "chat_id": 1001}
    chinese = world.server.commands_for(scope)
    set_before = len(world.server.calls("setMyCommands"))
    user.send_command("/language", "en")
    await world.step()
    # The update that changed the language read the person before it: it leaves the menu.
    assert len(world.server.calls("setMyCommands")) == set_before
    user.send_command("/help")
    await world.step()
    assert len(world.server.calls("setMyCommands")) == set_before + 1
    english = world.server.commands_for(scope)
    assert [c["command"] for c in english] == [c["command"] for c in chinese]
    assert english != chinese
