"""The gate: only registered people get anything; everyone else gets one polite line."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot.context import KaoheContext, Who
from bot.menus import ensure_menu
from services.errors import ServiceError
from services.people import ensure_admin, person_session
from templates import normalise_language, render

log = logging.getLogger(__name__)


def _is_start_with_code(update: Update) -> bool:
    message = update.message
    return bool(
        message is not None
        and message.text is not None
        and message.text.startswith("/start ")
        and len(message.text.split()) == 2
    )


async def gate(update: Update, context: KaoheContext) -> None:
    """Resolve the person behind the update or stop it here (runs before every handler)."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        raise ApplicationHandlerStop  # kaohe talks in private chats only
    deps = context.deps
    if user.id in deps.admin_ids:
        try:
            await context.call(ensure_admin, deps.uow(), user.id, user.full_name)
        except ServiceError:
            log.warning("could not make admin account %s an admin", user.id)
    session = await context.call(person_session, deps.read_uow(), user.id)
    if session is None:
        if _is_start_with_code(update):
            context.who = None
            return  # the join handler redeems the invite
        await _refuse(update, context, user.language_code)
        raise ApplicationHandlerStop
    context.who = Who(
        actor=session.actor,
        display_name=session.display_name,
        language=normalise_language(session.language or user.language_code),
        unit_name=session.unit_name,
        chat_id=chat.id,
    )
    await ensure_menu(context, session.actor.role, chat.id)


async def _refuse(update: Update, context: KaoheContext, language: str | None) -> None:
    text = render("common.unknown_account", normalise_language(language), html=True)
    if update.callback_query is not None:
        await update.callback_query.answer(render("common.unknown_account", language))
        return
    message = update.effective_message
    if message is not None:
        await message.reply_text(text)
