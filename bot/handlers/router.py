"""Thin handlers that hand each update to the dialog engine."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping

from telegram import CallbackQuery, Message, Update
from telegram.error import TelegramError

from bot.buttons import BadPayload
from bot.context import KaoheContext, registered
from bot.dialogs.engine import Dialog, IncomingFile, Turn
from bot.dialogs.helpers import excerpt
from bot.handlers.inbound import command_args, file_name, typed_text
from services import dialogs as dialog_service
from services.access import Role
from services.dialogs import DialogView
from services.errors import ServiceError
from templates import render
from templates.catalog import has_message

log = logging.getLogger(__name__)

# Telegram's limit for files a bot may download.
MAX_DOWNLOAD = 20 * 1024 * 1024


class DialogRouter:
    """Dispatches updates to the registered dialogs."""

    def __init__(self, dialogs: Mapping[str, Dialog]) -> None:
        self.dialogs = dict(dialogs)
        # A document sent outside any dialog starts the dialog named here for the sender's
        # role, if that dialog is registered (a coordinator sending a workbook, for one).
        self.file_dialogs: dict[Role, str] = {
            Role.COORDINATOR: "upload",
            Role.ADMIN: "upload",
        }

    @staticmethod
    async def _run(dialog: Dialog, turn: Turn, handled: Awaitable[None]) -> None:
        """Run one of a dialog's handlers; a service's refusal it lets through becomes the
        dialog's reply here, in one place (nothing of the refused action was stored)."""
        try:
            await handled
        except ServiceError as exc:
            await dialog.refused(turn, exc)

    def _t(self, context: KaoheContext, key: str, **params: object) -> str:
        return render(key, context.language, html=True, **params)

    async def _current(self, update: Update, context: KaoheContext) -> Turn | None:
        who = registered(context)
        shelf = context.take_dialogs()  # read by the gate with the person
        state = (
            shelf.current()
            if shelf is not None
            else await context.call(
                dialog_service.current_dialog, context.deps.read_uow(), who.person_id
            )
        )
        if state is None or state.kind not in self.dialogs:
            return None
        if who.actor.role not in self.dialogs[state.kind].roles:
            return None  # a draft of a role the person no longer has
        return Turn(update, context, state.kind, state)

    async def _of_kind(
        self, context: KaoheContext, person_id: int, kind: str
    ) -> tuple[DialogView | None, bool]:
        """The person's dialog of `kind` and whether it is the one in progress."""
        shelf = context.take_dialogs()  # read by the gate with the person
        if shelf is not None:
            return shelf.for_button(kind)
        return await context.call(
            dialog_service.dialog_for_button, context.deps.read_uow(), person_id, kind
        )

    async def command(self, update: Update, context: KaoheContext) -> None:
        """A dialog's command: check the role, then let the dialog begin."""
        who = registered(context)
        message = update.effective_message
        assert message is not None and message.text is not None
        name = message.text.split()[0].lstrip("/").split("@")[0].lower()
        dialog = next((d for d in self.dialogs.values() if d.command == name), None)
        if dialog is None:
            return
        if who.actor.role not in dialog.roles:
            await message.reply_text(self._t(context, "common.not_for_your_role"))
            return
        args = command_args(context)
        if args and not dialog.takes_args:
            await message.reply_text(no_args_text(context, name, args))
            return
        turn = Turn(update, context, dialog.kind, None)
        await self._run(dialog, turn, dialog.open(turn, args))

    async def text(self, update: Update, context: KaoheContext) -> None:
        """Typed text goes to the dialog in progress."""
        message = update.effective_message
        assert message is not None and message.text is not None
        turn = await self._current(update, context)
        if turn is None:
            await message.reply_text(self._t(context, "common.no_dialog"))
            return
        dialog = self.dialogs[turn.kind]
        await self._run(dialog, turn, dialog.text(turn, typed_text(message)))

    async def file(self, update: Update, context: KaoheContext) -> None:
        """A photo or document goes to the dialog in progress, if it is a kind we keep."""
        who = registered(context)
        message = update.effective_message
        assert message is not None
        turn = await self._current(update, context)
        if turn is None or not self.dialogs[turn.kind].takes_files:
            kind = self.file_dialogs.get(who.actor.role)
            incoming = incoming_file(message)
            if kind in self.dialogs and incoming is not None:
                dialog = self.dialogs[kind]
                started = Turn(update, context, kind, None)
                await self._run(dialog, started, dialog.begin_with_file(started, incoming))
                return
            if turn is None:
                await message.reply_text(self._t(context, "common.no_dialog"))
                return
        incoming = incoming_file(message)
        if incoming is None:
            await message.reply_text(self._t(context, "common.file_kind_not_accepted"))
            await self.dialogs[turn.kind].prompt(turn)
            return
        if incoming.size is not None and incoming.size > MAX_DOWNLOAD:
            await message.reply_text(
                self._t(context, "common.file_too_large", mb=MAX_DOWNLOAD // (1024 * 1024))
            )
            await self.dialogs[turn.kind].prompt(turn)
            return
        dialog = self.dialogs[turn.kind]
        await self._run(dialog, turn, dialog.file(turn, incoming))

    async def unusable(self, update: Update, context: KaoheContext) -> None:
        """Stickers, voice, locations …: say what is wanted instead; the dialog stays as it was."""
        message = update.effective_message
        assert message is not None
        await message.reply_text(self._t(context, "common.message_kind_not_used"))
        turn = await self._current(update, context)
        if turn is not None:
            await self.dialogs[turn.kind].prompt(turn)

    async def edited(self, update: Update, context: KaoheContext) -> None:
        """An edited message is not read again: say so, and how to change the answer."""
        message = update.edited_message
        assert message is not None
        await message.reply_text(self._t(context, "common.edits_not_read"))

    async def button(self, update: Update, context: KaoheContext) -> None:
        """A tapped button: checked, then given to its dialog if it is still current."""
        who = registered(context)
        query = update.callback_query
        assert query is not None
        try:
            payload = context.deps.signer.load(query.data or "")
        except BadPayload:
            await query.answer(render("common.button_invalid", context.language), show_alert=True)
            return
        dialog = self.dialogs.get(payload.kind)
        person_id = who.person_id
        state, is_current = (
            await self._of_kind(context, person_id, payload.kind)
            if dialog is not None
            else (None, False)
        )
        if (
            dialog is None
            or state is None
            or state.version != payload.version
            or who.actor.role not in dialog.roles
        ):
            await query.answer(render("common.button_expired", context.language))
            await close_buttons(context, query, None)
            await context.bot.send_message(
                who.chat_id, self._t(context, "common.button_expired_help")
            )
            return
        await query.answer()
        if not is_current:
            # A button of a draft the person left for another dialog: take that draft up again.
            state = await context.call(
                dialog_service.resume_dialog, context.deps.uow(), person_id, payload.kind
            )
            if state is None:
                return
        message = query.message
        if isinstance(message, Message) and payload.action not in dialog.live_actions:
            # First, so that the choice reads before what it leads to; a dialog that turns
            # the page in place edits the message again, with its new buttons.
            await close_buttons(context, query, _label_of(message, query.data or ""))
        turn = Turn(update, context, payload.kind, state)
        await self._run(dialog, turn, dialog.button(turn, payload.action, payload.arg))


def _label_of(message: Message, data: str) -> str | None:
    """The label of the button with this callback data on the message."""
    markup = message.reply_markup
    for row in markup.inline_keyboard if markup is not None else ():
        for button in row:
            if button.callback_data == data:
                return button.text
    return None


async def close_buttons(context: KaoheContext, query: CallbackQuery, choice: str | None) -> None:
    """Take the buttons off the tapped message and, for a choice made, show it under the text,
    so that a used message no longer looks live; best effort (a message too old or too long to
    edit keeps its text, or stays as it was)."""
    message = query.message
    if not isinstance(message, Message) or message.reply_markup is None:
        return
    chat_id, message_id = message.chat_id, message.message_id
    if choice is not None and message.text:
        shown = render("dialog.chosen", context.language, html=True, choice=choice)
        try:
            await context.bot.edit_message_text(
                f"{message.text_html}\n\n{shown}", chat_id=chat_id, message_id=message_id
            )
            return
        except TelegramError as exc:
            log.debug("could not show the choice on message %s: %s", message_id, exc)
    try:
        await context.bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)
    except TelegramError as exc:
        log.debug("could not take the buttons off message %s: %s", message_id, exc)


def no_args_text(context: KaoheContext, command: str, args: list[str]) -> str:
    """The refusal of words after a command that takes none: what it does and how to send it."""
    given = " ".join(args)
    language = context.language
    what = render(f"menu.{command}", language) if has_message(f"menu.{command}", language) else ""
    return render(
        "common.no_args", language, html=True, command=command, given=excerpt(given, 40), what=what
    )


def incoming_file(message: Message) -> IncomingFile | None:
    """The photo or accepted document of a message (PDF, Word, Excel, images), else None."""
    if message.photo:
        photo = message.photo[-1]
        return IncomingFile(
            "photo",
            photo.file_id,
            photo.file_unique_id,
            None,
            "image/jpeg",
            photo.file_size,
            message.media_group_id,
            message.message_id,
        )
    document = message.document
    if document is not None and _accepted(document.mime_type, document.file_name):
        return IncomingFile(
            "document",
            document.file_id,
            document.file_unique_id,
            file_name(document.file_name),
            document.mime_type,
            document.file_size,
            message.media_group_id,
            message.message_id,
        )
    return None


ACCEPTED_EXTENSIONS = (
    ".pdf", ".doc", ".docx", ".xls", ".xlsx", ".jpg", ".jpeg", ".png", ".heic", ".webp",
)  # fmt: skip
ACCEPTED_MIME_PREFIXES = (
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml",
    "image/",
)


def _accepted(mime_type: str | None, file_name: str | None) -> bool:
    if mime_type and mime_type.startswith(ACCEPTED_MIME_PREFIXES):
        return True
    return bool(file_name and file_name.lower().endswith(ACCEPTED_EXTENSIONS))
