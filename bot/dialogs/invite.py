"""/invite: a coordinator makes a one-time invitation link to forward.

Steps: `role` (liaison, coordinator, rater, viewer; admin only for admins) -> `unit` (liaisons
only: typed, with candidates as in /finding) -> `expiry` (1, 7 or 30 days) -> the invite is
issued (services.people.issue_invite, audited) and two messages follow: what was issued,
and the link alone, ready to forward, with the `/start <code>` line as a fallback. The link
needs the bot's username: the configured KAOHE_BOT_USERNAME, else the one Telegram reports
(getMe); without either only the code line is given. The code is shown this once; an invite
the service refuses ends the dialog (the engine says why). The steps are declared in
`InviteDialog.steps`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import ClassVar

from telegram.error import TelegramError

from bot.dialogs.engine import Dialog, Step, Turn
from bot.dialogs.helpers import local_time, look_up_unit, unit_by_id
from services.access import MANAGERS, Role
from services.errors import ServiceError
from services.people import invite_link, issue_invite
from services.unit_lookup import UnitRef

ROLES: tuple[Role, ...] = (Role.LIAISON, Role.COORDINATOR, Role.RATER, Role.VIEWER)
EXPIRY_DAYS: tuple[int, ...] = (1, 7, 30)
DEFAULT_DAYS = 7


async def bot_username(turn: Turn) -> str | None:
    """The bot's username for links: from the settings, else as Telegram reports it."""
    configured = turn.context.deps.settings.bot_username
    if configured:
        return configured
    try:
        me = await turn.context.bot.get_me()
    except TelegramError:
        return None
    return me.username


class InviteDialog(Dialog):
    """/invite: choose a role (and a liaison's unit) and an expiry; get the link to forward."""

    kind = "invite"
    cancelled_key = "common.cancelled_nothing"
    command = "invite"
    takes_args = False
    roles = MANAGERS

    def _roles(self, turn: Turn) -> tuple[Role, ...]:
        if turn.who.actor.role is Role.ADMIN:
            return (*ROLES, Role.ADMIN)
        return ROLES

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """Ask for the role."""
        await turn.start("role", {})
        await self.prompt(turn)

    async def _show_role(self, turn: Turn) -> None:
        buttons = [
            [turn.button(turn.plain(f"people.role_{role.value}"), "r", role.value)]
            for role in self._roles(turn)
        ]
        await turn.say("coord.invite_ask_role", buttons)

    async def _role(self, turn: Turn, arg: str) -> None:
        if arg in {role.value for role in self._roles(turn)}:
            # Only a liaison belongs to a unit.
            await turn.save("unit" if arg == Role.LIAISON.value else "expiry", {"role": arg})
        await self.prompt(turn)

    async def _show_unit(self, turn: Turn) -> None:
        await turn.say("coord.invite_ask_unit")

    async def _unit_text(self, turn: Turn, text: str) -> None:
        if not text:
            await turn.say("dialog.use_buttons")
            await self.prompt(turn)
            return
        unit = await look_up_unit(turn, text)
        if unit is not None:
            await self._unit_chosen(turn, unit)

    async def _unit_tapped(self, turn: Turn, arg: str) -> None:
        unit = await unit_by_id(turn, arg)
        if unit is None:
            await turn.say("coord.finding_unit_gone")
            await self.prompt(turn)
            return
        await self._unit_chosen(turn, unit)

    async def _show_expiry(self, turn: Turn) -> None:
        data = turn.data
        buttons = [
            [
                turn.button(
                    turn.plain(
                        "coord.invite_expiry_button", days=days, default=days == DEFAULT_DAYS
                    ),
                    "e",
                    str(days),
                )
                for days in EXPIRY_DAYS
            ]
        ]
        await turn.say(
            "coord.invite_ask_expiry",
            buttons,
            role=turn.plain(f"people.role_{data['role']}"),
            unit=data.get("unit_name"),
        )

    async def _expiry(self, turn: Turn, arg: str) -> None:
        if not (arg.isdigit() and int(arg) in EXPIRY_DAYS):
            await self.prompt(turn)
            return
        await self._issue(turn, int(arg))

    async def _unit_chosen(self, turn: Turn, unit: UnitRef) -> None:
        await turn.save("expiry", {**turn.data, "unit_code": unit.code, "unit_name": unit.name})
        await self.prompt(turn)

    async def _issue(self, turn: Turn, days: int) -> None:
        data = dict(turn.data)
        try:
            invite = await turn.call(
                issue_invite,
                turn.context.deps.uow(),
                turn.who.actor,
                str(data["role"]),
                data.get("unit_code"),
                timedelta(days=days),
            )
        except ServiceError:
            # Nothing to go back to: the dialog ends, and the engine says why.
            await turn.finish()
            raise
        await turn.finish()
        link = invite_link(invite.code, await bot_username(turn))
        role = turn.plain(f"people.role_{invite.role.value}")
        await turn.say(
            "coord.invite_issued",
            role=role,
            unit=invite.unit_name,
            expires=local_time(turn, invite.expires_at),
            has_link=link is not None,
        )
        await turn.say(
            "coord.invite_forward", link=link, code=invite.code, role=role, unit=invite.unit_name
        )

    steps: ClassVar[Mapping[str, Step]] = {
        "role": Step(_show_role, buttons={"r": _role}),
        "unit": Step(_show_unit, text=_unit_text, buttons={"u": _unit_tapped}),
        "expiry": Step(_show_expiry, buttons={"e": _expiry}),
    }
