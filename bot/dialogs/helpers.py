"""Small things many dialogs need: local times, excerpts, a service's refusal in words."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.dialogs.engine import Turn
from bot.services.errors import ServiceError
from storage.clock import as_utc


def excerpt(text: str, limit: int) -> str:
    """The text on one line, cut to `limit` characters with an ellipsis when cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def local_now(turn: Turn) -> datetime:
    """Now, in the bot's time zone."""
    deps = turn.context.deps
    return deps.clock.now().astimezone(ZoneInfo(deps.settings.timezone))


def local_time(turn: Turn, moment: datetime) -> str:
    """A moment as the person reads it: date and minute in the bot's time zone."""
    zone = ZoneInfo(turn.context.deps.settings.timezone)
    return as_utc(moment).astimezone(zone).strftime("%Y-%m-%d %H:%M")


async def service_error(turn: Turn, exc: ServiceError) -> None:
    """Tell the person, in their language, why a service refused."""
    await turn.say(f"errors.{exc.code}", **exc.params)
