"""What the fake Telegram knows: users and their chats, messages, files, pending updates."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot.fake_bot_api.formatting import image_size
from bot.fake_bot_api.models import JSON, BotMessage, CallbackAnswer, StoredFile, bad_request
from bot.fake_bot_api.users import FakeUser

_FILE_ID_PREFIX = {
    "photo": "AgACAgUAAxkBAA",
    "document": "BQACAgUAAxkBAA",
    "voice": "AwACAgUAAxkBAA",
    "sticker": "CAACAgUAAxkBAA",
}
_FILE_DIRECTORY = {
    "photo": "photos",
    "document": "documents",
    "voice": "voice",
    "sticker": "stickers",
}
_DEFAULT_EXTENSION = {"photo": "jpg", "document": "bin", "voice": "oga", "sticker": "webp"}
_CONTENT_KINDS = ("text", "photo", "document", "sticker", "voice")
# Telegram scales photos down to these longest sides; we keep one thumbnail size.
_THUMBNAIL_SIDE = 320
_UNKNOWN_IMAGE_SIZE = (800, 600)


@dataclass
class SentExtras:
    """What the bot sent beyond the Message object Telegram echoes back."""

    source_text: str | None
    parse_mode: str | None
    reply_markup: JSON | None


@dataclass
class Chat:
    """A private chat between the bot and one user."""

    user: FakeUser
    next_message_id: int = 1
    messages: dict[int, JSON] = field(default_factory=dict)
    bot_extras: dict[int, SentExtras] = field(default_factory=dict)  # the bot's messages only
    deleted: set[int] = field(default_factory=set)

    def allocate_message_id(self) -> int:
        """The next message id; a private chat has one sequence shared by both sides."""
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def live_message(self, message_id: int) -> JSON | None:
        """The message with this id unless it does not exist or was deleted."""
        if message_id in self.deleted:
            return None
        return self.messages.get(message_id)


def copy_json(obj: JSON) -> JSON:
    """A deep copy through JSON, so nothing handed out aliases the server's state."""
    copied: JSON = json.loads(json.dumps(obj))
    return copied


def copy_json_list(items: list[JSON]) -> list[JSON]:
    """A deep copy of a list of JSON objects."""
    return [copy_json(item) for item in items]


def without_reply(message: JSON) -> JSON:
    """A message as quoted in ``reply_to_message`` (Telegram nests only one level)."""
    return {k: v for k, v in message.items() if k != "reply_to_message"}


class TelegramState:
    """The simulated Telegram side of the fake: everything but HTTP and faults."""

    def __init__(
        self,
        bot_id: int,
        bot_first_name: str,
        bot_username: str,
        clock: Callable[[], float],
        on_change: Callable[[], None],
    ) -> None:
        self.bot_id = bot_id
        self.bot_first_name = bot_first_name
        self.bot_username = bot_username
        self.clock = clock
        self.on_change = on_change

        self.users: dict[int, FakeUser] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.updates: list[JSON] = []  # enqueued and not yet confirmed through an offset
        self.open_callback_queries: set[str] = set()
        self.callback_answers: list[CallbackAnswer] = []
        self.commands: dict[tuple[str, str], list[JSON]] = {}  # (scope, language) -> commands
        self.menu_buttons: dict[int, JSON] = {}  # chat id (0: the default) -> menu button
        self.webhook_url = ""
        self.blocked_chats: set[int] = set()
        self._next_update_id = 1
        self._next_file_number = 1
        self._next_query_number = 1
        self._next_media_group = 1

    def now(self) -> int:
        """The current Unix time, as Telegram's ``date`` fields carry it."""
        return int(self.clock())

    # -- users and chats --------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str,
        language_code: str | None,
        last_name: str | None,
        username: str | None,
    ) -> FakeUser:
        """The user with this id, created (with a private chat) on first use."""
        existing = self.users.get(user_id)
        if existing is not None:
            return existing
        user = FakeUser(self, user_id, first_name, language_code, last_name, username)
        self.users[user_id] = user
        self.chats[user_id] = Chat(user)
        return user

    def chat_of(self, user_id: int) -> Chat:
        """The private chat with a known user."""
        chat = self.chats.get(user_id)
        if chat is None:
            raise ValueError(f"unknown user {user_id}; create it with server.user({user_id})")
        return chat

    def bot_user(self) -> JSON:
        """The bot's ``User`` object."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # -- updates ----------------------------------------------------------------------------

    def enqueue(self, payload: JSON) -> JSON:
        """Add an update (``{"message": ...}`` etc.) with the next update_id."""
        update = {"update_id": self._next_update_id, **copy_json(payload)}
        self._next_update_id += 1
        self.updates.append(update)
        self.on_change()
        return update

    def confirm_updates(self, offset: int) -> None:
        """Forget updates as getUpdates' ``offset`` asks (negative: keep only the last -offset)."""
        if offset < 0:
            del self.updates[: max(len(self.updates) + offset, 0)]
        elif offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]

    def new_callback_query_id(self) -> str:
        """A fresh callback query id, registered as waiting for an answer."""
        query_id = f"{self.bot_id}{self._next_query_number:012d}"
        self._next_query_number += 1
        self.open_callback_queries.add(query_id)
        return query_id

    def new_media_group_id(self) -> str:
        """A fresh media_group_id."""
        group_id = f"1{self._next_media_group:017d}"
        self._next_media_group += 1
        return group_id

    # -- files ------------------------------------------------------------------------------

    def register_file(
        self,
        data: bytes,
        kind: str = "document",
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        file_size: int | None = None,
        variant: str = "",
    ) -> StoredFile:
        """Store a file so that getFile and the download URL serve it.

        Like Telegram, equal content gets an equal ``file_unique_id`` (per kind and variant)
        while every upload gets its own ``file_id``.
        """
        number = self._next_file_number
        self._next_file_number += 1
        digest = hashlib.sha256(f"{kind}/{variant}/".encode() + data).hexdigest()
        extension = _DEFAULT_EXTENSION.get(kind, "bin")
        if file_name and "." in file_name:
            extension = file_name.rsplit(".", 1)[1]
        stored = StoredFile(
            file_id=f"{_FILE_ID_PREFIX.get(kind, 'BQACAgUAAxkBAA')}{number:06d}{digest[:12]}",
            file_unique_id=f"AQAD{digest[:12]}",
            kind=kind,
            data=data,
            file_size=len(data) if file_size is None else file_size,
            file_path=f"{_FILE_DIRECTORY.get(kind, 'documents')}/file_{number}.{extension}",
            file_name=file_name,
            mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    def photo_sizes(
        self, data: bytes, file_size: int | None = None, *, must_be_image: bool = False
    ) -> list[JSON]:
        """Register a photo and return its ``PhotoSize`` array, smallest first."""
        size = image_size(data)
        if size is None:
            if must_be_image:
                raise bad_request("IMAGE_PROCESS_FAILED")
            size = _UNKNOWN_IMAGE_SIZE
        width, height = size
        sizes: list[JSON] = []
        longest = max(width, height, 1)
        if longest > _THUMBNAIL_SIDE:
            # Telegram adds scaled-down copies; ours download the original bytes.
            scale = _THUMBNAIL_SIDE / longest
            thumbnail = self.register_file(data, "photo", variant="m")
            sizes.append(
                _photo_size(thumbnail, max(1, round(width * scale)), max(1, round(height * scale)))
            )
        full = self.register_file(data, "photo", file_size=file_size)
        sizes.append(_photo_size(full, width, height))
        return sizes

    # -- the bot's messages -----------------------------------------------------------------

    def add_bot_message(
        self,
        chat: Chat,
        content: JSON,
        *,
        source_text: str | None,
        parse_mode: str | None,
        markup: JSON | None,
        reply_to: int | None = None,
        media_group_id: str | None = None,
    ) -> JSON:
        """Record a message the bot sent and return the Message object Telegram answers."""
        message: JSON = {
            "message_id": chat.allocate_message_id(),
            "from": self.bot_user(),
            "chat": chat.user.chat_json(),
            "date": self.now(),
        }
        if media_group_id is not None:
            message["media_group_id"] = media_group_id
        quoted = chat.live_message(reply_to) if reply_to is not None else None
        if quoted is not None:
            message["reply_to_message"] = without_reply(quoted)
        message.update(content)
        if markup is not None and "inline_keyboard" in markup:
            # Telegram echoes only inline keyboards in the returned Message.
            message["reply_markup"] = markup
        chat.messages[message["message_id"]] = message
        chat.bot_extras[message["message_id"]] = SentExtras(source_text, parse_mode, markup)
        return copy_json(message)

    def messages_to(self, chat_id: int, *, include_deleted: bool = False) -> list[BotMessage]:
        """Snapshots of the bot's messages in a chat, oldest first."""
        chat = self.chats.get(chat_id)
        if chat is None:
            return []
        snapshots = []
        for message_id, message in chat.messages.items():
            extras = chat.bot_extras.get(message_id)
            deleted = message_id in chat.deleted
            if extras is not None and (include_deleted or not deleted):
                snapshots.append(_snapshot(chat_id, message, extras, deleted))
        return snapshots

    def commands_key(self, scope: object, language_code: object) -> tuple[str, str]:
        """The key under which setMyCommands stores a scope and language."""
        if not isinstance(scope, Mapping) or not scope:
            scope = {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")


def _photo_size(stored: StoredFile, width: int, height: int) -> JSON:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.file_size,
        "width": width,
        "height": height,
    }


def _snapshot(chat_id: int, message: JSON, extras: SentExtras, deleted: bool) -> BotMessage:
    kind = next((k for k in _CONTENT_KINDS if k in message), "other")
    if "forward_origin" in message:
        kind = "forward"
    entities: list[JSON] = message.get("entities") or message.get("caption_entities") or []
    return BotMessage(
        chat_id=chat_id,
        message_id=message["message_id"],
        kind=kind,
        text=message.get("text", message.get("caption")),
        entities=copy_json_list(entities),
        source_text=extras.source_text,
        parse_mode=extras.parse_mode,
        reply_markup=None if extras.reply_markup is None else copy_json(extras.reply_markup),
        media_group_id=message.get("media_group_id"),
        edited="edit_date" in message,
        deleted=deleted,
        raw=copy_json(message),
    )
