"""The bot's foundation: joining, the gate, help, cancel, language, buttons, odd messages."""

from __future__ import annotations

import logging

import pytest

from bot.buttons import Payload
from services.access import Role
from services.people import list_people
from tests.bot.world import OPERATOR, BotWorld
from tests.texts import said, text_of


async def test_a_liaison_joins_with_an_invitation_and_sees_their_unit(world: BotWorld) -> None:
    user = await world.join(1001, Role.LIAISON, "dianzi", "张三")
    texts = world.texts(user)
    assert "店子镇" in texts[0]
    assert text_of("people.role_liaison") in texts[0]
    people = list_people(world.uow(), OPERATOR)
    assert [(p.telegram_user_id, p.role, p.unit_code) for p in people] == [
        (1001, "liaison", "dianzi")
    ]


async def test_a_used_expired_or_unknown_code_is_refused_the_same_way(world: BotWorld) -> None:
    code = world.invite(Role.LIAISON, "xiji")
    first = world.server.user(2001)
    first.send_command("/start", code)
    await world.step()
    second = world.server.user(2002)
    second.send_command("/start", code)  # used
    stranger = world.server.user(2003)
    stranger.send_command("/start", "no-such-code")  # unknown
    late = world.server.user(2004)
    expired = world.invite(Role.LIAISON, "xiji")
    world.clock.advance(days=8)
    late.send_command("/start", expired)  # expired
    await world.step()
    answers = {world.texts(u)[-1] for u in (second, stranger, late)}
    assert len(answers) == 1
    assert said("errors.invite_invalid") in answers.pop()


async def test_an_unknown_account_gets_one_polite_line_for_anything(world: BotWorld) -> None:
    user = world.server.user(3001)
    user.send_text("你好")
    user.send_command("/report")
    user.send_command("/start")
    user.send_sticker()
    await world.step()
    texts = world.texts(user)
    assert len(texts) == 4
    assert all(said("common.unknown_account") in t for t in texts)
    assert list_people(world.uow(), OPERATOR) == []


async def test_help_is_by_role(world: BotWorld) -> None:
    liaison = await world.join(1001)
    liaison.send_command("/help")
    await world.step()
    assert "/report" in world.texts(liaison)[-1]


async def test_a_liaison_gets_the_menu_of_their_role(world: BotWorld) -> None:
    liaison = await world.join(1001)
    liaison.send_command("/help")
    await world.step()
    commands = [c["command"] for c in world.server.commands_for({"type": "chat", "chat_id": 1001})]
    assert commands[:3] == ["tasks", "report", "rectify"]


async def test_language_can_be_switched_to_english(world: BotWorld) -> None:
    user = await world.join(1001)
    user.send_command("/language")
    await world.step()
    message = world.last(user)
    user.tap(message, message.callback_data("English"))
    await world.step()
    assert "English" in world.texts(user)[-1]
    user.send_command("/help")
    await world.step()
    assert "What a liaison officer can do" in world.texts(user)[-1]


async def test_a_forged_button_is_refused_and_changes_nothing(world: BotWorld) -> None:
    user = await world.join(1001)
    user.send_command("/language")
    await world.step()
    message = world.last(user)
    data = message.callback_data("English")
    forged = data.replace("|en|", "|zh|") if "|en|" in data else data[:-1] + "x"
    query = user.tap(message, forged, strict=False)
    await world.step()
    assert text_of("common.button_invalid") in (world.server.answer_to(query).text or "")


async def test_a_button_of_a_finished_dialog_answers_that_it_expired(world: BotWorld) -> None:
    user = await world.join(1001)
    user.send_command("/language")
    await world.step()
    message = world.last(user)
    user.tap(message, message.callback_data(text_of("common.language_name")))
    await world.step()
    query = user.tap(message, message.callback_data("English"), strict=False)
    await world.step()
    assert "过期" in (world.server.answer_to(query).text or "")
    assert "过期" in world.texts(user)[-1]


async def test_a_button_payload_signed_with_another_secret_is_refused(world: BotWorld) -> None:
    from bot.buttons import ButtonSigner

    user = await world.join(1001)
    user.send_command("/language")
    await world.step()
    message = world.last(user)
    other = ButtonSigner(b"someone else").dump(Payload("language", 1, "set", "en"))
    query = user.tap(message, other, strict=False)
    await world.step()
    assert text_of("common.button_invalid") in (world.server.answer_to(query).text or "")


async def test_stickers_voice_and_edits_get_a_clear_answer(world: BotWorld) -> None:
    user = await world.join(1001)
    user.send_sticker()
    user.send_voice()
    sent = user.send_text("第一稿")
    user.edit_text(sent["message_id"], "第二稿")
    await world.step()
    texts = world.texts(user)
    assert (
        said("common.message_kind_not_used") in texts[-4]
        or said("common.message_kind_not_used") in texts[-3]
    )
    assert said("common.edits_not_read") in texts[-1]


async def test_cancel_without_a_dialog_says_there_is_nothing(world: BotWorld) -> None:
    user = await world.join(1001)
    user.send_command("/cancel")
    await world.step()
    assert said("common.nothing_to_cancel") in world.texts(user)[-1]


async def test_an_unknown_command_is_answered(world: BotWorld) -> None:
    user = await world.join(1001)
    user.send_command("/frobnicate")
    await world.step()
    assert said("common.unknown_command") in world.texts(user)[-1]


async def test_a_deactivated_person_is_treated_as_unknown(world: BotWorld) -> None:
    from services.people import deactivate_person

    user = await world.join(1001)
    person = list_people(world.uow(), OPERATOR)[0]
    deactivate_person(world.uow(), OPERATOR, person.id)
    user.send_command("/help")
    await world.step()
    assert said("common.unknown_account") in world.texts(user)[-1]


async def test_an_admin_listed_in_the_settings_is_registered_on_first_contact(
    sqlite_template: object, tmp_path: object
) -> None:
    from pathlib import Path

    from tests.bot.world import bot_world

    assert isinstance(sqlite_template, Path) and isinstance(tmp_path, Path)
    async with bot_world(sqlite_template, tmp_path, admin_ids=(9001,)) as world:
        admin = world.server.user(9001, first_name="管理员")
        admin.send_command("/help")
        await world.step()
        assert said("help.admin") in world.texts(admin)[-1]
        people = list_people(world.uow(), OPERATOR)
        assert [(p.telegram_user_id, p.role) for p in people] == [(9001, "admin")]


async def test_a_settings_admin_is_checked_with_the_read_and_made_admin_again_if_deactivated(
    sqlite_template: object, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    import bot.handlers.gate as gate
    from services.people import deactivate_person
    from tests.bot.world import bot_world

    assert isinstance(sqlite_template, Path) and isinstance(tmp_path, Path)
    ensured: list[int] = []
    ensure = gate.ensure_admin

    def counted(uow: object, telegram_user_id: int, name: str) -> None:
        ensured.append(telegram_user_id)
        ensure(uow, telegram_user_id, name)  # type: ignore[arg-type]

    monkeypatch.setattr(gate, "ensure_admin", counted)
    async with bot_world(sqlite_template, tmp_path, admin_ids=(9001,)) as world:
        admin = world.server.user(9001, first_name="管理员")
        admin.send_command("/help")
        await world.step()
        assert ensured == [9001]  # first contact: made an admin
        admin.send_command("/help")
        await world.step()
        assert ensured == [9001]  # already one: the gate's read said so, no second trip
        assert said("help.admin") in world.texts(admin)[-1]
        # Someone deactivates the account: the next update makes it an active admin again
        # (KAOHE_ADMIN_IDS decides).
        [person] = list_people(world.uow(), OPERATOR)
        deactivate_person(world.uow(), OPERATOR, person.id)
        admin.send_command("/help")
        await world.step()
        assert ensured == [9001, 9001]
        assert said("help.admin") in world.texts(admin)[-1]
        assert [(p.telegram_user_id, p.role) for p in list_people(world.uow(), OPERATOR)] == [
            (9001, "admin")
        ]
        assert world.errors == []


async def test_an_error_in_a_handler_is_told_to_the_user_and_logged_without_the_token(
    world: BotWorld, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.logging_setup import RedactSecrets

    user = await world.join(1001)

    async def broken(update: object, context: object) -> None:
        raise RuntimeError(f"boom with {world.server.token}")

    from telegram.ext import CommandHandler

    [help_handler] = [
        h for h in world.app.handlers[0] if isinstance(h, CommandHandler) and "help" in h.commands
    ]
    monkeypatch.setattr(help_handler, "callback", broken)
    caplog.handler.addFilter(RedactSecrets([world.server.token]))
    with caplog.at_level(logging.ERROR):
        user.send_command("/help")
        await world.step()
    assert said("common.something_went_wrong") in world.texts(user)[-1]
    assert world.server.token not in caplog.text
    assert "boom with ***" in caplog.text


async def test_joining_through_the_real_updater_binds_the_account(
    sqlite_template: object, tmp_path: object
) -> None:
    from pathlib import Path

    from tests.bot.world import bot_world

    assert isinstance(sqlite_template, Path) and isinstance(tmp_path, Path)
    async with bot_world(sqlite_template, tmp_path, updater=True) as world:
        code = world.invite(Role.LIAISON, "xiji")
        async with world.polling():
            user = world.server.user(4242, first_name="李强")
            user.send_command("/start", code)
            await world.server.wait_for(lambda: len(world.texts(user)) >= 2, timeout=10)
            user.send_command("/tasks")
            await world.server.wait_for(lambda: len(world.texts(user)) >= 3, timeout=10)
        assert "西集镇" in world.texts(user)[0]
        people = list_people(world.uow(), OPERATOR)
        assert [(p.telegram_user_id, p.unit_code) for p in people] == [(4242, "xiji")]


async def test_an_error_after_a_tap_reaches_the_person_as_a_message(
    world: BotWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await world.join(1001)
    user.send_command("/language")
    await world.step()

    def failing(*args: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr("bot.handlers.common.set_language", failing)
    message = world.last(user)
    tap = user.tap(message, message.callback_data("English"))
    await world.step()
    assert world.server.answer_to(tap) is not None  # the spinner stopped
    assert said("common.something_went_wrong") in world.texts(user)[-1]
    assert [str(e) for e in world.errors] == ["the database went away"]
