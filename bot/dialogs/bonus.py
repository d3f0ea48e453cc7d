"""/bonus: add a bonus item (加分项) for a unit with its evidence; approve or reject pending ones.

Adding: the unit (typed or from a group's list), the title, the evidence (text messages and/or
photos and documents, collected with one status message, then Done), a summary, Save ->
services.year_data.add_bonus (stored pending). Deciding: the pending items of the year, one
message each with Approve / Reject -> decide_bonus.

Decisions:
- Evidence is required (text or at least one file): an item without it could not be checked.
- Evidence files are archived and registered like every evidence file (bot.dialogs.evidence);
  the bonus item keeps their references in its evidence text (`📎 name (#id)`), since bonus
  items have no table of their own for files.
- A decision is final in the service, so rejecting asks for confirmation on the item's own
  message; approving is one tap (the usual case). A double tap, or a second coordinator deciding
  the same item, reaches the service, which refuses the second decision: that person is told
  the item was decided already.
- /bonus while an item is half added offers to continue it or start over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from telegram import InlineKeyboardButton
from telegram.error import BadRequest

from bot.dialogs import evidence
from bot.dialogs.engine import RESUME_AT, Dialog, IncomingFile, Resume, Step, Turn
from bot.dialogs.helpers import UnitPicker, current_year, plan_or_say, unit_dict
from services.access import Role
from services.dialogs import DialogView
from services.errors import ServiceError
from services.unit_lookup import UnitRef
from services.year_data import PENDING, BonusView, add_bonus, decide_bonus, list_bonus

MAX_TITLE = 500
MAX_EVIDENCE = 4000
# Pending items shown per page (one message each).
PAGE = 10
ADD_STEPS = ("unit", "title", "evidence", "confirm")
FILES = "files"


def evidence_text(texts: Sequence[str], files: Sequence[dict[str, Any]]) -> str:
    """The evidence text stored with the item: what was typed, then a line per file."""
    lines = [t for t in texts if t.strip()]
    lines += [f"📎 {f.get('name') or f.get('kind')} (#{f['id']})" for f in files]
    return "\n".join(lines)


class BonusDialog(Dialog):
    """/bonus: add an item, or decide the pending ones."""

    kind = "bonus"
    command = "bonus"
    takes_args = False
    roles = frozenset({Role.COORDINATOR, Role.ADMIN})
    picker = UnitPicker("coord.bonus_unit_prompt")

    resume = Resume(
        "coord.bonus_draft_found", "coord.bonus_continue_button", "coord.bonus_start_over_button"
    )

    def worth_resuming(self, draft: DialogView, args: Sequence[str]) -> bool:
        """An item half added (its unit chosen) is offered back."""
        return (draft.data.get(RESUME_AT) or draft.step) in ADD_STEPS and bool(
            draft.data.get("unit")
        )

    def resume_params(self, turn: Turn) -> dict[str, Any]:
        """The unit and title of the half-added item."""
        return {"unit": turn.data["unit"]["name"], "title": turn.data.get("title")}

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """The menu of the assessment year."""
        year = await current_year(turn)
        if await plan_or_say(turn, year) is None:
            return
        await turn.start("menu", {"year": year})
        await self.prompt(turn)

    # -- the menu ---------------------------------------------------------------------------

    async def _show_menu(self, turn: Turn) -> None:
        data = turn.data
        items = await turn.call(list_bonus, turn.context.deps.read_uow(), data["year"])
        pending = sum(1 for b in items if b.status == PENDING)
        buttons = [
            [turn.button(turn.plain("coord.bonus_add_button"), "add")],
            [turn.button(turn.plain("coord.bonus_pending_button", count=pending), "pl", "0")],
        ]
        await turn.say(
            "coord.bonus_menu", buttons, year=data["year"], pending=pending, total=len(items)
        )

    async def _add(self, turn: Turn, arg: str) -> None:
        await turn.save("unit")
        await self.prompt(turn)

    async def _list_pending(self, turn: Turn, arg: str) -> None:
        data = dict(turn.data)
        data["offset"] = int(arg) if arg.isdigit() else 0
        await turn.save("pending", data)
        await self.prompt(turn)

    # -- adding an item ---------------------------------------------------------------------

    async def _show_title(self, turn: Turn) -> None:
        await turn.say("coord.bonus_title_prompt", unit=turn.data["unit"]["name"])

    async def _title(self, turn: Turn, text: str) -> None:
        title = text.strip()
        if not title:
            await turn.say("errors.bonus_title_empty")
            return
        if len(title) > MAX_TITLE:
            await turn.say("coord.bonus_title_too_long", limit=MAX_TITLE, length=len(title))
            return
        await turn.save("evidence", {**turn.data, "title": title})
        await self.prompt(turn)

    async def _show_evidence(self, turn: Turn) -> None:
        count = len(evidence.files_of(turn, FILES))
        await turn.say(
            "coord.bonus_evidence_prompt",
            self._done(turn),
            texts=len(turn.data.get("texts") or []),
            files=count,
        )

    async def _evidence_text(self, turn: Turn, text: str) -> None:
        texts = [*(turn.data.get("texts") or []), text.strip()]
        if sum(len(t) for t in texts) > MAX_EVIDENCE:
            await turn.say("coord.bonus_evidence_too_long", limit=MAX_EVIDENCE)
            return
        await turn.save("evidence", {**turn.data, "texts": texts})
        # The button again: the person may have tapped (and so closed) the prompt's already.
        await turn.say("coord.bonus_evidence_text_added", self._done(turn), count=len(texts))

    def _done(self, turn: Turn) -> list[list[InlineKeyboardButton]]:
        return [[turn.button(turn.plain("coord.bonus_evidence_done_button"), "ed")]]

    async def _evidence_file(self, turn: Turn, incoming: IncomingFile) -> None:
        # An album ends as one status message.
        await evidence.collect(turn, incoming, FILES)

    async def _remove_last(self, turn: Turn, arg: str) -> None:
        await evidence.remove_last(turn, FILES)

    async def _show_confirm(self, turn: Turn) -> None:
        data = turn.data
        buttons = [
            [
                turn.button(turn.plain("coord.bonus_save_button"), "sv"),
                turn.button(turn.plain("coord.bonus_cancel_button"), "cx"),
            ]
        ]
        files = evidence.files_of(turn, FILES)
        await turn.say(
            "coord.bonus_summary",
            buttons,
            year=data["year"],
            unit=data["unit"]["name"],
            title=data["title"],
            evidence=evidence_text(data.get("texts") or [], []),
            files=[f.get("name") or f.get("kind") for f in files],
        )

    async def _cancel(self, turn: Turn, arg: str) -> None:
        draft = turn.data
        await turn.finish()
        await turn.say("coord.bonus_cancelled")
        await evidence.discard_files(turn.context, draft)

    async def _unit_chosen(self, turn: Turn, unit: UnitRef) -> None:
        data = dict(turn.data)
        data["unit"] = unit_dict(unit)
        await turn.save("title", data)
        await self.prompt(turn)

    async def _evidence_done(self, turn: Turn, arg: str) -> None:
        data = turn.data
        if not (data.get("texts") or evidence.files_of(turn, FILES)):
            # The tap closed the prompt's button: this answer carries it again.
            await turn.say("coord.bonus_evidence_needed", self._done(turn))
            return
        await evidence.seal(turn, FILES)
        await turn.save("confirm")
        await self.prompt(turn)

    async def _save(self, turn: Turn, arg: str) -> None:
        data = dict(turn.data)
        text = evidence_text(data.get("texts") or [], evidence.files_of(turn, FILES))
        try:
            view = await turn.call(
                add_bonus,
                turn.context.deps.uow(),
                turn.who.actor,
                data["year"],
                int(data["unit"]["id"]),
                data["title"],
                text,
            )
        except ServiceError as exc:
            await turn.say(f"errors.{exc.code}", **exc.params)
            if exc.code == "bonus_duplicate":
                await turn.save("title", data)
            await self.prompt(turn)
            return
        await turn.finish()
        await turn.say("coord.bonus_added", id=view.id, unit=view.unit_name, title=view.title)

    # -- pending items --------------------------------------------------------------------------

    async def _show_pending(self, turn: Turn, offset: int) -> None:
        items = await turn.call(list_bonus, turn.context.deps.read_uow(), turn.data["year"])
        pending = [b for b in items if b.status == PENDING]
        if not pending:
            await turn.say("coord.bonus_none_pending", year=turn.data["year"])
            return
        offset = min(max(offset, 0), max(len(pending) - 1, 0))
        shown = pending[offset : offset + PAGE]
        await turn.say(
            "coord.bonus_pending_header",
            count=len(pending),
            first=offset + 1,
            last=offset + len(shown),
        )
        for item in shown:
            await turn.send(self._item_text(turn, item), self._item_buttons(turn, item))
        rest = len(pending) - offset - len(shown)
        if rest > 0:
            more = [[turn.button(turn.plain("coord.bonus_more_button"), "pl", str(offset + PAGE))]]
            await turn.say("coord.bonus_more", more, count=rest)

    def _item_text(self, turn: Turn, item: BonusView) -> str:
        return turn.t(
            "coord.bonus_item",
            id=item.id,
            unit=item.unit_name,
            title=item.title,
            evidence=item.evidence_text,
            status=item.status,
        )

    def _item_buttons(self, turn: Turn, item: BonusView) -> list[list[InlineKeyboardButton]]:
        return [
            [
                turn.button(turn.plain("coord.bonus_approve_button"), "ap", str(item.id)),
                turn.button(turn.plain("coord.bonus_reject_button"), "rj", str(item.id)),
            ]
        ]

    async def _show_pending_step(self, turn: Turn) -> None:
        await self._show_pending(turn, int(turn.data.get("offset", 0)))

    async def _decide(self, turn: Turn, action: str, arg: str) -> None:
        if not arg.isdigit():
            return
        bonus_id = int(arg)
        query = turn.update.callback_query
        message_id = query.message.message_id if query and query.message else None
        items = await turn.call(list_bonus, turn.context.deps.read_uow(), turn.data["year"])
        item = next((b for b in items if b.id == bonus_id), None)
        if item is None:
            await turn.say("errors.bonus_not_found", bonus=bonus_id)
            return
        if action == "rj" and item.status == PENDING:
            buttons = [
                [
                    turn.button(turn.plain("coord.bonus_reject_confirm_button"), "rjy", arg),
                    turn.button(turn.plain("coord.bonus_reject_back_button"), "rjb", arg),
                ]
            ]
            text = self._item_text(turn, item) + "\n\n" + turn.t("coord.bonus_reject_confirm")
            await self._edit(turn, message_id, text, buttons)
            return
        if action == "rjb" and item.status == PENDING:
            await self._edit(
                turn, message_id, self._item_text(turn, item), self._item_buttons(turn, item)
            )
            return
        if action == "rjb":
            await self._edit(turn, message_id, self._item_text(turn, item), None)
            return
        try:
            view = await turn.call(
                decide_bonus,
                turn.context.deps.uow(),
                turn.who.actor,
                bonus_id,
                action == "ap",
            )
        except ServiceError as exc:
            # Decided already (a double tap, or another coordinator first): say so, show it.
            await turn.say(f"errors.{exc.code}", **exc.params)
            if item.status != PENDING:
                await self._edit(turn, message_id, self._item_text(turn, item), None)
            return
        await self._edit(turn, message_id, self._item_text(turn, view), None)
        await turn.say(
            "coord.bonus_decided", id=view.id, unit=view.unit_name, title=view.title,
            status=view.status,
        )  # fmt: skip

    async def _edit(
        self,
        turn: Turn,
        message_id: int | None,
        text: str,
        buttons: list[list[InlineKeyboardButton]] | None,
    ) -> None:
        """Replace an item's message (best effort: an old message may not be editable)."""
        if message_id is None:
            await turn.send(text, buttons)
            return
        try:
            await turn.edit(message_id, text, buttons)
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                await turn.send(text, buttons)

    async def _approve(self, turn: Turn, arg: str) -> None:
        await self._decide(turn, "ap", arg)

    async def _reject(self, turn: Turn, arg: str) -> None:
        await self._decide(turn, "rj", arg)

    async def _reject_confirmed(self, turn: Turn, arg: str) -> None:
        await self._decide(turn, "rjy", arg)

    async def _reject_back(self, turn: Turn, arg: str) -> None:
        await self._decide(turn, "rjb", arg)

    steps: ClassVar[Mapping[str, Step]] = {
        "menu": Step(_show_menu, buttons={"add": _add, "pl": _list_pending}),
        "unit": picker.step(_unit_chosen),
        "title": Step(_show_title, text=_title),
        "evidence": Step(
            _show_evidence,
            text=_evidence_text,
            files=_evidence_file,
            buttons={
                "ed": _evidence_done,
                evidence.DONE: _evidence_done,
                evidence.REMOVE_LAST: _remove_last,
            },
        ),
        "confirm": Step(_show_confirm, buttons={"sv": _save, "cx": _cancel}),
        "pending": Step(
            _show_pending_step,
            buttons={
                "pl": _list_pending,
                "ap": _approve,
                "rj": _reject,
                "rjy": _reject_confirmed,
                "rjb": _reject_back,
            },
        ),
    }
