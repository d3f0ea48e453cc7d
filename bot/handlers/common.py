"""Commands every registered person has (start, help, cancel, language); the error handler."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import Update
from telegram.error import TelegramError

from bot.context import KaoheContext, Who, registered
from bot.dialogs import evidence
from bot.dialogs.engine import Dialog, Turn
from bot.handlers.inbound import command_args, display_name
from bot.menus import forget_menu
from services import dialogs as dialog_service
from services.access import Role
from services.errors import ServiceError
from services.people import person_session, redeem_invite, set_language
from storage.errors import DatabaseUnavailable
from templates import LANGUAGES, normalise_language, render

log = logging.getLogger(__name__)


def _t(context: KaoheContext, key: str, **params: object) -> str:
    return render(key, context.language, html=True, **params)


async def start(update: Update, context: KaoheContext) -> None:
    """`/start <code>` joins with an invitation; a registered person gets a greeting."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    if context.who is not None:
        await message.reply_text(_welcome_back(context.who))
        return
    code = (command_args(context) or [""])[0]
    language = normalise_language(user.language_code)
    try:
        person = await context.call(
            redeem_invite,
            context.deps.uow(),
            code,
            user.id,
            display_name(user),
            user.language_code,
        )
    except ServiceError as exc:
        await message.reply_text(render(f"errors.{exc.code}", language, html=True, **exc.params))
        return
    session = await context.call(person_session, context.deps.read_uow(), user.id)
    assert session is not None
    await message.reply_text(
        render(
            "common.joined",
            language,
            html=True,
            name=person.display_name,
            role=render(f"people.role_{person.role}", language),
            unit=person.unit_name,
        )
    )
    await message.reply_text(render(f"help.{person.role}", language, html=True))


def _welcome_back(who: Who) -> str:
    return render(
        "common.welcome_back",
        who.language,
        html=True,
        name=who.display_name,
        role=render(f"people.role_{who.actor.role.value}", who.language),
        unit=who.unit_name,
    )


async def help_command(update: Update, context: KaoheContext) -> None:
    """What this person can do, by role."""
    who = registered(context)
    message = update.effective_message
    assert message is not None
    await message.reply_text(_t(context, f"help.{who.actor.role.value}"))


async def cancel(update: Update, context: KaoheContext) -> None:
    """Leave the dialog in progress; its draft is dropped, and the answer says what it was."""
    person_id = registered(context).person_id
    message = update.effective_message
    assert message is not None
    current = await context.call(dialog_service.current_dialog, context.deps.read_uow(), person_id)
    if current is None:
        await message.reply_text(_t(context, "common.nothing_to_cancel"))
        return
    await context.call(dialog_service.end_dialog, context.deps.uow(), person_id, current.kind)
    key = Dialog.cancelled_keys.get(current.kind, "common.cancelled")
    await message.reply_text(_t(context, key))
    await evidence.discard_files(context, current.data)


class LanguageDialog(Dialog):
    """/language: choose Chinese or English."""

    kind = "language"
    cancelled_key = "common.cancelled_nothing"
    command = "language"
    roles = frozenset(Role)

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """Offer the languages."""
        await turn.start("choose", {})
        await self.prompt(turn)

    async def prompt(self, turn: Turn) -> None:
        """Show the language buttons."""
        buttons = [
            [turn.button(render("common.language_name", lang), "set", lang)] for lang in LANGUAGES
        ]
        await turn.say("common.choose_language", buttons)

    async def button(self, turn: Turn, action: str, arg: str) -> None:
        """Store the chosen language and answer in it."""
        if action != "set" or arg not in LANGUAGES:
            await self.prompt(turn)
            return
        await turn.call(set_language, turn.context.deps.uow(), turn.who.actor, arg)
        await turn.finish()
        forget_menu(turn.context, turn.who.chat_id)
        await turn.send(render("common.language_set", arg, html=True))


async def on_error(update: object, context: KaoheContext) -> None:
    """Log what went wrong (never the token) and tell the person, in their language.

    After a tap the router has usually answered the callback query already, and Telegram
    refuses a second answer: the apology is a message of its own, sent whatever the answer did.
    """
    log.error("error while handling an update", exc_info=context.error)
    sink = context.deps.errors
    if sink is not None and context.error is not None:
        sink.append(context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    language = context.who.language if context.who else context.deps.settings.language
    if update.callback_query is not None:
        try:
            await update.callback_query.answer()
        except TelegramError:
            log.debug("the tap was answered already")
    try:
        await context.bot.send_message(
            update.effective_chat.id, render(_error_message(context.error), language, html=True)
        )
    except TelegramError:
        log.warning("could not tell the user about the error")


def _error_message(error: BaseException | None) -> str:
    """The catalog key of what went wrong: the database busy (another writer held it longer
    than a writer waits) says so, to try again in a moment; anything else is an apology."""
    if isinstance(error, DatabaseUnavailable) and error.reason == "locked":
        return "common.database_locked"
    return "common.something_went_wrong"


async def unknown_command(update: Update, context: KaoheContext) -> None:
    """A command this person's role does not have."""
    message = update.effective_message
    assert message is not None
    await message.reply_text(_t(context, "common.unknown_command"))
