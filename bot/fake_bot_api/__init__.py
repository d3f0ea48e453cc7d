"""A local fake of the Telegram Bot API that a real python-telegram-bot Application runs against.

The server speaks HTTP/1.1 on 127.0.0.1 (standard library only, so the package gains no
dependency) and answers the methods the bot uses the way Telegram does: ``{"ok": true,
"result": ...}`` with realistic objects, and Bot API errors (``400 Bad Request: ...``,
``403 Forbidden: ...``, ``429 Too Many Requests`` with ``retry_after``) where Telegram gives
them. It serves the tests (which act as users, inspect what the bot sent and inject faults)
and ``kaohe console`` (a local mode in which a person plays the user)::

    async with FakeBotApi() as server:
        app = (
            ApplicationBuilder()
            .token(server.token)
            .base_url(server.base_url)
            .base_file_url(server.base_file_url)
            .build()
        )
        user = server.user(1001, "张三")
        user.send_command("/start")
        ...
        await server.wait_for(lambda: server.messages_to(1001))

Layout: ``server`` (HTTP routing, faults, flood control, the test API), ``methods`` (one
handler per Bot API method, dispatched through ``METHODS``), ``state`` (users, chats,
messages, files, pending updates), ``users`` (the user side), ``formatting`` (HTML parse
mode, UTF-16 lengths, image sizes), ``transport`` (HTTP/1.1 and multipart), ``models``.

Deliberate simplifications: private chats only; HTML parse mode becomes plain text plus
entities (so a malformed template fails here as on Telegram) while Markdown modes are echoed
untouched; photo thumbnails download the original bytes; ``allowed_updates`` is ignored;
webhooks are recorded but never called; URLs as files are refused (nothing is fetched).
"""

from bot.fake_bot_api.formatting import image_size, parse_html, utf16_length
from bot.fake_bot_api.methods import METHODS
from bot.fake_bot_api.models import (
    AlbumDocument,
    AlbumPhoto,
    ApiCall,
    ApiError,
    BotMessage,
    CallbackAnswer,
    FaultKind,
    StoredFile,
    UploadedFile,
)
from bot.fake_bot_api.server import FakeBotApi
from bot.fake_bot_api.users import FakeUser

__all__ = [
    "METHODS",
    "AlbumDocument",
    "AlbumPhoto",
    "ApiCall",
    "ApiError",
    "BotMessage",
    "CallbackAnswer",
    "FakeBotApi",
    "FakeUser",
    "FaultKind",
    "StoredFile",
    "UploadedFile",
    "image_size",
    "parse_html",
    "utf16_length",
]
