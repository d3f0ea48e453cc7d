"""Updates of different people run at once; one person's updates run in the order they came.

With python-telegram-bot's default, updates are handled one after another, so one coordinator's
import or chart would hold up every liaison. Running all updates concurrently would let two
updates of one person (an album's photos, a double tap) race through the same dialog. This
processor does both right: concurrency across chats, order within a chat.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Processes each chat's updates in order, different chats concurrently."""

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[object, asyncio.Lock] = {}
        self._users: dict[object, int] = {}

    @staticmethod
    def _key(update: object) -> object:
        if isinstance(update, Update):
            if update.effective_chat is not None:
                return update.effective_chat.id
            if update.effective_user is not None:
                return ("user", update.effective_user.id)
        return None  # no chat: serialise with the other chatless updates

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the update once the earlier updates of its chat are done."""
        key = self._key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:
                # Forget idle chats so the table does not grow with every person ever seen.
                del self._users[key]
                del self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""
