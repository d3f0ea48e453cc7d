"""The Bot API methods: one handler per method, dispatched through :data:`METHODS`.

A handler takes the simulated Telegram state and one decoded call, and returns the ``result``
of the answer or raises :class:`ApiError` with the description Telegram would give.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.fake_bot_api.formatting import parse_html, utf16_length
from bot.fake_bot_api.models import (
    JSON,
    MAX_CALLBACK_DATA_BYTES,
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    ApiCall,
    ApiError,
    CallbackAnswer,
    StoredFile,
    UploadedFile,
    bad_request,
    bot_blocked,
    inline_buttons,
)
from bot.fake_bot_api.state import Chat, SentExtras, TelegramState, copy_json, copy_json_list

# Message fields that copyMessage and forwardMessage carry over.
_CONTENT_FIELDS = (
    "text",
    "entities",
    "photo",
    "document",
    "sticker",
    "voice",
    "caption",
    "caption_entities",
)


@dataclass(frozen=True)
class Call:
    """One decoded API call as a handler sees it."""

    record: ApiCall
    # Waits up to the given seconds for any change of state; raises ClientGone when the
    # client hangs up meanwhile (getUpdates' long polling needs both).
    wait_for_change: Callable[[float], Awaitable[None]]
    download_limit: int

    @property
    def params(self) -> JSON:
        """The decoded parameters."""
        return self.record.params

    @property
    def files(self) -> dict[str, UploadedFile]:
        """The uploaded files by multipart field name."""
        return self.record.files

    def text_param(self, name: str) -> str | None:
        """A parameter that must be a string (parse_mode, caption …), or None."""
        value = self.params.get(name)
        return value if isinstance(value, str) else None


Handler = Callable[[TelegramState, Call], Awaitable[Any]]


# -- shared checks --------------------------------------------------------------------------


def _int(value: object, default: int) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return default
    return default


def target_chat(state: TelegramState, call: Call, key: str = "chat_id") -> Chat:
    """The chat a call addresses; 400 if unknown, 403 if its user blocked the bot."""
    value = call.params.get(key)
    if value is None or value == "":
        raise bad_request(f"{key} is empty")
    chat_id = _int(value, 0)
    chat = state.chats.get(chat_id)
    if chat is None:
        raise bad_request("chat not found")
    if key == "chat_id" and chat_id in state.blocked_chats:
        raise bot_blocked()
    return chat


def _message_in(chat: Chat, call: Call, missing: str) -> JSON:
    message_id = call.params.get("message_id")
    if not isinstance(message_id, int):
        raise bad_request("message identifier is not specified")
    message = chat.live_message(message_id)
    if message is None:
        raise bad_request(missing)
    return message


def _bot_message_in(chat: Chat, call: Call) -> tuple[JSON, SentExtras]:
    message = _message_in(chat, call, "message to edit not found")
    extras = chat.bot_extras.get(message["message_id"])
    if extras is None:
        raise bad_request("message can't be edited")
    return message, extras


def formatted(
    params: Mapping[str, Any], text: object, *, caption: bool
) -> tuple[str | None, list[JSON]]:
    """Apply parse_mode or explicit entities and Telegram's length limits to a text.

    Returns (None, []) for an absent caption; an absent or blank text is a 400.
    """
    if text is None or text == "":
        if caption:
            return None, []
        raise bad_request("message text is empty")
    text = str(text)
    parse_mode = params.get("parse_mode")
    explicit = params.get("caption_entities" if caption else "entities")
    if isinstance(parse_mode, str) and parse_mode.upper() == "HTML":
        plain, entities = parse_html(text)
    else:
        # Markdown modes are echoed untouched: the project's bot speaks HTML.
        plain, entities = text, list(explicit) if isinstance(explicit, list) else []
    if not plain.strip():
        if caption:
            return None, []
        raise bad_request("message text is empty")
    if utf16_length(plain) > (MAX_CAPTION_LENGTH if caption else MAX_TEXT_LENGTH):
        raise bad_request("message caption is too long" if caption else "message is too long")
    return plain, entities


def reply_markup(call: Call) -> JSON | None:
    """The call's reply_markup, checked the way Telegram checks inline keyboards."""
    markup = call.params.get("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    for button in inline_buttons(markup):
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
        if not set(button) - {"text"}:
            raise bad_request(
                "can't parse inline keyboard button: "
                "Text buttons are unallowed in the inline keyboard"
            )
    return markup


def _not_modified() -> ApiError:
    return bad_request(
        "message is not modified: specified new message content and reply markup are exactly "
        "the same as a current content and reply markup of the message"
    )


def _set_or_drop(target: JSON, key: str, value: object) -> None:
    if value:
        target[key] = value
    else:
        target.pop(key, None)


def _reply_to(call: Call) -> int | None:
    reply = call.params.get("reply_parameters")
    if isinstance(reply, dict) and isinstance(reply.get("message_id"), int):
        return int(reply["message_id"])
    return None


def _input_file(state: TelegramState, call: Call, value: object, kind: str) -> StoredFile | bytes:
    """The bytes an ``attach://`` reference uploads, or the stored file a file_id names."""
    if isinstance(value, str) and value.startswith("attach://"):
        upload = call.files.get(value.removeprefix("attach://"))
        if upload is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return upload.data
    if isinstance(value, str) and value:
        stored = state.files.get(value)
        if stored is None:
            # URLs land here too: the fake does not fetch from the internet.
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise bad_request(
                f"can't use file of type {stored.kind.capitalize()} as {kind.capitalize()}"
            )
        return stored
    raise bad_request(f"there is no {kind} in the request")


def _uploaded_or_named(
    state: TelegramState, call: Call, field: str, kind: str
) -> StoredFile | bytes:
    upload = call.files.get(field)
    if upload is not None:
        return upload.data
    return _input_file(state, call, call.params.get(field), kind)


def _photo_content(state: TelegramState, source: StoredFile | bytes) -> JSON:
    if isinstance(source, StoredFile):
        return {"photo": state.photo_sizes(source.data, source.file_size)}
    return {"photo": state.photo_sizes(source, must_be_image=True)}


def _document_content(
    state: TelegramState, call: Call, source: StoredFile | bytes, field: str
) -> JSON:
    if isinstance(source, StoredFile):
        return {"document": source.to_document_json()}
    if not source:
        raise bad_request("file must be non-empty")
    upload = call.files.get(field)
    stored = state.register_file(
        source,
        "document",
        file_name=upload.filename if upload else None,
        mime_type=upload.content_type if upload else None,
    )
    return {"document": stored.to_document_json()}


def _with_caption(params: Mapping[str, Any], content: JSON) -> JSON:
    plain, entities = formatted(params, params.get("caption"), caption=True)
    if plain is not None:
        content["caption"] = plain
        if entities:
            content["caption_entities"] = entities
    return content


def _source(value: object) -> str | None:
    return None if value is None else str(value)


# -- bot identity, updates, webhook ---------------------------------------------------------


async def get_me(state: TelegramState, call: Call) -> JSON:
    """getMe: the bot's User with the bot-only capability fields."""
    return state.bot_user() | {
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


async def always_true(state: TelegramState, call: Call) -> bool:
    """logOut, close: nothing to do locally."""
    return True


async def get_updates(state: TelegramState, call: Call) -> list[JSON]:
    """getUpdates: confirm by offset, then long-poll up to ``timeout`` seconds."""
    if state.webhook_url:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
    state.confirm_updates(_int(call.params.get("offset"), 0))
    limit = min(max(_int(call.params.get("limit"), 100), 1), 100)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(_int(call.params.get("timeout"), 0), 0)
    while not state.updates:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return []
        await call.wait_for_change(remaining)
    return [copy_json(update) for update in state.updates[:limit]]


async def set_webhook(state: TelegramState, call: Call) -> bool:
    """setWebhook: recorded only; nothing is delivered to it."""
    state.webhook_url = str(call.params.get("url") or "")
    return True


async def delete_webhook(state: TelegramState, call: Call) -> bool:
    """deleteWebhook, honouring drop_pending_updates."""
    state.webhook_url = ""
    if call.params.get("drop_pending_updates") is True:
        state.updates.clear()
    return True


async def get_webhook_info(state: TelegramState, call: Call) -> JSON:
    """getWebhookInfo."""
    return {
        "url": state.webhook_url,
        "has_custom_certificate": False,
        "pending_update_count": len(state.updates),
    }


# -- commands -------------------------------------------------------------------------------


async def set_my_commands(state: TelegramState, call: Call) -> bool:
    """setMyCommands, per scope and language, with Telegram's checks on names."""
    commands = call.params.get("commands")
    if not isinstance(commands, list):
        raise bad_request("commands is empty")
    for command in commands:
        if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", ""))) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    key = state.commands_key(call.params.get("scope"), call.params.get("language_code"))
    state.commands[key] = copy_json_list(commands)
    return True


async def set_chat_menu_button(state: TelegramState, call: Call) -> bool:
    """setChatMenuButton: a chat's (or the default) menu button; a Mini App's needs https."""
    button = call.params.get("menu_button") or {"type": "default"}
    if not isinstance(button, dict):
        raise bad_request("can't parse menu button")
    if button.get("type") == "web_app":
        url = str((button.get("web_app") or {}).get("url", ""))
        if not url.startswith("https://"):
            raise bad_request("BUTTON_URL_INVALID")
    state.menu_buttons[_int(call.params.get("chat_id"), 0)] = dict(button)
    return True


async def get_my_commands(state: TelegramState, call: Call) -> list[JSON]:
    """getMyCommands."""
    key = state.commands_key(call.params.get("scope"), call.params.get("language_code"))
    return copy_json_list(state.commands.get(key, []))


async def delete_my_commands(state: TelegramState, call: Call) -> bool:
    """deleteMyCommands."""
    key = state.commands_key(call.params.get("scope"), call.params.get("language_code"))
    state.commands.pop(key, None)
    return True


# -- sending and editing --------------------------------------------------------------------


async def send_message(state: TelegramState, call: Call) -> JSON:
    """sendMessage."""
    chat = target_chat(state, call)
    plain, entities = formatted(call.params, call.params.get("text"), caption=False)
    content: JSON = {"text": plain}
    if entities:
        content["entities"] = entities
    link_preview = call.params.get("link_preview_options")
    if isinstance(link_preview, dict):
        content["link_preview_options"] = link_preview
    return state.add_bot_message(
        chat,
        content,
        source_text=_source(call.params.get("text")),
        parse_mode=call.text_param("parse_mode"),
        markup=reply_markup(call),
        reply_to=_reply_to(call),
    )


async def edit_message_text(state: TelegramState, call: Call) -> JSON:
    """editMessageText; without reply_markup the inline keyboard goes, as on Telegram."""
    chat = target_chat(state, call)
    message, extras = _bot_message_in(chat, call)
    if "text" not in message:
        raise bad_request("there is no text in the message to edit")
    plain, entities = formatted(call.params, call.params.get("text"), caption=False)
    markup = reply_markup(call)
    unchanged = plain == message["text"] and entities == message.get("entities", [])
    if unchanged and markup == extras.reply_markup:
        raise _not_modified()
    message["text"] = plain
    _set_or_drop(message, "entities", entities)
    _set_or_drop(message, "reply_markup", markup)
    message["edit_date"] = state.now()
    chat.bot_extras[message["message_id"]] = SentExtras(
        _source(call.params.get("text")), call.text_param("parse_mode"), markup
    )
    return copy_json(message)


async def edit_message_caption(state: TelegramState, call: Call) -> JSON:
    """editMessageCaption."""
    chat = target_chat(state, call)
    message, extras = _bot_message_in(chat, call)
    if "text" in message:
        raise bad_request("there is no caption in the message to edit")
    plain, entities = formatted(call.params, call.params.get("caption"), caption=True)
    markup = reply_markup(call)
    if plain == message.get("caption") and markup == extras.reply_markup:
        raise _not_modified()
    _set_or_drop(message, "caption", plain)
    _set_or_drop(message, "caption_entities", entities)
    _set_or_drop(message, "reply_markup", markup)
    message["edit_date"] = state.now()
    chat.bot_extras[message["message_id"]] = SentExtras(
        _source(call.params.get("caption")), call.text_param("parse_mode"), markup
    )
    return copy_json(message)


async def edit_message_reply_markup(state: TelegramState, call: Call) -> JSON:
    """editMessageReplyMarkup; no markup removes the keyboard."""
    chat = target_chat(state, call)
    message, extras = _bot_message_in(chat, call)
    markup = reply_markup(call)
    if markup == extras.reply_markup:
        raise _not_modified()
    _set_or_drop(message, "reply_markup", markup)
    message["edit_date"] = state.now()
    extras.reply_markup = markup
    return copy_json(message)


async def delete_message(state: TelegramState, call: Call) -> bool:
    """deleteMessage: the bot's or the user's message in a private chat."""
    chat = target_chat(state, call)
    message = _message_in(chat, call, "message to delete not found")
    chat.deleted.add(message["message_id"])
    return True


async def answer_callback_query(state: TelegramState, call: Call) -> bool:
    """answerCallbackQuery: once per query, as Telegram allows."""
    query_id = str(call.params.get("callback_query_id") or "")
    if query_id not in state.open_callback_queries:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    state.open_callback_queries.discard(query_id)
    state.callback_answers.append(
        CallbackAnswer(
            callback_query_id=query_id,
            text=_source(call.params.get("text")),
            show_alert=call.params.get("show_alert") is True,
            url=_source(call.params.get("url")),
            time=time.monotonic(),
        )
    )
    return True


async def send_photo(state: TelegramState, call: Call) -> JSON:
    """sendPhoto: an upload (must be an image) or a photo's file_id."""
    chat = target_chat(state, call)
    source = _uploaded_or_named(state, call, "photo", "photo")
    return _add_captioned(state, chat, call, _photo_content(state, source))


async def send_document(state: TelegramState, call: Call) -> JSON:
    """sendDocument: an upload (non-empty) or a document's file_id."""
    chat = target_chat(state, call)
    source = _uploaded_or_named(state, call, "document", "document")
    return _add_captioned(state, chat, call, _document_content(state, call, source, "document"))


def _add_captioned(state: TelegramState, chat: Chat, call: Call, content: JSON) -> JSON:
    return state.add_bot_message(
        chat,
        _with_caption(call.params, content),
        source_text=_source(call.params.get("caption")),
        parse_mode=call.text_param("parse_mode"),
        markup=reply_markup(call),
        reply_to=_reply_to(call),
    )


async def send_media_group(state: TelegramState, call: Call) -> list[JSON]:
    """sendMediaGroup of photos or documents; all items are checked before any is sent."""
    chat = target_chat(state, call)
    media = call.params.get("media")
    if not isinstance(media, list) or not 2 <= len(media) <= 10:
        raise bad_request("media must include 2-10 items")
    if not all(isinstance(item, dict) for item in media):
        raise bad_request("can't parse InputMedia JSON object")
    kinds = {item.get("type") for item in media}
    if len(kinds) > 1 and kinds & {"document", "audio"}:
        raise bad_request(
            "documents and audio files can be only grouped in an album with messages of the "
            "same type"
        )
    prepared: list[tuple[JSON, JSON]] = []
    for item in media:
        kind = item.get("type")
        if kind not in ("photo", "document"):
            raise bad_request(f"unsupported media type {kind!r} in the fake Bot API")
        source = _input_file(state, call, item.get("media"), kind)
        if kind == "photo":
            content = _photo_content(state, source)
        else:
            field = str(item.get("media", "")).removeprefix("attach://")
            content = _document_content(state, call, source, field)
        prepared.append((_with_caption(item, content), item))
    group_id = state.new_media_group_id()
    return [
        state.add_bot_message(
            chat,
            content,
            source_text=_source(item.get("caption")),
            parse_mode=item.get("parse_mode") if isinstance(item.get("parse_mode"), str) else None,
            markup=None,
            reply_to=_reply_to(call),
            media_group_id=group_id,
        )
        for content, item in prepared
    ]


async def send_chat_action(state: TelegramState, call: Call) -> bool:
    """sendChatAction ("typing", "upload_document", …)."""
    target_chat(state, call)
    if not call.params.get("action"):
        raise bad_request("action is empty")
    return True


async def get_file(state: TelegramState, call: Call) -> JSON:
    """getFile: the file's path for download; Telegram refuses files over 20 MB."""
    stored = state.files.get(str(call.params.get("file_id") or ""))
    if stored is None:
        raise bad_request("invalid file_id")
    if stored.file_size > call.download_limit:
        raise bad_request("file is too big")
    return stored.to_file_json()


async def copy_message(state: TelegramState, call: Call) -> JSON:
    """copyMessage: the content without a link to the original; returns a MessageId."""
    target = target_chat(state, call)
    source_chat = target_chat(state, call, "from_chat_id")
    original = _message_in(source_chat, call, "message to copy not found")
    content = {k: v for k, v in original.items() if k in _CONTENT_FIELDS}
    if "caption" in call.params:
        plain, entities = formatted(call.params, call.params.get("caption"), caption=True)
        _set_or_drop(content, "caption", plain)
        _set_or_drop(content, "caption_entities", entities)
    message = state.add_bot_message(
        target,
        copy_json(content),
        source_text=original.get("text", original.get("caption")),
        parse_mode=None,
        markup=reply_markup(call),
        reply_to=_reply_to(call),
    )
    return {"message_id": message["message_id"]}


async def forward_message(state: TelegramState, call: Call) -> JSON:
    """forwardMessage: the content with a forward_origin naming the original sender."""
    target = target_chat(state, call)
    source_chat = target_chat(state, call, "from_chat_id")
    original = _message_in(source_chat, call, "message to forward not found")
    content = copy_json({k: v for k, v in original.items() if k in _CONTENT_FIELDS})
    content["forward_origin"] = {
        "type": "user",
        "sender_user": original["from"],
        "date": original["date"],
    }
    return state.add_bot_message(
        target,
        content,
        source_text=original.get("text", original.get("caption")),
        parse_mode=None,
        markup=None,
    )


# Keyed by the lower-cased method name: Telegram matches method names case-insensitively.
METHODS: dict[str, Handler] = {
    "getme": get_me,
    "logout": always_true,
    "close": always_true,
    "getupdates": get_updates,
    "setwebhook": set_webhook,
    "deletewebhook": delete_webhook,
    "getwebhookinfo": get_webhook_info,
    "setmycommands": set_my_commands,
    "getmycommands": get_my_commands,
    "deletemycommands": delete_my_commands,
    "setchatmenubutton": set_chat_menu_button,
    "sendmessage": send_message,
    "editmessagetext": edit_message_text,
    "editmessagecaption": edit_message_caption,
    "editmessagereplymarkup": edit_message_reply_markup,
    "deletemessage": delete_message,
    "answercallbackquery": answer_callback_query,
    "sendphoto": send_photo,
    "senddocument": send_document,
    "sendmediagroup": send_media_group,
    "sendchataction": send_chat_action,
    "getfile": get_file,
    "copymessage": copy_message,
    "forwardmessage": forward_message,
}

# Methods that post into a chat, which Telegram's flood control counts.
RATE_LIMITED_METHODS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "sendmediagroup",
        "copymessage",
        "forwardmessage",
        "editmessagetext",
        "editmessagecaption",
        "editmessagereplymarkup",
    }
)
