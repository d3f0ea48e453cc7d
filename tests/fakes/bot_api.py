"""Test support for the fake Telegram Bot API: re-exports, pytest fixtures and PTB helpers.

Register the fixtures for the whole suite with ``pytest_plugins = ["tests.fakes.bot_api"]`` in
the root ``tests/conftest.py``, or import them into a test module.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes

from bot.fake_bot_api import (
    AlbumDocument,
    AlbumPhoto,
    ApiCall,
    ApiError,
    BotMessage,
    CallbackAnswer,
    FakeBotApi,
    FakeUser,
    FaultKind,
    StoredFile,
    UploadedFile,
    parse_html,
)

__all__ = [
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
    "application_builder",
    "fake_bot_api",
    "parse_html",
    "polling",
    "record_errors",
    "tiny_png",
]


@pytest.fixture
async def fake_bot_api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeBotApi]:
    """A running fake Bot API on a free port, stopped after the test."""
    # PTB 22 builds RetryAfter through a deprecated int accessor unless PTB_TIMEDELTA opts in
    # to timedeltas; under -W error the PTBDeprecationWarning would replace the RetryAfter.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    async with FakeBotApi() as server:
        yield server
    # A crash inside the fake is answered as a 500 that the bot may swallow; fail loudly.
    assert server.internal_errors == [], f"the fake Bot API failed: {server.internal_errors}"


def application_builder(server: FakeBotApi) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
    """An ApplicationBuilder already pointed at ``server`` (add handlers, then build)."""
    return (
        ApplicationBuilder()
        .token(server.token)
        .base_url(server.base_url)
        .base_file_url(server.base_file_url)
    )


@asynccontextmanager
async def polling(
    app: Application[Any, Any, Any, Any, Any, Any], *, timeout: int = 1
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """Run ``app`` with long polling for the body of the ``async with``; shut down cleanly."""
    await app.initialize()
    try:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=timeout)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()
    finally:
        await app.shutdown()


def record_errors(app: Application[Any, Any, Any, Any, Any, Any]) -> list[BaseException]:
    """Collect the errors the application's handlers raise (PTB would only log them)."""
    errors: list[BaseException] = []

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if context.error is not None:
            errors.append(context.error)

    app.add_error_handler(on_error)
    return errors


def tiny_png(width: int = 4, height: int = 3) -> bytes:
    """A valid grey PNG of the given size, for photos that must survive image checks."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def reply_with_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A handler that echoes the user's text back (the smallest possible bot)."""
    if update.effective_message is not None and update.effective_message.text is not None:
        await update.effective_message.reply_text(update.effective_message.text)
