"""The gate: only registered people get anything; everyone else gets one polite line."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.context import KaoheContext, Who
from bot.handlers.inbound import display_name
from bot.menus import ensure_menu
from services.access import Role
from services.errors import ServiceError
from services.people import admit, ensure_admin
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
    """Resolve the person behind the update or stop it here (runs before every handler).

    It fails closed: whatever goes wrong in here (the database, Telegram), the update goes no
    further; an error is handed to the error handler, which tells the person.
    """
    context.who = None
    context.dialogs = None
    admitted = False
    try:
        admitted = await _admit(update, context)
    except Exception as exc:  # any failure keeps the door shut
        await context.application.process_error(update, exc)
    if not admitted:
        raise ApplicationHandlerStop


async def _admit(update: Update, context: KaoheContext) -> bool:
    """Whether the update may go on to the handlers; sets `context.who` for a registered one."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        return False  # kaohe talks in private chats only
    deps = context.deps
    # The person and their dialogs in one read, one trip off the loop: the router takes the
    # dialogs from the context instead of reading them again.
    admission = await context.call(admit, deps.read_uow(), user.id)
    session = admission.session
    if user.id in deps.admin_ids and (session is None or session.actor.role is not Role.ADMIN):
        # An account of KAOHE_ADMIN_IDS is an active admin whatever the database says; made
        # one here when it is not (first contact, or demoted), then read again.
        try:
            await context.call(ensure_admin, deps.uow(), user.id, display_name(user))
        except ServiceError:
            log.warning("could not make admin account %s an admin", user.id)
        admission = await context.call(admit, deps.read_uow(), user.id)
        session = admission.session
    if session is None:
        if _is_start_with_code(update):
            return True  # the join handler redeems the invite (context.who stays None)
        await _refuse(update, context, user.language_code)
        return False
    context.who = Who(
        actor=session.actor,
        display_name=session.display_name,
        language=normalise_language(session.language or user.language_code),
        unit_name=session.unit_name,
        chat_id=chat.id,
    )
    context.dialogs = admission.dialogs
    return True


async def set_menu(update: Update, context: KaoheContext) -> None:
    """Give an admitted person the menu of their role, once the update was answered (a handler
    group after the dialogs'): a person's first update of the process is not held up by it."""
    who = context.who
    if who is None or context.menu_forgotten:
        return  # no one; or a menu this update changed, set by the next with the new person
    try:
        await ensure_menu(context, who.actor.role, who.chat_id)
    except TelegramError:
        log.warning("could not set the menu of chat %s", who.chat_id)  # only a convenience


async def _refuse(update: Update, context: KaoheContext, language: str | None) -> None:
    """One polite line to someone unknown; if even that cannot be sent, nothing more."""
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(render("common.unknown_account", language))
            return
        message = update.effective_message
        if message is not None:
            text = render("common.unknown_account", normalise_language(language), html=True)
            await message.reply_text(text)
    except TelegramError:
        log.warning("could not refuse an unknown account")
