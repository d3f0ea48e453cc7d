"""/broadcast: a coordinator sends a notice to many people, now or at a set time.

Steps: `text` (typed, not empty, at most 4,000 characters) -> `file` (a photo or document, or
"No file"; with a file the text must fit a caption) -> `audience` (all liaisons, a group, chosen
units, all coordinators) -> `group` (towns / zones and departments) or `units` (typed names,
several at once; several matches come back as candidate buttons; Done) -> `when` (now, in an
hour, tomorrow 09:00, or a typed YYYY-MM-DD HH:MM in the bot's time zone; the past is refused)
-> `confirm` (the notice exactly as recipients will see it, with its 已知悉 button, then the
audience, the recipient count and the time: send, change the text, or cancel).

Confirming stores the broadcast with its recipients (services.broadcasts.create_broadcast);
the delivery engine (bot.delivery) sends it. `/broadcast status` (or the button on the
confirmation) shows per unit how many got it, acknowledged it, or could not be reached.

The steps are declared in `BroadcastDialog.steps`; the status buttons, cancel and the preview's
已知悉 are taken at any step (`anywhere`). A refusal (a notice too long, a scheduled notice that
already went out) is said by the engine, with the step shown again; a time that passed while
the summary waited goes back to the time step first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.delivery import message_text
from bot.dialogs.engine import Dialog, IncomingFile, Step, Tapped, Turn
from bot.dialogs.helpers import ECHO, excerpt, local_now, local_time, service_error
from services.access import MANAGERS
from services.broadcasts import (
    MAX_TEXT,
    BroadcastStatus,
    audience_recipients,
    broadcast_status,
    cancel_broadcast,
    check_text,
    create_broadcast,
    recent_broadcasts,
)
from services.errors import ServiceError
from services.unit_lookup import UnitRef, all_units, find_units

GROUPS = ("town", "zone_or_department")
CANDIDATES = 8
_TIME = re.compile(
    r"^(?P<y>\d{4})\s*[-/.]\s*(?P<m>\d{1,2})\s*[-/.]\s*(?P<d>\d{1,2})\s+(?P<H>\d{1,2})\s*[:：]\s*(?P<M>\d{2})$"
)
_SEPARATORS = re.compile(r"[,，、;；\n]+")


def parse_time(text: str, zone: ZoneInfo) -> datetime | None:
    """A moment typed as YYYY-MM-DD HH:MM in `zone`; None if it is not one."""
    match = _TIME.match(text.strip())
    if match is None:
        return None
    parts = {k: int(v) for k, v in match.groupdict().items()}
    try:
        return datetime(parts["y"], parts["m"], parts["d"], parts["H"], parts["M"], tzinfo=zone)
    except ValueError:
        return None


class BroadcastDialog(Dialog):
    """/broadcast: compose, address, schedule, preview and confirm a notice; see its status."""

    kind = "broadcast"
    command = "broadcast"
    roles = MANAGERS

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """Start a new notice, or show the delivery status (`/broadcast status [id]`)."""
        if args and args[0].lower() in ("status", "状态"):
            wanted = int(args[1]) if len(args) > 1 and args[1].isdigit() else None
            await turn.start("status", {} if wanted is None else {"broadcast_id": wanted})
            await self._status(turn, wanted)
            return
        await turn.start("text", {})
        await self.prompt(turn)

    # -- the notice and its file ------------------------------------------------------------

    async def _show_text(self, turn: Turn) -> None:
        await turn.say("broadcast.ask_text", max=MAX_TEXT)

    async def _text(self, turn: Turn, text: str) -> None:
        # An empty or too long notice is refused by check_text; the engine says why.
        cleaned = check_text(text)
        await turn.save("file", {**turn.data, "text": cleaned})
        await self.prompt(turn)

    async def _show_file(self, turn: Turn) -> None:
        await turn.say(
            "broadcast.ask_file", [[turn.button(turn.plain("broadcast.no_file_button"), "nf")]]
        )

    async def _file(self, turn: Turn, incoming: IncomingFile) -> None:
        # A text too long for a caption is refused; the engine says why and asks again.
        check_text(str(turn.data.get("text", "")), with_file=True)
        data = {**turn.data, "file_id": incoming.file_id, "file_kind": incoming.kind}
        await turn.save("audience", data)
        await turn.say("broadcast.file_received")
        await self.prompt(turn)

    async def _no_file(self, turn: Turn, arg: str) -> None:
        await turn.save("audience")
        await self.prompt(turn)

    # -- the audience -----------------------------------------------------------------------

    async def _show_audience(self, turn: Turn) -> None:
        buttons = [
            [turn.button(turn.plain(f"broadcast.audience_{kind}"), "au", kind)]
            for kind in ("liaisons", "group", "units", "coordinators")
        ]
        await turn.say("broadcast.ask_audience", buttons)

    async def _audience(self, turn: Turn, arg: str) -> None:
        data = turn.data
        if arg == "group":
            await turn.save("group", data)
        elif arg == "units":
            await turn.save("units", {**data, "units": []})
        elif arg in ("liaisons", "coordinators"):
            await turn.save("when", {**data, "audience": {"kind": arg}})
        await self.prompt(turn)

    async def _show_group(self, turn: Turn) -> None:
        buttons = [
            [turn.button(turn.plain(f"broadcast.group_{group}"), "gr", group)] for group in GROUPS
        ]
        await turn.say("broadcast.ask_group", buttons)

    async def _group(self, turn: Turn, arg: str) -> None:
        if arg in GROUPS:
            await turn.save("when", {**turn.data, "audience": {"kind": "group", "group": arg}})
        await self.prompt(turn)

    async def _show_units(self, turn: Turn) -> None:
        chosen = [u["name"] for u in turn.data.get("units", [])]
        done: list[list[InlineKeyboardButton]] = []
        if chosen:
            label = turn.plain("broadcast.units_done_button", count=len(chosen))
            done.append([turn.button(label, "ud")])
        await turn.say("broadcast.ask_units", done or None, chosen=chosen)

    async def _unit_tapped(self, turn: Turn, arg: str) -> None:
        unit = await self._unit_by_id(turn, arg)
        if unit is not None:
            await self._add_units(turn, [unit])

    async def _units_done(self, turn: Turn, arg: str) -> None:
        units = turn.data.get("units", [])
        if not units:
            await turn.say("broadcast.units_empty")
            return
        audience = {"kind": "units", "unit_ids": [u["id"] for u in units]}
        await turn.save("when", {**turn.data, "audience": audience})
        await self.prompt(turn)

    # -- the time ---------------------------------------------------------------------------

    async def _show_when(self, turn: Turn) -> None:
        zone = turn.context.deps.settings.timezone
        buttons = [
            [turn.button(turn.plain("broadcast.when_now"), "w", "now")],
            [turn.button(turn.plain("broadcast.when_hour"), "w", "1h")],
            [turn.button(turn.plain("broadcast.when_tomorrow"), "w", "tm")],
        ]
        now = local_now(turn).strftime("%Y-%m-%d %H:%M")
        await turn.say("broadcast.ask_when", buttons, zone=zone, now=now)

    async def _when_text(self, turn: Turn, text: str) -> None:
        zone = ZoneInfo(turn.context.deps.settings.timezone)
        moment = parse_time(text, zone)
        if moment is None:
            await turn.say("broadcast.when_bad", text=text.strip()[:40])
            return
        await self._set_time(turn, moment)

    async def _when_tapped(self, turn: Turn, arg: str) -> None:
        now = local_now(turn)
        if arg == "now":
            await self._set_time(turn, None)
            return
        if arg == "1h":
            moment = now + timedelta(hours=1)
        else:
            moment = datetime.combine(now.date() + timedelta(days=1), time(9, 0), now.tzinfo)
        await self._set_time(turn, moment)

    # -- the confirmation, and buttons taken at any step ------------------------------------

    async def _change(self, turn: Turn, arg: str) -> None:
        await turn.save("text", {})
        await self.prompt(turn)

    async def _preview_tapped(self, turn: Turn, arg: str) -> None:
        # The 已知悉 button of the preview only shows how recipients will acknowledge.
        await turn.say("broadcast.preview_button_note")

    async def _cancel(self, turn: Turn, arg: str) -> None:
        await turn.finish()
        await turn.say("broadcast.cancelled")

    async def _cancel_scheduled(self, turn: Turn, arg: str) -> None:
        if not arg.isdigit():
            await self.prompt(turn)
            return
        # One no longer scheduled is refused; the engine says why and shows the status again.
        await turn.call(cancel_broadcast, turn.context.deps.uow(), turn.who.actor, int(arg))
        await turn.say("broadcast.cancelled_scheduled", id=int(arg))

    async def _status_tapped(self, turn: Turn, arg: str) -> None:
        wanted = int(arg) if arg.isdigit() else None
        if turn.step in ("sent", "status") and wanted is not None:
            # The status step shows again (after a refusal) the notice looked at last.
            await turn.save(turn.step, {**turn.data, "broadcast_id": wanted})
        await self._status(turn, wanted)

    async def _show_status(self, turn: Turn) -> None:
        await self._status(turn, turn.data.get("broadcast_id"))

    # -- steps ------------------------------------------------------------------------------

    async def _units_text(self, turn: Turn, text: str) -> None:
        queries = [q.strip() for q in _SEPARATORS.split(text) if q.strip()]
        if not queries:  # only separators or blanks: nothing to look up, so ask again
            await self.prompt(turn)
            return
        found: list[UnitRef] = []
        for query in queries:
            units: list[UnitRef] = await turn.call(
                find_units, turn.context.deps.read_uow(), query, CANDIDATES + 1
            )
            if len(units) == 1:
                found.append(units[0])
            elif not units:
                await turn.say("broadcast.unit_none", query=excerpt(query, ECHO))
            else:
                buttons = [[turn.button(u.name, "u", str(u.id))] for u in units[:CANDIDATES]]
                await turn.say("broadcast.unit_several", buttons, query=excerpt(query, ECHO))
        if found:
            await self._add_units(turn, found)

    async def _add_units(self, turn: Turn, units: list[UnitRef]) -> None:
        chosen = list(turn.data.get("units", []))
        known = {u["id"] for u in chosen}
        added = [u for u in units if u.id not in known]
        chosen.extend({"id": u.id, "name": u.name} for u in added)
        await turn.save("units", {**turn.data, "units": chosen})
        if added:
            await turn.say("broadcast.unit_added", names=[u.name for u in added])
        await self.prompt(turn)

    async def _unit_by_id(self, turn: Turn, unit_id: str) -> UnitRef | None:
        if not unit_id.isdigit():
            return None
        units = await turn.call(all_units, turn.context.deps.read_uow())
        return next((u for u in units if u.id == int(unit_id)), None)

    async def _set_time(self, turn: Turn, moment: datetime | None) -> None:
        if moment is not None and moment <= turn.context.deps.clock.now():
            await turn.say("broadcast.when_past", when=local_time(turn, moment))
            return
        at = moment.isoformat() if moment is not None else None
        await turn.save("confirm", {**turn.data, "at": at})
        await self.prompt(turn)

    def _audience_label(self, turn: Turn, audience: dict[str, Any]) -> str:
        kind = audience.get("kind")
        if kind == "group":
            return turn.plain(f"broadcast.group_{audience['group']}")
        if kind == "units":
            names = [u["name"] for u in turn.data.get("units", [])]
            return "、".join(names) if turn.who.language == "zh" else ", ".join(names)
        return turn.plain(f"broadcast.audience_{kind}")

    async def _preview(self, turn: Turn) -> None:
        data = turn.data
        text = message_text(turn.who.language, str(data["text"]), turn.who.display_name)
        await turn.say("broadcast.preview_intro")
        ack = [[turn.button(turn.plain("broadcast.ack_button"), "pv")]]
        markup = InlineKeyboardMarkup(ack)
        bot = turn.context.bot
        if data.get("file_kind") == "photo":
            await bot.send_photo(
                turn.who.chat_id, data["file_id"], caption=text, reply_markup=markup
            )
        elif data.get("file_kind") == "document":
            await bot.send_document(
                turn.who.chat_id, data["file_id"], caption=text, reply_markup=markup
            )
        else:
            await turn.send(text, ack)
        try:
            recipients = await turn.call(
                audience_recipients, turn.context.deps.read_uow(), turn.who.actor, data["audience"]
            )
        except ServiceError as exc:
            # Kept: this shows a step, which the engine shows again after a refusal.
            await service_error(turn, exc)
            return
        at = data.get("at")
        when = (
            local_time(turn, datetime.fromisoformat(at))
            if at
            else turn.plain("broadcast.summary_now")
        )
        kind = data.get("file_kind")
        await turn.say(
            "broadcast.summary",
            [
                [turn.button(turn.plain("broadcast.confirm_button"), "ok")],
                [turn.button(turn.plain("broadcast.change_button"), "ch")],
                [turn.button(turn.plain("broadcast.cancel_button"), "x")],
            ],
            audience=self._audience_label(turn, data["audience"]),
            count=len(recipients),
            when=when,
            file=turn.plain(f"broadcast.file_{kind}") if kind else "",
        )

    async def _confirm(self, turn: Turn, arg: str) -> None:
        data = turn.data
        at = data.get("at")
        try:
            view = await turn.call(
                create_broadcast,
                turn.context.deps.uow(),
                turn.who.actor,
                str(data["text"]),
                data["audience"],
                datetime.fromisoformat(at) if at else None,
                data.get("file_id"),
                data.get("file_kind"),
            )
        except ServiceError as exc:
            # The time passed while the summary waited: back to the time step; the engine says
            # why and shows the step the dialog is at.
            if exc.code == "broadcast_in_past":
                await turn.save("when", data)
            raise
        await turn.start("sent", {"broadcast_id": view.id})
        status = [[turn.button(turn.plain("broadcast.status_button"), "st", str(view.id))]]
        if at:
            await turn.say(
                "broadcast.sent_later",
                status,
                count=view.recipients,
                id=view.id,
                when=local_time(turn, view.scheduled_at),
            )
        else:
            await turn.say("broadcast.sent_now", status, count=view.recipients, id=view.id)

    async def _status(self, turn: Turn, broadcast_id: int | None) -> None:
        deps = turn.context.deps
        recent = await turn.call(recent_broadcasts, deps.read_uow(), turn.who.actor)
        if broadcast_id is None:
            if not recent:
                await turn.say("broadcast.status_none")
                return
            broadcast_id = recent[0].id
        try:
            status: BroadcastStatus = await turn.call(
                broadcast_status, deps.read_uow(), turn.who.actor, broadcast_id
            )
        except ServiceError as exc:
            # Kept: this shows a step, which the engine shows again after a refusal.
            await service_error(turn, exc)
            return
        view = status.broadcast
        lines = [
            turn.t(
                "broadcast.status_title",
                id=view.id,
                when=local_time(turn, view.scheduled_at),
                state=turn.plain(f"broadcast.state_{view.status}"),
                excerpt=excerpt(view.text, 60),
            )
        ]
        for unit in status.units:
            lines.append(
                turn.t(
                    "broadcast.status_line",
                    unit=unit.unit or turn.plain("broadcast.status_no_unit"),
                    delivered=unit.delivered,
                    recipients=unit.recipients,
                    acknowledged=unit.acknowledged,
                    unreachable=unit.unreachable,
                    pending=unit.pending,
                )
            )
        total = status.total
        lines.append(
            turn.t(
                "broadcast.status_total",
                delivered=total.delivered,
                recipients=total.recipients,
                acknowledged=total.acknowledged,
                unreachable=total.unreachable,
                pending=total.pending,
            )
        )
        buttons = [[turn.button(turn.plain("broadcast.status_button"), "st", str(view.id))]]
        if view.status == "scheduled":
            label = turn.plain("broadcast.cancel_scheduled_button")
            buttons.append([turn.button(label, "cx", str(view.id))])
        others = [b for b in recent if b.id != view.id]
        if others:
            lines.append(turn.t("broadcast.status_others"))
            buttons += [
                [turn.button(f"{b.id}: {excerpt(b.text, 20)}", "st", str(b.id))] for b in others
            ]
        await turn.send("\n".join(lines), buttons)

    steps: ClassVar[Mapping[str, Step]] = {
        "text": Step(_show_text, text=_text),
        "file": Step(_show_file, files=_file, buttons={"nf": _no_file}),
        "audience": Step(_show_audience, buttons={"au": _audience}),
        "group": Step(_show_group, buttons={"gr": _group}),
        "units": Step(
            _show_units, text=_units_text, buttons={"u": _unit_tapped, "ud": _units_done}
        ),
        "when": Step(_show_when, text=_when_text, buttons={"w": _when_tapped}),
        "confirm": Step(_preview, buttons={"ok": _confirm, "ch": _change}),
        "sent": Step(_show_status),
        "status": Step(_show_status),
    }
    anywhere: ClassVar[Mapping[str, Tapped]] = {
        "pv": _preview_tapped,
        "x": _cancel,
        "cx": _cancel_scheduled,
        "st": _status_tapped,
    }
