"""Telling other people something at once (a unit's liaisons, the coordinators), each in their
own language, without letting one unreachable person break the action that caused it.

`tell(context, telegram_ids, key, **params)` renders catalog message `key` in each recipient's
language (their stored language, else the bot's default) and sends it; a parameter that is a
`Localized` (a catalog key and its parameters) is rendered in the recipient's language first,
so that a finding's source or a decision reads in Chinese to one person and in English to
another. A person who blocked the bot, deleted their account or cannot be reached for another
Telegram reason is logged and returned, never raised: the coordinator's decision is already
stored, and the coordinator should learn whom to call instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from telegram.error import TelegramError

from bot.context import KaoheContext
from services.people import person_session
from templates import normalise_language, render

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Localized:
    """A piece of text to render in the recipient's language (plain; the message escapes it)."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, language: str) -> str:
        """The text in `language`."""
        return render(self.key, language, **self.params)


async def recipient_language(context: KaoheContext, telegram_id: int) -> str:
    """The language a person reads: their stored choice, else the bot's default."""
    session = await context.call(person_session, context.deps.read_uow(), telegram_id)
    stored = session.language if session is not None else None
    return normalise_language(stored or context.deps.settings.language)


async def tell(
    context: KaoheContext, telegram_ids: Iterable[int], key: str, **params: Any
) -> list[int]:
    """Send message `key` to each person in their language; the ids that could not be reached
    (blocked the bot, no such chat, Telegram failing) are returned, in order."""
    unreachable: list[int] = []
    for telegram_id in dict.fromkeys(telegram_ids):
        language = await recipient_language(context, telegram_id)
        values = {
            name: value.text(language) if isinstance(value, Localized) else value
            for name, value in params.items()
        }
        text = render(key, language, html=True, **values)
        try:
            await context.bot.send_message(telegram_id, text)
        except TelegramError as exc:
            # Forbidden (blocked), BadRequest (chat not found), network trouble after retries:
            # the action that caused the message stands; the caller tells its author.
            log.warning("could not tell telegram user %s (%s): %s", telegram_id, key, exc)
            unreachable.append(telegram_id)
    return unreachable


async def names_of(context: KaoheContext, telegram_ids: Iterable[int]) -> list[str]:
    """The display names of registered people by Telegram id (the id for anyone unknown)."""
    names = []
    for telegram_id in telegram_ids:
        session = await context.call(person_session, context.deps.read_uow(), telegram_id)
        names.append(session.display_name if session is not None else str(telegram_id))
    return names
