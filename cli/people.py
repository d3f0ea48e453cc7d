"""Commands of units, people and invites: `units import`, `invite`, `people list|deactivate`."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from rich.text import Text

from cli.common import fail, handled, out, t
from cli.progress import progress_steps
from scoring import Group
from services import wiring
from services.access import Actor
from services.files.reader import read_units
from services.people import (
    INVITE_LIFETIME,
    deactivate_person,
    invite_link,
    issue_invite,
    list_people,
    register_units,
)
from services.settings import Settings, get_settings

_DURATION = re.compile(r"\s*(\d+)\s*([mhdw])\s*", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def register(app: typer.Typer) -> None:
    """Add `units import`, `invite`, `people list` and `people deactivate` to `kaohe`."""
    units_app = typer.Typer(help=t("people.units_help"), no_args_is_help=True)
    people_app = typer.Typer(help=t("people.people_help"), no_args_is_help=True)
    app.add_typer(units_app, name="units")
    app.add_typer(people_app, name="people")
    units_app.command("import", help=t("people.units_import_help"))(units_import)
    app.command("invite", help=t("people.invite_help"))(invite_command)
    people_app.command("list", help=t("people.people_list_help"))(people_list)
    people_app.command("deactivate", help=t("people.people_deactivate_help"))(people_deactivate)


def parse_duration(text: str) -> timedelta | None:
    """A validity such as 30m, 12h, 7d or 2w as a timedelta; None if it cannot be read."""
    match = _DURATION.fullmatch(text)
    if match is None:
        return None
    try:
        return timedelta(**{_UNITS[match[2].lower()]: int(match[1])})
    except OverflowError:
        return None


def units_import(path: Annotated[Path, typer.Argument(help=t("cli.opt_units"))]) -> None:
    """Add and update the units of a units workbook; none is deleted."""
    with handled(), progress_steps() as step:
        step(t("year.reading", file=str(path)), None)
        units = read_units(path)
        store = step(t("year.storing"), len(units))
        summary = register_units(wiring.unit_of_work(), Actor.operator(), units, progress=store)
    out.print(
        t(
            "people.units_imported",
            added=len(summary.added),
            updated=len(summary.updated),
            unchanged=len(summary.unchanged),
        ),
        markup=False,
        soft_wrap=True,
    )
    # Only changes are listed one by one: a first import may add thousands of units.
    for change in summary.updated:
        out.print(
            t(
                "people.unit_updated",
                code=change.after.code,
                before_name=change.before.name,
                before_group=_group(change.before.group),
                name=change.after.name,
                group=_group(change.after.group),
            ),
            markup=False,
            soft_wrap=True,
        )


def invite_command(
    role: Annotated[str, typer.Option("--role", help=t("people.opt_role"))],
    unit: Annotated[str | None, typer.Option("--unit", help=t("people.opt_unit"))] = None,
    expires: Annotated[str, typer.Option("--expires", help=t("people.opt_expires"))] = (
        f"{INVITE_LIFETIME.days}d"
    ),
) -> None:
    """Issue a one-time invite and print its t.me link, or its code and /start line."""
    lifetime = parse_duration(expires)
    if lifetime is None:
        fail([t("people.bad_expiry", value=expires)])
    settings = get_settings()
    with handled():
        issued = issue_invite(wiring.unit_of_work(), Actor.operator(), role, unit, lifetime)
    zone = ZoneInfo(settings.timezone)
    unit_text = f"{issued.unit_name} ({issued.unit_code})" if issued.unit_code else None
    out.print(
        t(
            "people.invite_issued",
            role=t(f"people.role_{issued.role.value}"),
            unit=unit_text,
            expires=issued.expires_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            timezone=settings.timezone,
        ),
        markup=False,
        soft_wrap=True,
    )
    link = invite_link(issued.code, settings.bot_username or bot_username_from_telegram(settings))
    # soft_wrap: a link or code broken over two lines could not be copied in one go.
    if link is not None:
        out.print(t("people.invite_send_link"), markup=False, soft_wrap=True)
        out.print(link, markup=False, soft_wrap=True)
    else:
        out.print(t("people.invite_no_username"), markup=False, soft_wrap=True)
        out.print(issued.code, markup=False, soft_wrap=True)
        out.print(t("people.invite_send_start"), markup=False, soft_wrap=True)
        out.print(f"/start {issued.code}", markup=False, soft_wrap=True)
    out.print(t("people.invite_shown_once"), markup=False, soft_wrap=True)


def bot_username_from_telegram(settings: Settings) -> str | None:
    """The bot's username as Telegram knows it (getMe), when a token is set; None when there is
    no token or Telegram cannot be reached within a few seconds (the code is printed then)."""
    token = settings.telegram_bot_token
    if token is None:
        return None
    from telegram import Bot
    from telegram.error import TelegramError

    async def ask() -> str | None:
        bot = Bot(
            token.get_secret_value(),
            base_url=settings.bot_api_url,
            base_file_url=settings.bot_file_url,
        )
        async with bot:
            return bot.username

    try:
        return asyncio.run(asyncio.wait_for(ask(), timeout=10))
    except (TelegramError, TimeoutError, OSError):
        return None


def people_list() -> None:
    """A table of everyone: id, name, role, unit, Telegram id, active."""
    with handled():
        people = list_people(wiring.read_only_unit_of_work(), Actor.operator())
    table = Table(title=t("people.people_title"))
    table.add_column(t("people.col_id"), justify="right")
    table.add_column(t("people.col_name"))
    table.add_column(t("people.col_role"))
    table.add_column(t("people.col_unit"))
    table.add_column(t("people.col_telegram"), justify="right")
    table.add_column(t("people.col_active"))
    for person in people:
        table.add_row(
            str(person.id),
            Text(person.display_name),
            t(f"people.role_{person.role.value}"),
            Text(f"{person.unit_name} ({person.unit_code})" if person.unit_code else "-"),
            str(person.telegram_user_id) if person.telegram_user_id is not None else "-",
            t("people.active_yes") if person.active else t("people.active_no"),
        )
    if not people:
        table.caption = t("people.no_people")
    out.print(table)


def people_deactivate(
    person_id: Annotated[int, typer.Argument(help=t("cli.opt_person_id"))],
) -> None:
    """Deactivate a person, keeping their history."""
    with handled():
        person = deactivate_person(wiring.unit_of_work(), Actor.operator(), person_id)
    out.print(
        t("people.person_deactivated", name=person.display_name, id=person.id),
        markup=False,
        soft_wrap=True,
    )


def _group(group: Group) -> str:
    return t(f"people.group_{group.value}")
