"""The user side: a person in a private chat with the bot, whose actions become updates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.fake_bot_api.formatting import utf16_length
from bot.fake_bot_api.models import (
    JSON,
    AlbumDocument,
    AlbumPhoto,
    BotMessage,
    inline_buttons,
)

if TYPE_CHECKING:
    from bot.fake_bot_api.state import TelegramState

_STICKER_BYTES = b"RIFF\x00\x00\x00\x00WEBPVP8 "
_VOICE_BYTES = b"OggS\x00fake voice"


class FakeUser:
    """A Telegram user in a private chat with the bot; each action enqueues an update.

    The methods are synchronous and return the Message object (a copy) that the bot will
    receive; call them from the event loop's thread or, for a console reading stdin, from
    another thread (the server is woken up safely).
    """

    def __init__(
        self,
        state: TelegramState,
        user_id: int,
        first_name: str,
        language_code: str | None,
        last_name: str | None = None,
        username: str | None = None,
    ) -> None:
        self._state = state
        self.id = user_id
        self.first_name = first_name
        self.language_code = language_code
        self.last_name = last_name
        self.username = username

    @property
    def chat_id(self) -> int:
        """The private chat's id, which Telegram makes equal to the user's id."""
        return self.id

    def to_json(self) -> JSON:
        """The ``User`` object."""
        user: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def chat_json(self) -> JSON:
        """The ``Chat`` object of the private chat."""
        chat: JSON = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat

    # -- messages ---------------------------------------------------------------------------

    def send_text(
        self, text: str, *, entities: list[JSON] | None = None, reply_to: int | None = None
    ) -> JSON:
        """Send a text message, optionally replying to message ``reply_to``."""
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        return self._send(content, reply_to=reply_to)

    def send_command(self, command: str, args: str | None = None) -> JSON:
        """Send ``/command args`` with the bot_command entity Telegram attaches."""
        command = command if command.startswith("/") else f"/{command}"
        text = f"{command} {args}" if args else command
        entity = {"offset": 0, "length": utf16_length(command), "type": "bot_command"}
        return self._send({"text": text, "entities": [entity]})

    def send_photo(
        self,
        data: bytes,
        caption: str | None = None,
        media_group_id: str | None = None,
        *,
        file_size: int | None = None,
    ) -> JSON:
        """Send a photo; its sizes are registered so that getFile and the download work."""
        content: JSON = {"photo": self._state.photo_sizes(data, file_size)}
        return self._send(_with_caption(content, caption), media_group_id=media_group_id)

    def send_document(
        self,
        data: bytes,
        file_name: str,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        media_group_id: str | None = None,
        *,
        file_size: int | None = None,
    ) -> JSON:
        """Send a document; ``file_size`` overrides the reported size (e.g. to exceed 20 MB)."""
        stored = self._state.register_file(
            data, "document", file_name=file_name, mime_type=mime_type, file_size=file_size
        )
        content: JSON = {"document": stored.to_document_json()}
        return self._send(_with_caption(content, caption), media_group_id=media_group_id)

    def send_sticker(self, emoji: str = "👍") -> JSON:
        """Send a sticker."""
        stored = self._state.register_file(_STICKER_BYTES, "sticker")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": stored.file_size,
        }
        return self._send({"sticker": sticker})

    def send_voice(self, data: bytes = _VOICE_BYTES, duration: int = 2) -> JSON:
        """Send a voice message."""
        stored = self._state.register_file(data, "voice", mime_type="audio/ogg")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": stored.file_size,
        }
        return self._send({"voice": voice})

    def send_album(
        self, items: Sequence[bytes | AlbumPhoto | AlbumDocument], caption: str | None = None
    ) -> list[JSON]:
        """Send photos/documents (bytes mean a photo) sharing one media_group_id, at once.

        Telegram delivers an album as one update per item; ``caption`` goes on the first
        item, where Telegram clients put an album's caption.
        """
        if not items:
            raise ValueError("an album needs at least one item")
        group_id = self._state.new_media_group_id()
        messages: list[JSON] = []
        for index, item in enumerate(items):
            first_caption = caption if index == 0 else None
            if isinstance(item, bytes):
                item = AlbumPhoto(item)
            if isinstance(item, AlbumPhoto):
                message = self.send_photo(
                    item.data, item.caption or first_caption, group_id, file_size=item.file_size
                )
            else:
                message = self.send_document(
                    item.data,
                    item.file_name,
                    item.mime_type,
                    item.caption or first_caption,
                    group_id,
                    file_size=item.file_size,
                )
            messages.append(message)
        return messages

    def edit_text(self, message_id: int, new_text: str) -> JSON:
        """Edit one of this user's text messages; enqueues an edited_message update."""
        chat = self._state.chat_of(self.id)
        message = chat.live_message(message_id)
        if message is None or message["from"]["id"] != self.id or "text" not in message:
            raise ValueError(f"user {self.id} has no text message {message_id}")
        message["text"] = new_text
        message.pop("entities", None)
        message["edit_date"] = self._state.now()
        return self._enqueue("edited_message", message)

    def tap(self, message: BotMessage | int, callback_data: str, *, strict: bool = True) -> str:
        """Tap an inline button on a bot message; returns the callback query id.

        With ``strict`` the button must be on the message as it stands now, which catches a
        test tapping a button the bot never showed or already took away.
        """
        message_id = message if isinstance(message, int) else message.message_id
        chat = self._state.chat_of(self.id)
        current = chat.live_message(message_id)
        if current is None:
            raise ValueError(f"no message {message_id} in chat {self.id}")
        if strict:
            extras = chat.bot_extras.get(message_id)
            markup = extras.reply_markup if extras is not None else None
            offered = [button.get("callback_data") for button in inline_buttons(markup)]
            if callback_data not in offered:
                raise ValueError(
                    f"message {message_id} has no button with callback_data "
                    f"{callback_data!r}; it offers {offered}"
                )
        query_id = self._state.new_callback_query_id()
        query = {
            "id": query_id,
            "from": self.to_json(),
            "message": current,
            "chat_instance": str(-(10**18) - self.id),
            "data": callback_data,
        }
        self._state.enqueue({"callback_query": query})
        return query_id

    # -- blocking ---------------------------------------------------------------------------

    def block_bot(self) -> None:
        """Block the bot: from now on everything the bot sends this chat answers 403."""
        self._state.blocked_chats.add(self.id)

    def unblock_bot(self) -> None:
        """Unblock the bot."""
        self._state.blocked_chats.discard(self.id)

    def _send(
        self, content: JSON, *, media_group_id: str | None = None, reply_to: int | None = None
    ) -> JSON:
        chat = self._state.chat_of(self.id)
        message: JSON = {
            "message_id": chat.allocate_message_id(),
            "from": self.to_json(),
            "chat": self.chat_json(),
            "date": self._state.now(),
        }
        if media_group_id is not None:
            message["media_group_id"] = media_group_id
        quoted = chat.live_message(reply_to) if reply_to is not None else None
        if quoted is not None:
            message["reply_to_message"] = {
                k: v for k, v in quoted.items() if k != "reply_to_message"
            }
        message.update(content)
        chat.messages[message["message_id"]] = message
        return self._enqueue("message", message)

    def _enqueue(self, kind: str, message: JSON) -> JSON:
        delivered: JSON = self._state.enqueue({kind: message})[kind]
        return delivered


def _with_caption(content: JSON, caption: str | None) -> JSON:
    if caption:
        content["caption"] = caption
    return content
