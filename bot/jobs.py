"""The bot's repeating jobs on python-telegram-bot's JobQueue (the one scheduler).

Jobs are thin: they run services off the event loop and send what the services return. To add
a job, append a `RepeatingJob` to `JOBS` (or call `add_repeating(application, ...)`).

The reminder job plans the reminder rows from the deadlines, claims the due ones under this
Application's scheduler id, sends each in its recipient's language and reports back at once,
so that a restart or a second scheduler on the same database never sends one twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import Bot
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.context import BotDeps, KaoheContext
from bot.digest import details_markup
from services.reminders import (
    CATCH_UP,
    DIGEST,
    Outgoing,
    due_reminders,
    mark_failed,
    mark_sent,
    new_scheduler_id,
    plan_reminders,
)
from storage.errors import DatabaseUnavailable
from templates import normalise_language, render

log = logging.getLogger(__name__)

REMINDER_INTERVAL = timedelta(minutes=1)
SCHEDULER_ID = "scheduler_id"


@dataclass(frozen=True)
class SendResult:
    """What one reminder tick did."""

    sent: int = 0
    failed: int = 0
    retrying: int = 0


def reminder_text(outgoing: Outgoing, language: str) -> str:
    """The message of a reminder, digest, escalation or catch-up in `language` (HTML)."""
    if outgoing.kind == CATCH_UP:
        lines = [render(f"remind.line_{kind}", language, **p) for kind, p in outgoing.items]
        return render("remind.catch_up", language, html=True, count=len(lines), lines=lines)
    return render(f"remind.{outgoing.kind}", language, html=True, **outgoing.params)


async def send_reminders(deps: BotDeps, bot: Bot, scheduler_id: str) -> SendResult:
    """One tick: plan the reminders, claim what is due, send it, report back each one."""
    await asyncio.to_thread(plan_reminders, deps.uow())
    outgoing = await asyncio.to_thread(due_reminders, deps.uow(), scheduler_id)
    sent = failed = retrying = 0
    for item in outgoing:
        language = normalise_language(item.language or deps.settings.language)
        try:
            markup = (
                details_markup(deps.signer, language, item.params) if item.kind == DIGEST else None
            )
            await bot.send_message(
                item.telegram_user_id, reminder_text(item, language), reply_markup=markup
            )
        except (Forbidden, BadRequest) as exc:
            # Blocked, deactivated, chat not found: trying again would not help.
            log.warning("reminder to %s refused: %s", item.telegram_user_id, exc)
            await asyncio.to_thread(
                mark_failed, deps.uow(), scheduler_id, item, str(exc), unreachable=True
            )
            failed += 1
        except RetryAfter as exc:
            pause = exc.retry_after
            seconds = pause.total_seconds() if isinstance(pause, timedelta) else float(pause)
            await asyncio.to_thread(
                mark_failed, deps.uow(), scheduler_id, item, str(exc), retry_after=seconds
            )
            retrying += 1
        except TelegramError as exc:
            # Timeouts, network trouble, Telegram's 5xx: later, with a growing pause.
            log.warning("reminder to %s failed: %s", item.telegram_user_id, exc)
            again = await asyncio.to_thread(mark_failed, deps.uow(), scheduler_id, item, str(exc))
            retrying += again
            failed += not again
        else:
            await asyncio.to_thread(mark_sent, deps.uow(), scheduler_id, item)
            sent += 1
    return SendResult(sent, failed, retrying)


async def reminder_job(context: KaoheContext) -> None:
    """The JobQueue callback of the reminders."""
    application: Any = context.application
    try:
        await send_reminders(context.deps, context.bot, application.bot_data[SCHEDULER_ID])
    except DatabaseUnavailable as exc:
        log.warning("reminders skipped this tick: database unavailable (%s)", exc)


@dataclass(frozen=True)
class RepeatingJob:
    """A job run every `interval`, first after `first`."""

    name: str
    callback: Callable[[KaoheContext], Awaitable[None]]
    interval: timedelta
    first: timedelta = timedelta(seconds=5)


JOBS: list[RepeatingJob] = [RepeatingJob("reminders", reminder_job, REMINDER_INTERVAL)]


def add_repeating(application: Any, job: RepeatingJob) -> None:
    """Schedule one repeating job on the application's JobQueue."""
    queue = application.job_queue
    if queue is None:  # python-telegram-bot installed without the job-queue extra
        raise RuntimeError("python-telegram-bot[job-queue] is needed for the scheduled jobs")
    queue.run_repeating(job.callback, interval=job.interval, first=job.first, name=job.name)


def register_jobs(
    application: Any, *, interval: timedelta | None = None, first: timedelta | None = None
) -> str:
    """Register the bot's repeating jobs (reminders every minute unless `interval` says
    otherwise); they run once the application starts. Returns this Application's scheduler id."""
    scheduler_id = new_scheduler_id()
    application.bot_data[SCHEDULER_ID] = scheduler_id
    for job in JOBS:
        if job.name == "reminders" and (interval is not None or first is not None):
            job = RepeatingJob(
                job.name, job.callback, interval or job.interval, first or job.first
            )
        add_repeating(application, job)
    return scheduler_id
