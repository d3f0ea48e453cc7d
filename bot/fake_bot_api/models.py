"""Value types of the fake Bot API: errors, recorded calls, stored files, bot message views."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

JSON = dict[str, Any]
FaultKind = Literal[400, 403, 429, 500, 502, "timeout"]

# Telegram's documented limits, enforced so that a bot that would fail in production fails here.
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
DOWNLOAD_LIMIT_BYTES = 20 * 1024 * 1024
UPLOAD_LIMIT_BYTES = 50 * 1024 * 1024


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description and optional response parameters."""

    def __init__(
        self, error_code: int, description: str, parameters: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = dict(parameters) if parameters else None

    def to_json(self) -> JSON:
        """The response body Telegram sends for this error."""
        body: JSON = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> ApiError:
    """A ``400 Bad Request: <reason>`` error."""
    return ApiError(400, f"Bad Request: {reason}")


def too_many_requests(retry_after: int) -> ApiError:
    """A ``429 Too Many Requests`` error carrying ``parameters.retry_after``."""
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def bot_blocked() -> ApiError:
    """The 403 Telegram answers for a user who blocked the bot."""
    return ApiError(403, "Forbidden: bot was blocked by the user")


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class ApiCall:
    """One request the server received; ``status`` and ``result`` are filled once answered.

    ``status`` is 0 when no answer was sent (the client disconnected first, or the server
    stopped); ``time`` is ``time.monotonic()`` at arrival, to measure the bot's pacing.
    """

    method: str
    params: JSON
    files: dict[str, UploadedFile]
    time: float
    status: int | None = None
    result: Any = None
    error: str | None = None

    @property
    def chat_id(self) -> int | str | None:
        """The ``chat_id`` parameter, if the call had one."""
        value = self.params.get("chat_id")
        return value if isinstance(value, int | str) else None


@dataclass
class StoredFile:
    """A file the fake Telegram holds: what getFile reports and what the download returns."""

    file_id: str
    file_unique_id: str
    kind: str  # photo, document, voice, sticker
    data: bytes
    file_size: int  # what Telegram reports; may exceed len(data) to simulate a huge file
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None

    def to_file_json(self) -> JSON:
        """The ``File`` object getFile returns."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "file_path": self.file_path,
        }

    def to_document_json(self) -> JSON:
        """The ``Document`` object of a message carrying this file."""
        document: JSON = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.file_name:
            document["file_name"] = self.file_name
        if self.mime_type:
            document["mime_type"] = self.mime_type
        document["file_size"] = self.file_size
        return document


@dataclass(frozen=True)
class CallbackAnswer:
    """An ``answerCallbackQuery`` the bot made."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    time: float


@dataclass(frozen=True)
class BotMessage:
    """A snapshot of one message the bot sent, as it currently stands (edits applied)."""

    chat_id: int
    message_id: int
    kind: str  # text, photo, document, sticker, voice, forward, other
    text: str | None  # the plain text (or caption) after Telegram parsed the markup
    entities: list[JSON]
    source_text: str | None  # the text exactly as the bot sent it (HTML tags and all)
    parse_mode: str | None
    reply_markup: JSON | None  # any markup the bot sent: inline, reply keyboard or removal
    media_group_id: str | None
    edited: bool
    deleted: bool
    raw: JSON  # the Message object as Telegram would return it now

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        """The inline keyboard flattened to (label, callback_data) pairs, row by row."""
        return [
            (b.get("text", ""), b.get("callback_data")) for b in inline_buttons(self.reply_markup)
        ]

    def callback_data(self, label: str) -> str:
        """The callback data of the inline button labelled ``label``."""
        for text, data in self.buttons:
            if text == label and data is not None:
                return data
        raise KeyError(f"no inline button {label!r} on message {self.message_id}: {self.buttons}")


@dataclass(frozen=True)
class AlbumPhoto:
    """A photo in a user's album (see ``FakeUser.send_album``)."""

    data: bytes
    caption: str | None = None
    file_size: int | None = None


@dataclass(frozen=True)
class AlbumDocument:
    """A document in a user's album (see ``FakeUser.send_album``)."""

    data: bytes
    file_name: str
    mime_type: str = "application/octet-stream"
    caption: str | None = None
    file_size: int | None = None


def inline_buttons(markup: Mapping[str, Any] | None) -> list[JSON]:
    """Every button of an inline keyboard markup, row by row (empty for other markups)."""
    rows = (markup or {}).get("inline_keyboard") or []
    return [button for row in rows for button in row]
