"""/publish [year]: publish the year's (or a quarter's) standings and give each unit's liaisons,
privately, their own unit's assessment report.

Steps: choose the period (the year, or a quarter already begun) -> a confirmation that says what
will happen (publishing is a costly mistake: messages once sent cannot be taken back) ->
services.publications.publish_standings (a quarter) or services.results.publish_result (the
year: only its approved, current result, as of the moment it was frozen) -> delivery. The
dialog ends before the service is called, so a double tap on "publish" finds its button
expired instead of publishing twice.

Delivery: for every active unit with active liaisons (services.publications.load_audience),
the unit's assessment report workbook (services.unit_report.unit_report_bytes, as of the
publication's moment, in each liaison's language) is made off the event loop and sent as a
document to that unit's liaisons only, with a short caption giving the unit's rank within its
group — nothing of another unit beyond that rank. A liaison who blocked the bot
(telegram.error.Forbidden) or cannot be reached for another Telegram reason is logged and
listed to the coordinator; the others still receive theirs.

Pacing: Telegram allows a bot about 30 messages a second overall. One document per liaison is
sent at a time (sequential awaits, never gathered) with a pause of SEND_PAUSE between sends, so
a district of a few hundred liaisons stays well under the limit; a 429 (RetryAfter) is waited
out once and the send retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import ClassVar

from telegram.constants import ChatAction
from telegram.error import Forbidden, RetryAfter, TelegramError

from bot.dialogs.engine import Dialog, Step, Tapped, Turn
from bot.dialogs.helpers import (
    assessment_year,
    group_name,
    local_time_text,
    parse_year,
    preparing,
    say_error,
    send_blocks,
    state_blocks,
    today,
)
from scoring.calendar import end_of_day
from services.access import Role
from services.errors import ServiceError
from services.plans import current_plan
from services.publications import (
    PERIODS,
    Audience,
    Liaison,
    PublicationView,
    load_audience,
    period_days,
    publish_standings,
)
from services.results import ResultState, publish_result, result_state
from services.unit_lookup import UnitRef
from services.unit_report import UnitDossier, unit_report_bytes
from storage.clock import as_utc
from storage.statuses import ResultStatus
from templates import render

log = logging.getLogger(__name__)

# Seconds between two sends: under Telegram's ~30 messages a second with room to spare.
SEND_PAUSE = 0.04
# The longest wait for a 429 worth waiting out before giving up on a recipient.
MAX_RETRY_WAIT = 30.0


@dataclass
class Delivery:
    """What happened to the reports: who received one, who could not be reached."""

    units: set[str] = field(default_factory=set)
    reached: int = 0
    blocked: list[tuple[Liaison, str]] = field(default_factory=list)
    unreachable: list[tuple[Liaison, str]] = field(default_factory=list)
    report_failed: list[str] = field(default_factory=list)


def offered_periods(year: int, today_: date) -> list[str]:
    """The periods of `year` that have begun by `today_` (the year itself first)."""
    return [p for p in PERIODS if period_days(year, p)[0] <= today_]


class PublishDialog(Dialog):
    """/publish: period -> confirmation -> publish -> each unit's liaisons get their report."""

    kind = "publish"
    cancelled_key = "common.cancelled_nothing"
    command = "publish"
    roles = frozenset({Role.COORDINATOR, Role.ADMIN})

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """Offer the periods of the year that have begun."""
        now_day = today(turn)
        try:
            year = parse_year(args) or await assessment_year(turn)
        except ValueError:
            await turn.say("coord.publish_usage")
            return
        if year > now_day.year:
            await turn.say("coord.publish_future_year", year=year)
            return
        await turn.start("period", {"year": year})
        await self.prompt(turn)

    async def _show_periods(self, turn: Turn) -> None:
        """The periods of the year that have begun, and cancel."""
        year = int(turn.data["year"])
        periods = offered_periods(year, today(turn))
        buttons = [
            [turn.button(turn.plain(f"coord.publish_period_{p}"), "p", p) for p in periods[:1]],
            [turn.button(turn.plain(f"coord.publish_period_{p}"), "p", p) for p in periods[1:]],
            [turn.button(turn.plain("coord.publish_cancel_button"), "no")],
        ]
        await turn.say("coord.publish_choose_period", [row for row in buttons if row], year=year)

    async def _cancel(self, turn: Turn, arg: str) -> None:
        await turn.finish()
        await turn.say("coord.publish_cancelled")

    async def _period(self, turn: Turn, arg: str) -> None:
        year = int(turn.data["year"])
        if arg not in offered_periods(year, today(turn)):
            await self.prompt(turn)
            return
        # A new version: the period list's buttons expire, so that a confirmation can only
        # ever publish the period it names.
        await turn.start("confirm", {"year": year, "period": arg})
        await self._confirm(turn)

    async def _confirmed(self, turn: Turn, arg: str) -> None:
        if arg != turn.data.get("period"):
            await self.prompt(turn)
            return
        await self._publish(turn)

    async def _confirm(self, turn: Turn) -> None:
        deps = turn.context.deps
        year, period = int(turn.data["year"]), str(turn.data["period"])
        try:
            plan = await turn.call(current_plan, deps.read_uow(), year)
            people = await turn.call(
                load_audience, deps.read_uow(), turn.who.actor, deps.settings.language
            )
        except ServiceError as exc:
            await turn.finish()
            await say_error(turn, exc)
            return
        # The moment the service will use: now, but never after the period's end; the year
        # is published only from its approved result, as of the moment it was frozen.
        last = period_days(year, period)[1]
        as_of = min(as_utc(deps.clock.now()), end_of_day(last, plan.timezone))
        if period == "year":
            approved = await self._approved(turn, year)
            if approved is None:
                return
            as_of = approved.result.as_of
        # A period not over yet is published from part of its data: say so, and ask for it.
        days_left = (last - today(turn)).days
        confirm_key = (
            "coord.publish_early_button" if days_left > 0 else "coord.publish_confirm_button"
        )
        buttons = [
            [
                turn.button(turn.plain(confirm_key), "ok", period),
                turn.button(turn.plain("coord.publish_cancel_button"), "no"),
            ]
        ]
        if days_left > 0:
            await turn.say(
                "coord.publish_early_warning",
                period=turn.plain(f"coord.publish_period_{period}"),
                year=year,
                last=last.isoformat(),
                days=days_left,
            )
        await turn.say(
            "coord.publish_confirm",
            buttons,
            year=year,
            period=turn.plain(f"coord.publish_period_{period}"),
            as_of=local_time_text(as_of, plan.timezone),
            units=len(people.reached_units),
            liaisons=people.liaison_count,
            without=len(people.without_liaison),
        )

    async def _publish(self, turn: Turn) -> None:
        deps = turn.context.deps
        year, period = int(turn.data["year"]), str(turn.data["period"])
        # End the dialog first: a second tap on the same button now finds it expired.
        await turn.finish()
        try:
            publication: PublicationView = (
                await turn.call(publish_result, deps.uow(), turn.who.actor, year)
                if period == "year"
                else await turn.call(publish_standings, deps.uow(), turn.who.actor, year, period)
            )
        except ServiceError as exc:
            await say_error(turn, exc)
            await turn.say("coord.publish_failed_again")
            return
        as_of_text = local_time_text(publication.as_of, publication.timezone)
        await preparing(
            turn,
            "coord.publish_sending",
            ChatAction.UPLOAD_DOCUMENT,
            year=year,
            period=turn.plain(f"coord.publish_period_{period}"),
            as_of=as_of_text,
        )
        people = await turn.call(
            load_audience, deps.read_uow(), turn.who.actor, deps.settings.language
        )
        delivery = await deliver(turn, publication, people)
        await self._summary(turn, people, delivery)

    async def _approved(self, turn: Turn, year: int) -> ResultState | None:
        """The year's approved, current result; None after saying why there is none."""
        state: ResultState | None = await turn.call(
            result_state, turn.context.deps.read_uow(), year
        )
        if state is None:
            await turn.finish()
            await turn.say("errors.result_none", year=year)
            return None
        if state.result.status is not ResultStatus.APPROVED:
            await turn.finish()
            await turn.say("errors.result_not_approved", year=year, status=state.result.status)
            return None
        if state.stale:
            await turn.finish()
            await send_blocks(turn, state_blocks(turn, state))
            return None
        return state

    async def _summary(self, turn: Turn, people: Audience, delivery: Delivery) -> None:
        not_reached = len(delivery.blocked) + len(delivery.unreachable)
        blocks = [
            turn.t(
                "coord.publish_done",
                units=len(delivery.units),
                reached=delivery.reached,
                not_reached=not_reached,
            )
        ]
        blocks.extend(
            turn.t("coord.publish_blocked", name=liaison.name, unit=unit)
            for liaison, unit in delivery.blocked
        )
        blocks.extend(
            turn.t("coord.publish_unreachable", name=liaison.name, unit=unit)
            for liaison, unit in delivery.unreachable
        )
        blocks.extend(
            turn.t("coord.publish_report_failed", unit=u) for u in delivery.report_failed
        )
        without = people.without_liaison
        if without:
            separator = turn.plain("year.flag_separator")
            blocks.append(
                turn.t(
                    "coord.publish_without_liaison",
                    count=len(without),
                    units=separator.join(u.name for u in without),
                )
            )
        await send_blocks(turn, blocks)

    steps: ClassVar[Mapping[str, Step]] = {
        "period": Step(_show_periods, buttons={"p": _period}),
        "confirm": Step(_confirm, buttons={"ok": _confirmed}),
    }
    anywhere: ClassVar[Mapping[str, Tapped]] = {"no": _cancel}


async def deliver(turn: Turn, publication: PublicationView, people: Audience) -> Delivery:
    """Send each unit's liaisons their unit's report, one recipient at a time."""
    deps = turn.context.deps
    delivery = Delivery()
    for unit in people.reached_units:
        liaisons = people.liaisons[unit.code]
        for language in sorted({li.language for li in liaisons}):
            try:
                report = await turn.call(
                    unit_report_bytes,
                    deps.read_uow(),
                    publication.year,
                    unit.code,
                    language,
                    publication.as_of,
                )
            except Exception:  # one unit's report must not keep the others from theirs
                log.exception("no assessment report for unit %s", unit.code)
                delivery.report_failed.append(unit.name)
                break
            data, dossier = report.content, report.dossier
            caption, filename = _caption(publication, unit, dossier, language)
            for liaison in (li for li in liaisons if li.language == language):
                outcome = await send_report(turn, liaison.telegram_id, data, filename, caption)
                if outcome is None:
                    delivery.reached += 1
                    delivery.units.add(unit.code)
                elif outcome == "blocked":
                    delivery.blocked.append((liaison, unit.name))
                else:
                    delivery.unreachable.append((liaison, unit.name))
                await asyncio.sleep(SEND_PAUSE)
    return delivery


def _caption(
    publication: PublicationView, unit: UnitRef, dossier: UnitDossier, language: str
) -> tuple[str, str]:
    """The caption (HTML) and file name of a unit's report, in the liaison's language."""
    result = dossier.explanation.result
    period = render(f"coord.publish_period_{publication.period}", language)
    caption = render(
        "coord.publish_liaison_caption",
        language,
        html=True,
        year=publication.year,
        period=period,
        as_of=local_time_text(publication.as_of, publication.timezone),
        unit=result.name,
        group=group_name(result.group, language),
        rank=result.rank,
        size=dossier.explanation.group_size,
        tier=result.tier,
        total=result.total,
    )
    filename = render(
        "coord.publish_file_name",
        language,
        year=publication.year,
        period=period,
        period_code=publication.period,
        unit=unit.name,
        unit_code=unit.code,
    )
    return caption, filename


async def send_report(
    turn: Turn, chat_id: int, data: bytes, filename: str, caption: str
) -> str | None:
    """Send one report; None when sent, else "blocked" or "unreachable" (logged, not raised)."""
    for attempt in range(2):
        try:
            await turn.context.bot.send_document(
                chat_id, document=data, filename=filename, caption=caption
            )
            return None
        except RetryAfter as exc:
            wait = _seconds(exc.retry_after)
            if attempt or wait > MAX_RETRY_WAIT:
                log.warning("flood control for telegram user %s: gave up", chat_id)
                return "unreachable"
            await asyncio.sleep(wait)
        except Forbidden as exc:
            log.warning("telegram user %s has blocked the bot: %s", chat_id, exc)
            return "blocked"
        except TelegramError as exc:
            log.warning("could not send a report to telegram user %s: %s", chat_id, exc)
            return "unreachable"
    return "unreachable"


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
