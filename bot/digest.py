"""The morning digest's button: the overdue units, listed once, when a coordinator asks.

The digest itself (services.reminders) gives counts only; its button is not part of any
dialog, so its handler comes before the dialog router's, like the broadcasts' 已知悉 button.
"""

from __future__ import annotations

import contextlib
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler

from bot.buttons import BadPayload, ButtonSigner, Payload
from bot.context import KaoheContext, registered
from bot.message_split import split_messages
from services.access import Role
from services.reminders import overdue_details
from templates import render

DIGEST_KIND = "digest"
DETAILS_PATTERN = rf"^{DIGEST_KIND}\|"
# Who may see the details: whoever gets the digest.
DETAILS_ROLES = frozenset({Role.COORDINATOR, Role.ADMIN})


def details_markup(
    signer: ButtonSigner, language: str, params: dict[str, Any]
) -> InlineKeyboardMarkup | None:
    """The digest's 查看逾期明细 button, when something is overdue."""
    if not params.get("overdue"):
        return None
    label = render("remind.details_button", language, count=params["overdue_units"])
    data = signer.dump(Payload(DIGEST_KIND, 0, "o"))
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)]])


def details_messages(language: str, details: Any) -> list[str]:
    """The overdue units as few messages as fit (HTML)."""
    if details is None or not details.units:
        return [render("remind.details_none", language, html=True)]
    title = render(
        "remind.details_title",
        language,
        html=True,
        today=details.today.isoformat(),
        count=details.count,
        units=len(details.units),
        escalate_after_days=details.escalate_after_days,
    )
    lines = [render("remind.details_unit", language, html=True, **unit) for unit in details.units]
    return split_messages([title, *lines])


async def on_details(update: Update, context: KaoheContext) -> None:
    """The button: today's overdue units (fresh, not as of the digest); the button goes."""
    query = update.callback_query
    assert query is not None
    language = context.language
    try:
        payload = context.deps.signer.load(query.data or "")
    except BadPayload:
        await query.answer(render("common.button_invalid", language), show_alert=True)
        return
    who = registered(context)
    if payload.kind != DIGEST_KIND or who.actor.role not in DETAILS_ROLES:
        await query.answer(render("remind.details_not_for_you", language), show_alert=True)
        return
    await query.answer()
    details = await context.call(overdue_details, context.deps.read_uow())
    # A message too old to edit keeps its button; the details come all the same.
    with contextlib.suppress(TelegramError):
        await query.edit_message_reply_markup(None)
    for text in details_messages(language, details):
        await context.bot.send_message(who.chat_id, text)


def details_handler() -> CallbackQueryHandler[Any, Any]:
    """The digest button's handler; it must come before the dialog router's button handler."""
    return CallbackQueryHandler(on_details, pattern=DETAILS_PATTERN)
