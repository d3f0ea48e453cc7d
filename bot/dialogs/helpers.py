"""Small things many dialogs need: local times, excerpts, a refusal in words, long messages."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, WebAppInfo
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.dialogs.engine import Step, Tapped, Turn
from bot.message_split import split_messages
from bot.notify import names_of
from scoring import Group
from scoring.calendar import local_date
from services.access import Role
from services.errors import NotFound, ServiceError
from services.plans import current_plan, default_year
from services.results import ResultState
from services.settings import Settings
from services.unit_lookup import UnitRef, all_units, find_units
from storage.clock import as_utc
from templates import render

log = logging.getLogger(__name__)

# What a unit picker hands the unit chosen to: (dialog, turn, unit).
Chosen = Callable[[Any, Turn, UnitRef], Awaitable[None]]

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


async def send_blocks(
    turn: Turn,
    blocks: Iterable[str],
    buttons: Sequence[Sequence[InlineKeyboardButton]] | None = None,
) -> None:
    """Send HTML blocks as few messages as fit; the buttons go on the last one."""
    messages = split_messages(blocks)
    for i, text in enumerate(messages):
        await turn.send(text, buttons if i == len(messages) - 1 else None)


# --- shared by several dialogs (dialogs never import each other) ---


def web_app_url(settings: Settings, path: str = "/") -> str | None:
    """The Mini App's https address of a page, or None without a public https address."""
    base = (settings.web_url or "").rstrip("/")
    if not base.startswith("https://"):
        return None
    return base + path


# Unit buttons per page of a group's list (two per row); Telegram allows 100 buttons.
UNIT_PAGE_SIZE = 24


# Candidates offered for a typed name that matches several units.
CANDIDATES = 8


async def current_year(turn: Turn) -> int:
    """The assessment year (the latest loaded, unclosed year; see scoring.assessment_year)."""
    return await assessment_year(turn)


async def plan_or_say(turn: Turn, year: int) -> Any:
    """The plan in force for `year`, or None after telling the person there is none."""
    try:
        return await turn.call(current_plan, turn.context.deps.read_uow(), year)
    except NotFound as exc:
        await turn.say(f"errors.{exc.code}", **exc.params)
        return None


def unit_label(unit: UnitRef) -> str:
    """How a unit is named on a button and in answers."""
    return unit.name


def unit_dict(unit: UnitRef) -> dict[str, Any]:
    """A unit as kept in a draft (JSON only)."""
    return {"id": unit.id, "code": unit.code, "name": unit.name, "group": unit.group}


class UnitPicker:
    """Choosing a unit: typed (a code, full name or part of a name) or from a group's buttons.

    A dialog calls `prompt` to ask, `text` with what the person typed and `button` with the
    picker's own actions (`handles(action)`); `text` and `button` return the unit once one is
    chosen, else None (they have answered: candidates, a list, or "nothing matches").
    """

    GROUP = "ug"
    PICK = "up"
    ACTIONS = frozenset({GROUP, PICK})

    def __init__(self, prompt_key: str) -> None:
        self.prompt_key = prompt_key

    def handles(self, action: str) -> bool:
        """Whether a button action is the picker's."""
        return action in self.ACTIONS

    def step(self, chosen: Chosen) -> Step:
        """A dialog's step that asks for the unit: `chosen(dialog, turn, unit)` once the person
        typed one or tapped it."""

        async def show(dialog: Any, turn: Turn) -> None:
            await self.prompt(turn)

        async def typed(dialog: Any, turn: Turn, text: str) -> None:
            unit = await self.text(turn, text)
            if unit is not None:
                await chosen(dialog, turn, unit)

        def tapped(action: str) -> Tapped:
            async def handler(dialog: Any, turn: Turn, arg: str) -> None:
                unit = await self.button(turn, action, arg)
                if unit is not None:
                    await chosen(dialog, turn, unit)

            return handler

        return Step(show, text=typed, buttons={a: tapped(a) for a in sorted(self.ACTIONS)})

    async def prompt(self, turn: Turn, **params: Any) -> None:
        """Ask for the unit: type it, or open a group's list."""
        await turn.say(self.prompt_key, await self.group_buttons(turn), **params)

    async def group_buttons(self, turn: Turn) -> list[list[InlineKeyboardButton]]:
        """A button per group that has units, opening its list."""
        units = await turn.call(all_units, turn.context.deps.read_uow())
        buttons = []
        for group in Group:
            count = sum(1 for u in units if u.group == group.value)
            if count:
                label = turn.plain("coord.grade_unit_group_button", group=group.value, count=count)
                buttons.append([turn.button(label, self.GROUP, f"{group.value}:0")])
        return buttons

    async def text(self, turn: Turn, text: str) -> UnitRef | None:
        """The unit the text names, or None after offering candidates or saying none matches."""
        matches: list[UnitRef] = await turn.call(
            find_units, turn.context.deps.read_uow(), text, CANDIDATES + 1
        )
        if len(matches) == 1:
            return matches[0]
        if not matches:
            await turn.say(
                "coord.grade_unit_none", await self.group_buttons(turn), query=excerpt(text, ECHO)
            )
            return None
        shown = ordered_units(matches)[:CANDIDATES]
        buttons = [[turn.button(unit_label(u), self.PICK, str(u.id))] for u in shown]
        await turn.say(
            "coord.grade_unit_several",
            buttons,
            query=excerpt(text, ECHO),
            more=len(matches) > CANDIDATES,
        )
        return None

    async def button(self, turn: Turn, action: str, arg: str) -> UnitRef | None:
        """A picker button: a group's list (a page of it), or a unit chosen."""
        units = await units_in_order(turn)
        if action == self.PICK:
            chosen = next((u for u in units if str(u.id) == arg), None)
            if chosen is None:
                await turn.say("coord.grade_unit_gone", await self.group_buttons(turn))
            return chosen
        group, _, page_text = arg.partition(":")
        members = [u for u in units if u.group == group]
        page = int(page_text) if page_text.isdigit() else 0
        pages = max(1, -(-len(members) // UNIT_PAGE_SIZE))
        page = min(page, pages - 1)
        shown = members[page * UNIT_PAGE_SIZE : (page + 1) * UNIT_PAGE_SIZE]
        buttons: list[list[InlineKeyboardButton]] = [
            [turn.button(unit_label(u), self.PICK, str(u.id)) for u in shown[i : i + 2]]
            for i in range(0, len(shown), 2)
        ]
        nav = []
        if page > 0:
            nav.append(turn.button("◀", self.GROUP, f"{group}:{page - 1}"))
        if page < pages - 1:
            nav.append(turn.button("▶", self.GROUP, f"{group}:{page + 1}"))
        if nav:
            buttons.append(nav)
        await turn.say("coord.grade_unit_list", buttons, group=group, page=page + 1, pages=pages)
        return None


def ordered_units(units: Sequence[UnitRef]) -> list[UnitRef]:
    """Towns first, then the zone and departments, each in the order they were registered
    (the order of the units workbook, which is the district's official order)."""
    groups = [g.value for g in Group]
    return sorted(units, key=lambda u: (groups.index(u.group) if u.group in groups else 9, u.id))


async def units_in_order(turn: Turn) -> list[UnitRef]:
    """The active units, towns first, in registration order."""
    return ordered_units(await turn.call(all_units, turn.context.deps.read_uow()))


# Who may look at standings and reports: coordinators, admins and leaders.
VIEW_ROLES: frozenset[Role] = frozenset({Role.COORDINATOR, Role.ADMIN, Role.VIEWER})


def today(turn: Turn) -> date:
    """Today in the bot's time zone."""
    deps = turn.context.deps
    return local_date(as_utc(deps.clock.now()), deps.settings.timezone)


def local_time_text(moment: datetime, timezone: str) -> str:
    """A moment as people read it in `timezone`: YYYY-MM-DD HH:MM."""
    return as_utc(moment).astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def now_text(turn: Turn, timezone: str) -> str:
    """Now as people read it in `timezone`."""
    return local_time_text(turn.context.deps.clock.now(), timezone)


async def preparing(turn: Turn, key: str, action: str = ChatAction.TYPING, **params: Any) -> None:
    """Say that something is being prepared, and show Telegram's activity indicator."""
    await turn.say(key, **params)
    await preparing_action(turn, action)


async def preparing_action(turn: Turn, action: str) -> None:
    """Show Telegram's activity indicator ("sending a photo", …) for a moment."""
    try:
        await turn.context.bot.send_chat_action(turn.who.chat_id, action)
    except TelegramError as exc:  # only a courtesy: the work goes on without it
        log.info("chat action failed: %s", exc)


async def say_error(turn: Turn, exc: ServiceError) -> None:
    """Show a service's refusal in the person's language."""
    await turn.say(f"errors.{exc.code}", **exc.params)


def parse_year(args: Sequence[str]) -> int | None:
    """The one optional year argument (None if absent); ValueError if anything else."""
    if not args:
        return None
    if len(args) == 1 and len(args[0]) == 4 and args[0].isdigit():
        return int(args[0])
    raise ValueError(" ".join(args))


def group_name(group: Group | str, language: str) -> str:
    """A group's name in `language`."""
    return render(f"year.group_{Group(group).value}", language)


class BadArgument(ValueError):
    """An argument of a command that cannot be read."""


async def look_up_unit(turn: Turn, text: str) -> UnitRef | None:
    """The unit a person typed; when none or several match, say so (offering the candidates as
    buttons with action "u" and the unit id) and return None."""
    units: list[UnitRef] = await turn.call(
        find_units, turn.context.deps.read_uow(), text, CANDIDATES + 1
    )
    if len(units) == 1:
        return units[0]
    if not units:
        await turn.say("coord.finding_unit_none", query=excerpt(text, ECHO))
        return None
    shown = units[:CANDIDATES]
    buttons = [[turn.button(u.name, "u", str(u.id))] for u in shown]
    await turn.say(
        "coord.finding_unit_several",
        buttons,
        query=excerpt(text, ECHO),
        more=len(units) > CANDIDATES,
    )
    return None


async def unit_by_id(turn: Turn, unit_id: str) -> UnitRef | None:
    """An active unit by its id (from a candidate button)."""
    if not unit_id.isdigit():
        return None
    units = await turn.call(all_units, turn.context.deps.read_uow())
    return next((u for u in units if u.id == int(unit_id)), None)


async def report_unreachable(
    turn: Turn, recipients: Sequence[int], unreachable: Sequence[int]
) -> None:
    """Tell the coordinator when the unit has no liaison to tell, or who could not be reached."""
    if not recipients:
        await turn.say("coord.notify_nobody")
    elif unreachable:
        names = await names_of(turn.context, unreachable)
        await turn.say("coord.notify_unreachable", names=names, total=len(recipients))


# Long titles and descriptions are cut in lists (the full text is in the report dialog).
LIST_TEXT = 200


def shorten(text: str, limit: int = LIST_TEXT) -> str:
    """The text on one line, cut at `limit` characters with an ellipsis (for lists)."""
    return excerpt(text, limit)


# Units whose total or rank moved, listed at most (the count says how many there are).
MOVED_SHOWN = 30


def state_blocks(turn: Turn, state: ResultState) -> list[str]:
    """The result's status, its remarks, and what moved since it was frozen."""
    r = state.result
    blocks = [
        turn.t(
            "result.state",
            year=r.year,
            version=r.version,
            status=r.status.value,
            as_of=local_time(turn, r.as_of),
            units=r.units,
            hash=r.snapshot_hash[:12],
            remarks=r.remarks,
        )
    ]
    if not state.stale:
        blocks.append(turn.t("result.fresh"))
        return blocks
    blocks.append(turn.t("result.stale", count=len(state.moved)))
    for m in state.moved[:MOVED_SHOWN]:
        blocks.append(
            turn.t(
                "result.moved_line",
                name=m.name,
                group=group_name(m.group, turn.who.language),
                rank_then=m.rank_then,
                rank_now=m.rank_now,
                total_then=m.total_then,
                total_now=m.total_now,
            )
        )
    if len(state.moved) > MOVED_SHOWN:
        blocks.append(turn.t("result.moved_more", more=len(state.moved) - MOVED_SHOWN))
    return blocks


def web_app_buttons(turn: Turn, path: str = "/") -> list[list[InlineKeyboardButton]] | None:
    """A button opening a page of the dashboard as a Mini App (None without KAOHE_WEB_URL)."""
    url = web_app_url(turn.context.deps.settings, path)
    if url is None:
        return None
    label = turn.plain("web.bot_open_button")
    return [[InlineKeyboardButton(label, web_app=WebAppInfo(url))]]
