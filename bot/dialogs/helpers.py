"""Small things many dialogs need: local times, excerpts, a refusal in words, long messages."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton

from bot.dialogs.engine import Turn
from services.errors import ServiceError
from services.plans import default_year
from storage.clock import as_utc

# What a person typed, shown back to them (an unknown unit, a date not understood), is cut to
# this many characters: a 10,000-character paste must not make the answer too long to send.
ECHO = 60


def excerpt(text: str, limit: int) -> str:
    """The text on one line, cut to `limit` characters with an ellipsis when cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def local_now(turn: Turn) -> datetime:
    """Now, in the bot's time zone."""
    deps = turn.context.deps
    return deps.clock.now().astimezone(ZoneInfo(deps.settings.timezone))


async def assessment_year(turn: Turn) -> int:
    """The assessment year meant when none is named: the latest loaded, unclosed year."""
    today = local_now(turn).date()
    year: int = await turn.call(default_year, turn.context.deps.read_uow(), today)
    return year


def local_time(turn: Turn, moment: datetime) -> str:
    """A moment as the person reads it: date and minute in the bot's time zone."""
    zone = ZoneInfo(turn.context.deps.settings.timezone)
    return as_utc(moment).astimezone(zone).strftime("%Y-%m-%d %H:%M")


async def service_error(turn: Turn, exc: ServiceError) -> None:
    """Tell the person, in their language, why a service refused."""
    await turn.say(f"errors.{exc.code}", **exc.params)


# Telegram's limit on a message's text, in UTF-16 code units.
MESSAGE_LIMIT = 4096


def utf16_length(text: str) -> int:
    """The length Telegram counts: UTF-16 code units (an emoji counts as two)."""
    return len(text.encode("utf-16-le")) // 2


def split_messages(blocks: Iterable[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join blocks (each complete HTML) with newlines into as few messages as fit under
    `limit`; a block is cut only if it cannot fit on its own (at its line ends, or, for a
    single line that long, hard)."""
    messages: list[str] = []
    current = ""
    for block in _fitting(blocks, limit):
        if not current and not block:
            continue  # no message starts with a blank line
        candidate = f"{current}\n{block}" if current else block
        if current and utf16_length(candidate) > limit:
            messages.append(current)
            current = block
        else:
            current = candidate
    if current:
        messages.append(current)
    return messages


def _fitting(blocks: Iterable[str], limit: int) -> Iterator[str]:
    """The blocks, each too long one in pieces that fit (its lines, or cuts of a line)."""
    for block in blocks:
        if utf16_length(block) <= limit:
            yield block
            continue
        for line in block.split("\n"):
            while utf16_length(line) > limit:
                # Cut by characters at a safe length (a character is at most two units).
                yield line[: limit // 2]
                line = line[limit // 2 :]
            yield line


async def send_blocks(
    turn: Turn,
    blocks: Iterable[str],
    buttons: Sequence[Sequence[InlineKeyboardButton]] | None = None,
) -> None:
    """Send HTML blocks as few messages as fit; the buttons go on the last one."""
    messages = split_messages(blocks)
    for i, text in enumerate(messages):
        await turn.send(text, buttons if i == len(messages) - 1 else None)
