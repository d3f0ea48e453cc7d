"""/review: the coordinators' queue of submitted rectifications and extension requests.

The queue (services.findings.review_queue) is shown one item at a time, oldest first.
A rectification: its evidence is sent back first by Telegram file id (photos as albums of at
most ten, documents one by one), then a card with the finding, the unit, the measures and the
buttons Accept / Return / Next. Return asks for the reason (not empty), then for confirmation
(returning is costly to undo); the unit's liaisons are told, with the reason. An extension
request: a card with its target, reason and requested date, the deadline it would move (the
finding's, or for a report the unit's own, which an extension granted earlier moved:
services.extensions.current_deadline), and Grant / Refuse / Next; Refuse takes an optional
reason. Granting moves the finding's deadline (the service does it) and the liaisons are told
either way.

Every decision button names the item it decides (`ac`/`rt`/`gr`/`rf` with the item's id) and
is taken at any step (`ReviewDialog.anywhere`; the steps are declared in `ReviewDialog.steps`),
and the dialog keeps one version while it runs, so a second tap of a button already acted
upon, or a tap by a second coordinator on the same item, reaches the service, which locks the
row and refuses a second decision: that tap is answered "already decided" and nothing changes.
When the queue is empty the dialog stays (step `done`) until /review is sent again, so that a
late double tap still gets that answer rather than "expired". Any other refusal of a decision
is said by the engine, with the step shown again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from typing import ClassVar

from telegram import InputMediaPhoto, Update
from telegram.error import TelegramError

from bot.dialogs.engine import Dialog, Step, Tapped, Turn
from bot.dialogs.helpers import excerpt, local_time, report_unreachable
from bot.notify import Localized, tell
from services.access import MANAGERS
from services.errors import Invalid, ServiceError
from services.evidence import evidence_files
from services.extensions import GRANTED, ExtensionView, current_deadline, decide_extension
from services.findings import (
    RectificationView,
    accept_rectification,
    get_finding,
    return_rectification,
    review_queue,
)
from services.unit_lookup import all_units

log = logging.getLogger(__name__)

Item = RectificationView | ExtensionView
MAX_REASON = 1000
# Telegram sends at most ten photos in one album.
ALBUM_SIZE = 10
DESCRIPTION_EXCERPT = 500
# Keeps a card under Telegram's 4,096 characters whatever the service stored.
MEASURES_EXCERPT = 2500
# The dialog a coordinator's file sent outside any dialog starts (see bot.handlers.router).
_ALREADY_DECIDED = ("rectification_already_decided", "extension_already_decided")


def cut(text: str, limit: int) -> str:
    """The text as written (lines kept), cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def tapped_message_id(turn: Turn) -> int | None:
    """The id of the message whose button was tapped (None for a typed message)."""
    # Only a button's Turn carries the Update itself (see bot.handlers.router).
    update = turn.update
    query = update.callback_query if isinstance(update, Update) else None
    message = query.message if query is not None else None
    return message.message_id if message is not None else None


def item_key(item: Item) -> str:
    """The draft's name for a queue item: r<id> for a rectification, e<id> for an extension."""
    return f"{'r' if isinstance(item, RectificationView) else 'e'}{item.id}"


class ReviewDialog(Dialog):
    """/review: decide the submitted rectifications and the extension requests."""

    kind = "review"
    cancelled_key = "common.cancelled_kept"
    command = "review"
    takes_args = False
    roles = MANAGERS
    takes_files = False  # a workbook sent meanwhile goes to the upload dialog

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """Start at the oldest item of the queue."""
        await turn.start("item", {"skipped": []})
        await self._show_next(turn)

    # -- the queue --------------------------------------------------------------------------

    async def _queue(self, turn: Turn) -> list[Item]:
        return list(await turn.call(review_queue, turn.context.deps.read_uow(), turn.who.actor))

    async def _find(self, turn: Turn, key: str) -> Item | None:
        """The queue item with this key, if it still waits for a decision."""
        return next((i for i in await self._queue(turn) if item_key(i) == key), None)

    async def _show_next(self, turn: Turn) -> None:
        """Show the oldest item not skipped in this round (with its evidence), or say that
        the queue is done."""
        skipped = list(turn.data.get("skipped") or [])
        queue = await self._queue(turn)
        waiting = [i for i in queue if item_key(i) not in skipped]
        if not waiting:
            await turn.save("done", {"skipped": skipped})
            await turn.say("coord.review_done", skipped=len(queue))
            return
        item = waiting[0]
        await turn.save("item", {"skipped": skipped, "item": item_key(item)})
        if isinstance(item, RectificationView):
            await self._send_evidence(turn, item)
        await self._show_card(turn, item, position=len(queue) - len(waiting) + 1, total=len(queue))

    async def _item_on_screen(self, turn: Turn) -> Item | None:
        """The item the dialog is at, if it still waits for a decision; else None, after
        saying it was decided (by another tap or coordinator) and showing the next one."""
        key = str(turn.data.get("item", ""))
        item = await self._find(turn, key)
        if item is None:
            if key:
                await turn.say("coord.review_already_decided", kind=key[:1], decision="")
            await self._show_next(turn)
        return item

    async def _show_item(self, turn: Turn) -> None:
        item = await self._item_on_screen(turn)
        if item is None:
            return
        queue = await self._queue(turn)
        position = next((k for k, i in enumerate(queue, 1) if item_key(i) == item_key(item)), 1)
        await self._show_card(turn, item, position=position, total=len(queue))

    async def _show_return_reason(self, turn: Turn) -> None:
        item = await self._item_on_screen(turn)
        if item is None:
            return
        await turn.say(
            "coord.review_ask_return_reason",
            [[turn.button(turn.plain("coord.review_back_button"), "bk")]],
            unit=item.unit_name if isinstance(item, RectificationView) else "",
            max=MAX_REASON,
        )

    async def _show_return_confirm(self, turn: Turn) -> None:
        item = await self._item_on_screen(turn)
        if item is None:
            return
        assert isinstance(item, RectificationView)
        await turn.say(
            "coord.review_confirm_return",
            [
                [
                    turn.button(
                        turn.plain("coord.review_confirm_return_button"), "rc", str(item.id)
                    )
                ],
                [
                    turn.button(turn.plain("coord.review_change_reason_button"), "re"),
                    turn.button(turn.plain("coord.review_back_button"), "bk"),
                ],
            ],
            unit=item.unit_name,
            receipt=item.receipt,
            reason=turn.data.get("reason", ""),
        )

    async def _show_refuse_reason(self, turn: Turn) -> None:
        item = await self._item_on_screen(turn)
        if item is None:
            return
        await turn.say(
            "coord.review_ask_refuse_reason",
            [
                [
                    turn.button(
                        turn.plain("coord.review_refuse_no_reason_button"), "rn", str(item.id)
                    )
                ],
                [turn.button(turn.plain("coord.review_back_button"), "bk")],
            ],
            max=MAX_REASON,
        )

    async def _show_done(self, turn: Turn) -> None:
        await turn.say("coord.review_done", skipped=len(turn.data.get("skipped") or []))

    async def _show_card(self, turn: Turn, item: Item, position: int, total: int) -> None:
        if isinstance(item, RectificationView):
            await self._rectification_card(turn, item, position, total)
        else:
            await self._extension_card(turn, item, position, total)

    async def _rectification_card(
        self, turn: Turn, item: RectificationView, position: int, total: int
    ) -> None:
        files = await turn.call(evidence_files, turn.context.deps.read_uow(), item.evidence_ids)
        buttons = [
            [
                turn.button(turn.plain("coord.review_accept_button"), "ac", str(item.id)),
                turn.button(turn.plain("coord.review_return_button"), "rt", str(item.id)),
            ],
            [turn.button(turn.plain("coord.review_next_button"), "nx", item_key(item))],
        ]
        await turn.say(
            "coord.review_rectification_card",
            buttons,
            position=position,
            total=total,
            unit=item.unit_name,
            finding=item.finding_id,
            description=excerpt(item.finding_description, DESCRIPTION_EXCERPT),
            deadline=item.finding_deadline.isoformat(),
            receipt=item.receipt,
            submitted=local_time(turn, item.submitted_at),
            on_time=item.on_time,
            text=cut(item.text, MEASURES_EXCERPT),
            photos=sum(1 for f in files if f.kind == "photo"),
            documents=sum(1 for f in files if f.kind != "photo"),
        )

    async def _extension_card(
        self, turn: Turn, item: ExtensionView, position: int, total: int
    ) -> None:
        deps = turn.context.deps
        units = {u.id: u.name for u in await turn.call(all_units, deps.read_uow())}
        description = ""
        if item.finding_id is not None:
            try:
                finding = await turn.call(
                    get_finding, deps.read_uow(), turn.who.actor, item.finding_id
                )
                description = excerpt(finding.description, DESCRIPTION_EXCERPT)
            except ServiceError:
                pass  # the card still shows the request; only the description is missing
        # The unit's own deadline, as /report shows it: an extension granted earlier moved it.
        current: date | None
        try:
            current = await turn.call(current_deadline, deps.read_uow(), turn.who.actor, item.id)
        except ServiceError:
            current = None
        buttons = [
            [
                turn.button(turn.plain("coord.review_grant_button"), "gr", str(item.id)),
                turn.button(turn.plain("coord.review_refuse_button"), "rf", str(item.id)),
            ],
            [turn.button(turn.plain("coord.review_next_button"), "nx", item_key(item))],
        ]
        await turn.say(
            "coord.review_extension_card",
            buttons,
            position=position,
            total=total,
            unit=units.get(item.unit_id, str(item.unit_id)),
            finding=item.finding_id,
            description=description,
            year=item.report_year,
            month=item.report_month,
            current=current.isoformat() if current is not None else None,
            requested=item.requested_date.isoformat(),
            requested_at=local_time(turn, item.requested_at),
            reason=item.reason,
        )

    async def _send_evidence(self, turn: Turn, item: RectificationView) -> None:
        """Send a rectification's evidence back by file id: photos as albums, then documents."""
        files = await turn.call(evidence_files, turn.context.deps.read_uow(), item.evidence_ids)
        bot = turn.context.bot
        chat = turn.who.chat_id
        photos = [f for f in files if f.kind == "photo" and f.telegram_file_id]
        documents = [f for f in files if f.kind != "photo" and f.telegram_file_id]
        failed = len(files) - len(photos) - len(documents)
        for start in range(0, len(photos), ALBUM_SIZE):
            chunk = photos[start : start + ALBUM_SIZE]
            try:
                if len(chunk) == 1:
                    await bot.send_photo(chat, str(chunk[0].telegram_file_id))
                else:
                    media = [InputMediaPhoto(str(f.telegram_file_id)) for f in chunk]
                    await bot.send_media_group(chat, media)
            except TelegramError as exc:
                log.warning("could not send back photos of rectification %s: %s", item.id, exc)
                failed += len(chunk)
        for document in documents:
            try:
                await bot.send_document(chat, str(document.telegram_file_id))
            except TelegramError as exc:
                log.warning("could not send back a document of rectification %s: %s", item.id, exc)
                failed += 1
        if failed:
            await turn.say("coord.review_evidence_not_shown", count=failed)

    # -- input ------------------------------------------------------------------------------

    async def _return_reason(self, turn: Turn, text: str) -> None:
        """The reason for returning (not empty), then the confirmation."""
        if not text:
            await turn.say("coord.review_return_reason_empty")
            await self.prompt(turn)
            return
        if len(text) > MAX_REASON:
            await turn.say("coord.review_reason_too_long", length=len(text), max=MAX_REASON)
            return
        await turn.save("return_confirm", {**turn.data, "reason": text})
        await self.prompt(turn)

    async def _refuse_reason(self, turn: Turn, text: str) -> None:
        """The reason for refusing an extension (optional: a button refuses without one)."""
        if len(text) > MAX_REASON:
            await turn.say("coord.review_reason_too_long", length=len(text), max=MAX_REASON)
            return
        key = str(turn.data.get("item", ""))
        await self._refuse(turn, key[1:], text or None)

    async def _done_text(self, turn: Turn, text: str) -> None:
        # Nothing is left to type about: the queue is done.
        await self._show_done(turn)

    # Decision buttons act on the item they name, whatever the step (a card further up the
    # chat, or a double tap); a button whose item id cannot be read shows the step again.

    async def _accept_tapped(self, turn: Turn, arg: str) -> None:
        if not arg.isdigit():
            await self.prompt(turn)
            return
        await self._accept(turn, int(arg))

    async def _return_tapped(self, turn: Turn, arg: str) -> None:
        if not arg.isdigit():
            await self.prompt(turn)
            return
        await self._ask_return_reason(turn, f"r{arg}")

    async def _return_confirmed(self, turn: Turn, arg: str) -> None:
        if not arg.isdigit():
            await self.prompt(turn)
            return
        await self._return(turn, int(arg))

    async def _change_reason(self, turn: Turn, arg: str) -> None:
        await turn.save("return_reason")
        await self.prompt(turn)

    async def _grant_tapped(self, turn: Turn, arg: str) -> None:
        if not arg.isdigit():
            await self.prompt(turn)
            return
        await self._grant(turn, int(arg))

    async def _refuse_tapped(self, turn: Turn, arg: str) -> None:
        if not arg.isdigit():
            await self.prompt(turn)
            return
        if await self._still_waiting(turn, f"e{arg}"):
            data = {**turn.data, "item": f"e{arg}", "card": tapped_message_id(turn)}
            await turn.save("refuse_reason", data)
            await self.prompt(turn)

    async def _refuse_without_reason(self, turn: Turn, arg: str) -> None:
        if not arg.isdigit():
            await self.prompt(turn)
            return
        await self._refuse(turn, arg, None)

    async def _next_item(self, turn: Turn, arg: str) -> None:
        skipped = list(turn.data.get("skipped") or [])
        if arg and arg not in skipped:
            skipped.append(arg)
        await turn.save("item", {"skipped": skipped})
        await self._show_next(turn)

    async def _back(self, turn: Turn, arg: str) -> None:
        data = dict(turn.data)
        data.pop("reason", None)
        await turn.save("item", data)
        await self.prompt(turn)

    # -- decisions --------------------------------------------------------------------------

    async def _decided_elsewhere(self, turn: Turn, key: str, exc: ServiceError | None) -> None:
        """Tell that an item was decided already (by this person's earlier tap or another
        coordinator); move on if it was the item on screen."""
        params = dict(exc.params) if exc is not None else {}
        decision = params.get("decision")
        await turn.say(
            "coord.review_already_decided",
            kind=key[:1],
            decision=str(decision) if decision else "",
        )
        if turn.data.get("item") == key:
            await self._show_next(turn)

    async def _still_waiting(self, turn: Turn, key: str) -> bool:
        if await self._find(turn, key) is not None:
            return True
        await self._decided_elsewhere(turn, key, None)
        return False

    async def _take_buttons_off(self, turn: Turn, key: str) -> None:
        """Take the buttons off the messages that decided an item (the tapped one, and the
        item's card when the decision came through a reason), best effort, so they read done."""
        message_ids = {tapped_message_id(turn)}
        if turn.data.get("item") == key:
            message_ids.add(turn.data.get("card"))
        for message_id in message_ids:
            if not isinstance(message_id, int):
                continue
            try:
                await turn.context.bot.edit_message_reply_markup(
                    chat_id=turn.who.chat_id, message_id=message_id, reply_markup=None
                )
            except TelegramError:
                log.debug("could not take the buttons off message %s", message_id)

    async def _after_decision(self, turn: Turn, key: str) -> None:
        """Move on when the decided item was the one on screen."""
        if turn.data.get("item") == key:
            data = dict(turn.data)
            data.pop("reason", None)
            await turn.save("item", data)
            await self._show_next(turn)

    async def _accept(self, turn: Turn, rectification_id: int) -> None:
        key = f"r{rectification_id}"
        try:
            view = await turn.call(
                accept_rectification, turn.context.deps.uow(), turn.who.actor, rectification_id
            )
        except Invalid as exc:
            if exc.code not in _ALREADY_DECIDED:
                raise
            await self._decided_elsewhere(turn, key, exc)
            return
        await self._take_buttons_off(turn, key)
        unreachable = await tell(
            turn.context,
            view.liaison_telegram_ids,
            "coord.review_accepted_notice",
            finding=view.finding_id,
            description=excerpt(view.finding_description, DESCRIPTION_EXCERPT),
            receipt=view.receipt,
        )
        told = len(view.liaison_telegram_ids) - len(unreachable)
        await turn.say(
            "coord.review_accepted", unit=view.unit_name, receipt=view.receipt, told=told
        )
        await report_unreachable(turn, view.liaison_telegram_ids, unreachable)
        await self._after_decision(turn, key)

    async def _ask_return_reason(self, turn: Turn, key: str) -> None:
        if not await self._still_waiting(turn, key):
            return
        data = {**turn.data, "item": key, "card": tapped_message_id(turn)}
        data.pop("reason", None)
        await turn.save("return_reason", data)
        await self.prompt(turn)

    async def _return(self, turn: Turn, rectification_id: int) -> None:
        key = f"r{rectification_id}"
        reason = str(turn.data.get("reason") or "")
        if turn.step != "return_confirm" or turn.data.get("item") != key or not reason:
            # A second tap of the confirmation, or a stale one: say what became of the item.
            if await self._still_waiting(turn, key):
                await self.prompt(turn)
            return
        try:
            view = await turn.call(
                return_rectification,
                turn.context.deps.uow(),
                turn.who.actor,
                rectification_id,
                reason,
            )
        except Invalid as exc:
            if exc.code in _ALREADY_DECIDED:
                await self._decided_elsewhere(turn, key, exc)
                return
            # The reason was refused: the engine says why and asks for another.
            await turn.save("return_reason")
            raise
        await self._take_buttons_off(turn, key)
        unreachable = await tell(
            turn.context,
            view.liaison_telegram_ids,
            "coord.review_returned_notice",
            finding=view.finding_id,
            description=excerpt(view.finding_description, DESCRIPTION_EXCERPT),
            receipt=view.receipt,
            reason=reason,
            deadline=view.finding_deadline.isoformat(),
        )
        told = len(view.liaison_telegram_ids) - len(unreachable)
        await turn.say(
            "coord.review_returned",
            unit=view.unit_name,
            receipt=view.receipt,
            reason=reason,
            told=told,
        )
        await report_unreachable(turn, view.liaison_telegram_ids, unreachable)
        await self._after_decision(turn, key)

    async def _grant(self, turn: Turn, request_id: int) -> None:
        await self._decide_extension(turn, request_id, grant=True, reason=None)

    async def _refuse(self, turn: Turn, request_id: str, reason: str | None) -> None:
        if not request_id.isdigit():
            await self.prompt(turn)
            return
        await self._decide_extension(turn, int(request_id), grant=False, reason=reason)

    async def _decide_extension(
        self, turn: Turn, request_id: int, *, grant: bool, reason: str | None
    ) -> None:
        key = f"e{request_id}"
        try:
            view = await turn.call(
                decide_extension,
                turn.context.deps.uow(),
                turn.who.actor,
                request_id,
                grant,
                reason,
            )
        except Invalid as exc:
            if exc.code not in _ALREADY_DECIDED:
                raise
            await self._decided_elsewhere(turn, key, exc)
            return
        await self._take_buttons_off(turn, key)
        granted = view.decision == GRANTED
        target = (
            Localized("coord.review_target_finding", {"finding": view.finding_id})
            if view.finding_id is not None
            else Localized(
                "coord.review_target_report",
                {"year": view.report_year, "month": view.report_month},
            )
        )
        unreachable = await tell(
            turn.context,
            view.liaison_telegram_ids,
            "coord.review_extension_notice",
            granted=granted,
            target=target,
            requested=view.requested_date.isoformat(),
            reason=view.reason_for_decision or "",
        )
        await turn.say(
            "coord.review_extension_decided",
            granted=granted,
            target=target.text(turn.who.language),
            requested=view.requested_date.isoformat(),
            told=len(view.liaison_telegram_ids) - len(unreachable),
        )
        await report_unreachable(turn, view.liaison_telegram_ids, unreachable)
        await self._after_decision(turn, key)

    steps: ClassVar[Mapping[str, Step]] = {
        "item": Step(_show_item),
        "return_reason": Step(_show_return_reason, text=_return_reason),
        "return_confirm": Step(_show_return_confirm, buttons={"re": _change_reason}),
        "refuse_reason": Step(_show_refuse_reason, text=_refuse_reason),
        "done": Step(_show_done, text=_done_text),
    }
    anywhere: ClassVar[Mapping[str, Tapped]] = {
        "ac": _accept_tapped,
        "rt": _return_tapped,
        "rc": _return_confirmed,
        "gr": _grant_tapped,
        "rf": _refuse_tapped,
        "rn": _refuse_without_reason,
        "nx": _next_item,
        "bk": _back,
    }
