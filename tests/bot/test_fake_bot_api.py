"""The fake Bot API behaves like Telegram for a real python-telegram-bot 22 Application."""

from __future__ import annotations

import asyncio
import datetime as dtm
from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes.bot_api import (
    AlbumDocument,
    FakeBotApi,
    application_builder,
    fake_bot_api,
    parse_html,
    polling,
    record_errors,
    reply_with_text,
    tiny_png,
)

__all__ = ["fake_bot_api"]  # the fixture is used by name

USER = 1001


@pytest.fixture
async def bot(fake_bot_api: FakeBotApi) -> AsyncIterator[Bot]:
    """A bare PTB Bot on the fake server, for single requests."""
    async with Bot(
        fake_bot_api.token,
        base_url=fake_bot_api.base_url,
        base_file_url=fake_bot_api.base_file_url,
    ) as client:
        yield client


# -- a real Application, long polling --------------------------------------------------------


async def test_a_polling_application_echoes_text_back(fake_bot_api: FakeBotApi) -> None:
    app = application_builder(fake_bot_api).build()
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, reply_with_text))
    errors = record_errors(app)
    user = fake_bot_api.user(USER, "张三")

    async with polling(app):
        sent = user.send_text("你好")
        reply = await fake_bot_api.wait_for(lambda: fake_bot_api.messages_to(USER))

    assert [m.text for m in reply] == ["你好"]
    assert reply[0].message_id == sent["message_id"] + 1
    assert "reply_to_message" not in reply[0].raw  # PTB quotes only outside private chats
    assert reply[0].raw["from"]["is_bot"] is True
    assert fake_bot_api.pending_updates == []
    assert errors == []


async def test_a_command_arrives_with_its_arguments(fake_bot_api: FakeBotApi) -> None:
    seen: list[list[str]] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(list(context.args or []))

    app = application_builder(fake_bot_api).build()
    app.add_handler(CommandHandler("start", start))
    user = fake_bot_api.user(USER)

    async with polling(app):
        message = user.send_command("/start", "abc")
        await fake_bot_api.wait_for(lambda: seen)

    assert seen == [["abc"]]
    assert message["entities"] == [{"offset": 0, "length": 6, "type": "bot_command"}]


async def test_a_tapped_button_is_answered_and_its_message_edited(
    fake_bot_api: FakeBotApi,
) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("确认", callback_data="ok")]])
        assert update.effective_message is not None
        await update.effective_message.reply_text("请确认", reply_markup=keyboard)

    async def confirm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("已确认")
        await query.edit_message_text(f"<b>已确认</b> {query.data}", parse_mode=ParseMode.HTML)

    app = application_builder(fake_bot_api).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(confirm))
    errors = record_errors(app)
    user = fake_bot_api.user(USER)

    async with polling(app):
        user.send_command("/start")
        prompt = (await fake_bot_api.wait_for(lambda: fake_bot_api.messages_to(USER)))[0]
        assert prompt.buttons == [("确认", "ok")]
        query_id = user.tap(prompt, prompt.callback_data("确认"))
        await fake_bot_api.wait_for(lambda: fake_bot_api.last_message_to(USER).edited)

    answer = fake_bot_api.answer_to(query_id)
    assert answer is not None and answer.text == "已确认"
    edited = fake_bot_api.last_message_to(USER)
    assert edited.message_id == prompt.message_id
    assert edited.text == "已确认 ok"
    assert edited.entities == [{"offset": 0, "length": 3, "type": "bold"}]
    assert edited.reply_markup is None  # editMessageText without a keyboard drops it
    assert errors == []


async def test_a_photo_is_downloaded_through_get_file(fake_bot_api: FakeBotApi) -> None:
    picture = tiny_png(640, 480)
    downloaded: list[bytes] = []

    async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        largest = update.effective_message.photo[-1]
        file = await context.bot.get_file(largest.file_id)
        downloaded.append(bytes(await file.download_as_bytearray()))

    app = application_builder(fake_bot_api).build()
    app.add_handler(MessageHandler(filters.PHOTO, on_photo))
    errors = record_errors(app)
    user = fake_bot_api.user(USER)

    async with polling(app):
        message = user.send_photo(picture, caption="现场照片")
        await fake_bot_api.wait_for(lambda: downloaded)

    assert downloaded == [picture]
    assert [(p["width"], p["height"]) for p in message["photo"]] == [(320, 240), (640, 480)]
    assert errors == []


async def test_an_album_arrives_as_updates_sharing_one_media_group_id(
    fake_bot_api: FakeBotApi,
) -> None:
    received: list[Message] = []

    async def on_media(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        received.append(update.effective_message)

    app = application_builder(fake_bot_api).build()
    app.add_handler(MessageHandler(filters.PHOTO | filters.Document.ALL, on_media))
    user = fake_bot_api.user(USER)

    async with polling(app):
        user.send_album(
            [tiny_png(), tiny_png(8, 8), AlbumDocument(b"PK\x03\x04", "表.xlsx")],
            caption="三月材料",
        )
        await fake_bot_api.wait_for(lambda: len(received) == 3)

    assert len({m.media_group_id for m in received}) == 1
    assert received[0].media_group_id is not None
    assert [m.message_id for m in received] == [1, 2, 3]
    assert received[0].caption == "三月材料"
    assert received[2].document is not None and received[2].document.file_name == "表.xlsx"


async def test_polling_survives_a_429_on_get_updates(fake_bot_api: FakeBotApi) -> None:
    app = application_builder(fake_bot_api).build()
    app.add_handler(MessageHandler(filters.TEXT, reply_with_text))
    user = fake_bot_api.user(USER)
    fake_bot_api.fail_next("getUpdates", 429, retry_after=1)

    async with polling(app):
        user.send_text("还在吗")
        await fake_bot_api.wait_for(lambda: fake_bot_api.messages_to(USER), timeout=5)

    assert fake_bot_api.too_many_requests_sent == 1
    # PTB waits retry_after plus half a second of slack before polling again.
    first, second = fake_bot_api.calls("getUpdates")[:2]
    assert second.time - first.time >= 1.4


# -- single requests through a bare Bot ------------------------------------------------------


async def test_an_injected_429_raises_retry_after(fake_bot_api: FakeBotApi, bot: Bot) -> None:
    fake_bot_api.user(USER)
    fake_bot_api.fail_next("sendMessage", 429, retry_after=7)

    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(USER, "第一次")
    await bot.send_message(USER, "第二次")

    assert raised.value.retry_after == dtm.timedelta(seconds=7)
    assert fake_bot_api.too_many_requests_sent == 1
    assert [m.text for m in fake_bot_api.messages_to(USER)] == ["第二次"]


async def test_a_blocked_chat_raises_forbidden_and_others_still_work(
    fake_bot_api: FakeBotApi, bot: Bot
) -> None:
    fake_bot_api.user(USER)
    fake_bot_api.user(USER + 1)
    fake_bot_api.fail_next("sendMessage", 403, chat_id=USER)

    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "提醒")
    await bot.send_message(USER + 1, "提醒")
    fake_bot_api.user(USER).block_bot()
    with pytest.raises(Forbidden):
        await bot.send_message(USER, "再提醒")

    assert [m.text for m in fake_bot_api.messages_to(USER + 1)] == ["提醒"]
    assert fake_bot_api.messages_to(USER) == []


async def test_flood_control_answers_429_per_chat(fake_bot_api: FakeBotApi, bot: Bot) -> None:
    fake_bot_api.user(USER)
    fake_bot_api.user(USER + 1)
    fake_bot_api.chat_rate_limit_per_second = 1

    await bot.send_message(USER, "一")
    await bot.send_message(USER + 1, "一")
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(USER, "二")

    assert raised.value.retry_after == dtm.timedelta(seconds=1)
    assert fake_bot_api.too_many_requests_sent == 1


async def test_a_bad_gateway_raises_network_error(fake_bot_api: FakeBotApi, bot: Bot) -> None:
    fake_bot_api.user(USER)
    fake_bot_api.fail_next(None, 502)

    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(USER, "x")
    await bot.send_message(USER, "y")

    assert fake_bot_api.status_counts[502] == 1


async def test_a_held_request_times_out_and_may_still_have_been_delivered(
    fake_bot_api: FakeBotApi, bot: Bot
) -> None:
    fake_bot_api.user(USER)
    fake_bot_api.fail_next("sendMessage", "timeout", applied=True)

    with pytest.raises(TimedOut):
        await bot.send_message(USER, "可能重复", read_timeout=0.2)
    await fake_bot_api.wait_for(lambda: fake_bot_api.calls("sendMessage")[0].status == 0)

    assert [m.text for m in fake_bot_api.messages_to(USER)] == ["可能重复"]


async def test_a_short_hold_only_delays_the_answer_and_sends_once(
    fake_bot_api: FakeBotApi, bot: Bot
) -> None:
    fake_bot_api.user(USER)
    fake_bot_api.fail_next("sendMessage", "timeout", hold=0.2, applied=True)

    sent = await bot.send_message(USER, "慢")

    assert [m.message_id for m in fake_bot_api.messages_to(USER)] == [sent.message_id]


async def test_an_unknown_method_is_not_found(bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")


async def test_a_wrong_token_is_unauthorized(fake_bot_api: FakeBotApi) -> None:
    client = Bot("999:WRONG", base_url=fake_bot_api.base_url)
    try:
        with pytest.raises(InvalidToken, match="was rejected by the server"):
            await client.initialize()
    finally:
        await client.shutdown()


async def test_get_updates_confirms_with_offset_and_long_polls_until_timeout(
    fake_bot_api: FakeBotApi, bot: Bot
) -> None:
    user = fake_bot_api.user(USER)
    user.send_text("一")
    user.send_text("二")

    first = await bot.get_updates(timeout=0)
    again = await bot.get_updates(timeout=0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    after = await bot.get_updates(offset=first[-1].update_id + 1, timeout=1)

    assert [u.message.text for u in first if u.message] == ["一", "二"]
    assert [u.update_id for u in again] == [u.update_id for u in first]
    assert after == ()
    assert loop.time() - started >= 0.9


async def test_a_long_poll_returns_as_soon_as_an_update_arrives(
    fake_bot_api: FakeBotApi, bot: Bot
) -> None:
    user = fake_bot_api.user(USER)
    asyncio.get_running_loop().call_later(0.1, user.send_text, "来了")

    updates = await bot.get_updates(timeout=5)

    assert [u.message.text for u in updates if u.message] == ["来了"]


async def test_html_is_parsed_into_entities_and_bad_html_is_refused(
    fake_bot_api: FakeBotApi, bot: Bot
) -> None:
    fake_bot_api.user(USER)

    await bot.send_message(USER, "<b>得分</b> 98.50 &lt;优&gt;", parse_mode=ParseMode.HTML)
    with pytest.raises(
        BadRequest, match=r"(?i)can't parse entities: unsupported start tag \"br\""
    ):
        await bot.send_message(USER, "第一行<br>第二行", parse_mode=ParseMode.HTML)

    message = fake_bot_api.last_message_to(USER)
    assert message.text == "得分 98.50 <优>"
    assert message.source_text == "<b>得分</b> 98.50 &lt;优&gt;"
    assert message.entities == [{"offset": 0, "length": 2, "type": "bold"}]


def test_html_parsing_counts_offsets_in_utf16_units() -> None:
    text, entities = parse_html(
        '👍 <a href="https://x.cn">链接</a> <pre><code class="language-py">1</code></pre>'
    )

    assert text == "👍 链接 1"
    assert entities == [
        {"offset": 3, "length": 2, "type": "text_link", "url": "https://x.cn"},
        {"offset": 6, "length": 1, "type": "pre", "language": "py"},
    ]


async def test_an_unchanged_edit_is_refused_as_not_modified(
    fake_bot_api: FakeBotApi, bot: Bot
) -> None:
    fake_bot_api.user(USER)
    sent = await bot.send_message(USER, "同一内容")

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("同一内容", chat_id=USER, message_id=sent.message_id)


async def test_documents_and_albums_upload_and_resend_by_file_id(
    fake_bot_api: FakeBotApi, bot: Bot
) -> None:
    fake_bot_api.user(USER)

    document = await bot.send_document(USER, b"PK\x03\x04 data", filename="报表.xlsx")
    assert document.document is not None
    again = await bot.send_document(USER, document.document.file_id, caption="再发一次")
    album = await bot.send_media_group(
        USER, [InputMediaPhoto(tiny_png()), InputMediaPhoto(tiny_png(5, 5), caption="图二")]
    )
    documents = await bot.send_media_group(
        USER, [InputMediaDocument(b"a", filename="a.txt"), InputMediaDocument(b"b")]
    )

    assert document.document.file_name == "报表.xlsx"
    assert fake_bot_api.file(document.document.file_id).data == b"PK\x03\x04 data"
    assert again.document is not None
    assert again.document.file_unique_id == document.document.file_unique_id
    assert len({m.media_group_id for m in album}) == 1
    assert album[1].caption == "图二"
    assert [d.document.file_name for d in documents if d.document] == [
        "a.txt",
        "application.octet-stream",
    ]
    assert [m.kind for m in fake_bot_api.messages_to(USER)] == ["document"] * 2 + ["photo"] * 2 + [
        "document"
    ] * 2


async def test_a_file_over_20_mb_cannot_be_fetched(fake_bot_api: FakeBotApi, bot: Bot) -> None:
    message = fake_bot_api.user(USER).send_document(
        b"small", "大文件.xlsx", file_size=25 * 1024 * 1024
    )

    with pytest.raises(BadRequest, match="File is too big"):
        await bot.get_file(message["document"]["file_id"])


async def test_a_photo_that_is_not_an_image_is_refused(fake_bot_api: FakeBotApi, bot: Bot) -> None:
    fake_bot_api.user(USER)

    with pytest.raises(BadRequest, match="Image_process_failed"):
        await bot.send_photo(USER, b"not an image")


async def test_commands_are_recorded_per_scope_and_language(
    fake_bot_api: FakeBotApi, bot: Bot
) -> None:
    scope = BotCommandScopeChat(USER)
    await bot.set_my_commands([BotCommand("start", "开始")], language_code="zh")
    await bot.set_my_commands([BotCommand("score", "得分")], scope=scope)

    chat_commands = await bot.get_my_commands(scope=scope)
    await bot.delete_my_commands(language_code="zh")

    assert [c.command for c in chat_commands] == ["score"]
    assert fake_bot_api.commands_for({"type": "chat", "chat_id": USER}) == [
        {"command": "score", "description": "得分"}
    ]
    assert fake_bot_api.commands_for(language_code="zh") == []
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Score", "大写")])


async def test_stopping_the_server_ends_a_pending_long_poll(fake_bot_api: FakeBotApi) -> None:
    async with Bot(fake_bot_api.token, base_url=fake_bot_api.base_url) as client:
        waiting = asyncio.ensure_future(client.get_updates(timeout=30))
        await fake_bot_api.wait_for(lambda: fake_bot_api.calls("getUpdates"))
        await fake_bot_api.stop()
        with pytest.raises(NetworkError):
            await waiting

    assert fake_bot_api.calls("getUpdates")[0].status == 0


async def test_the_user_side_refuses_a_button_the_bot_never_showed(
    fake_bot_api: FakeBotApi, bot: Bot
) -> None:
    user = fake_bot_api.user(USER)
    sent = await bot.send_message(USER, "无按钮")

    with pytest.raises(ValueError, match="no button"):
        user.tap(sent.message_id, "ok")


async def test_edits_stickers_and_voice_reach_their_handlers(fake_bot_api: FakeBotApi) -> None:
    seen: list[str] = []

    async def on_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.edited_message is not None
        seen.append(f"edited:{update.edited_message.text}")

    async def on_sticker(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append("sticker")

    async def on_voice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append("voice")

    app = application_builder(fake_bot_api).build()
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, on_edit))
    app.add_handler(MessageHandler(filters.Sticker.ALL, on_sticker))
    app.add_handler(MessageHandler(filters.VOICE, on_voice))
    errors = record_errors(app)
    user = fake_bot_api.user(USER)

    async with polling(app):
        original = user.send_text("草稿")
        user.edit_text(original["message_id"], "定稿")
        user.send_sticker()
        user.send_voice()
        await fake_bot_api.wait_for(lambda: len(seen) == 3)

    assert seen == ["edited:定稿", "sticker", "voice"]
    assert errors == []


async def test_copied_forwarded_and_deleted_messages(fake_bot_api: FakeBotApi, bot: Bot) -> None:
    user = fake_bot_api.user(USER)
    fake_bot_api.user(USER + 1)
    report = user.send_document(b"PK", "月报.xlsx")

    copied = await bot.copy_message(USER + 1, USER, report["message_id"], caption="转交")
    forwarded = await bot.forward_message(USER + 1, USER, report["message_id"])
    await bot.delete_message(USER + 1, copied.message_id)

    assert [m.kind for m in fake_bot_api.messages_to(USER + 1)] == ["forward"]
    assert forwarded.forward_origin is not None
    deleted = fake_bot_api.messages_to(USER + 1, include_deleted=True)[0]
    assert deleted.deleted and deleted.text == "转交"
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(USER + 1, copied.message_id)


async def test_plain_http_clients_may_use_get_and_json_bodies(fake_bot_api: FakeBotApi) -> None:
    fake_bot_api.user(USER)
    api = f"{fake_bot_api.base_url}{fake_bot_api.token}"

    async with httpx.AsyncClient() as client:
        me = (await client.get(f"{api}/getMe")).json()
        sent = (
            await client.post(f"{api}/sendMessage", json={"chat_id": USER, "text": "1"})
        ).json()
        missing = await client.post(f"{api}/noSuchMethod")

    assert me["ok"] is True and me["result"]["is_bot"] is True
    assert sent["result"]["text"] == "1"  # a JSON string stays a string
    assert missing.status_code == 404
    assert missing.json() == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found: method not found",
    }


async def test_a_user_acting_from_another_thread_wakes_a_long_poll(
    fake_bot_api: FakeBotApi, bot: Bot
) -> None:
    user = fake_bot_api.user(USER)

    async def type_later() -> None:
        await asyncio.sleep(0.1)
        await asyncio.to_thread(user.send_text, "从终端输入")

    typing = asyncio.ensure_future(type_later())
    loop = asyncio.get_running_loop()
    started = loop.time()
    updates = await bot.get_updates(timeout=5)
    await typing

    assert [u.message.text for u in updates if u.message] == ["从终端输入"]
    assert loop.time() - started < 2


async def test_global_flood_control_counts_every_chat(fake_bot_api: FakeBotApi, bot: Bot) -> None:
    for offset in range(3):
        fake_bot_api.user(USER + offset)
    fake_bot_api.rate_limit_per_second = 2

    await bot.send_message(USER, "一")
    await bot.send_message(USER + 1, "一")
    with pytest.raises(RetryAfter):
        await bot.send_message(USER + 2, "一")
    await bot.get_me()  # reading is not limited

    assert fake_bot_api.too_many_requests_sent == 1
