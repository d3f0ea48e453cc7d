"""The gate fails closed: an update it could not clear goes no further, whatever failed (the
refusal could not be sent, the database is down), and no check relies on `assert`."""

from __future__ import annotations

import pytest
from telegram import Update

from bot.context import KaoheContext, NotAdmitted, registered
from bot.handlers.router import DialogRouter
from services.access import Role
from services.people import deactivate_person, list_people
from storage.errors import DatabaseUnavailable
from tests.bot.world import OPERATOR, BotWorld


async def test_when_the_refusal_cannot_be_sent_the_update_goes_no_further(
    world: BotWorld,
) -> None:
    stranger = world.server.user(5005, first_name="陌生人")
    world.server.fail_next("sendMessage", 403, chat_id=stranger.id)
    stranger.send_text("你好")
    await world.step()
    [refusal] = world.server.calls("sendMessage")
    assert refusal.status == 403  # the one line could not be sent, and nothing else was tried
    assert world.errors == []
    assert world.texts(stranger) == []


async def test_a_tap_of_a_stranger_whose_answer_fails_goes_no_further(world: BotWorld) -> None:
    user = await world.join(1001)
    user.send_command("/language")
    await world.step()
    message = world.last(user)
    # The same chat, but the account is no longer registered (deactivated meanwhile).
    [person] = list_people(world.uow(), OPERATOR)
    deactivate_person(world.uow(), OPERATOR, person.id)
    before = len(world.server.sent)
    world.server.fail_next("answerCallbackQuery", 500)
    user.tap(message, message.callback_data("English"))
    await world.step()
    assert [c.method for c in world.server.sent[before:]] == ["answerCallbackQuery"]
    assert world.errors == []


async def test_when_the_database_is_down_the_gate_apologises_and_stops(
    world: BotWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await world.join(1001)

    def unavailable(*args: object) -> None:
        raise DatabaseUnavailable("unreachable", "connection refused")

    monkeypatch.setattr("bot.handlers.gate.admit", unavailable)
    before = len(world.texts(user))
    user.send_command("/help")
    await world.step()
    [apology] = world.texts(user)[before:]  # and no help after it
    assert "出了问题" in apology
    assert [type(e) for e in world.errors] == [DatabaseUnavailable]


async def test_a_menu_that_cannot_be_set_does_not_stop_a_registered_person(
    world: BotWorld,
) -> None:
    user = world.server.user(1001, first_name="张三")
    user.send_command("/start", world.invite(Role.LIAISON, "dianzi"))
    await world.step()
    world.server.fail_next("setMyCommands", 500)
    user.send_command("/help")
    await world.step()
    assert "/report" in world.texts(user)[-1]
    assert world.errors == []


async def test_a_handler_reached_without_a_person_refuses_without_assert(
    world: BotWorld,
) -> None:
    # What `python -O` would leave of an assert is nothing; the check must be a real one.
    stranger = world.server.user(5005, first_name="陌生人")
    payload = stranger.send_text("你好")
    update = Update.de_json({"update_id": 1, "message": payload}, world.app.bot)
    context = KaoheContext(world.app, chat_id=stranger.id, user_id=stranger.id)
    assert context.who is None
    with pytest.raises(NotAdmitted):
        registered(context)
    router = DialogRouter({})
    for handler in (router.text, router.file, router.button, router.command):
        with pytest.raises(NotAdmitted):
            await handler(update, context)
    assert world.texts(stranger) == []
