"""The dialog engine: routes each message, file and button to the dialog the person is in.

A dialog is a class with one method per thing the user does (`begin`, `text`, `button`,
`file`) and a `prompt` that shows the current step again. Its step and draft live in the
database (services.dialogs) and are saved at every step, so a restart or a crash loses
nothing: the next message simply continues where the person was. Buttons carry the dialog's
kind and version, signed, so that a button of a finished or older dialog answers "expired"
and a forged one "not valid" instead of doing anything. Once a button was used, the router
closes its message first: the message then shows the choice and no buttons (a dialog that
turns a page in place edits it again, with new buttons; `live_actions` keep a message as it
is), and a message whose buttons expired loses them when one is tapped.

A dialog declares its steps in one table, `steps` (step -> `Step`: how it is shown, the text,
buttons and files it takes), as python-telegram-bot's `ConversationHandler` examples declare
`states`; the engine dispatches each update to the current step's handler. A dialog with a
`resume` offer gets "continue the unfinished draft or start over" from the engine, and a
`ServiceError` a handler lets through becomes one reply here (`Dialog.refused`), not an
`except` block in each dialog.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, ParamSpec, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.buttons import Payload
from bot.context import KaoheContext, Who, registered
from bot.message_split import split_messages
from services import dialogs as dialog_service
from services.access import Role
from services.dialogs import DialogView
from services.errors import ServiceError
from templates import render

Buttons = Sequence[Sequence[InlineKeyboardButton]]
P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class IncomingFile:
    """A photo or document the user sent, as Telegram describes it."""

    kind: str  # photo | document
    file_id: str
    unique_id: str
    file_name: str | None
    mime_type: str | None
    size: int | None
    media_group_id: str | None
    message_id: int


class Turn:
    """One update handled by a dialog: who, where they are, and how to answer."""

    def __init__(
        self, update: Update, context: KaoheContext, kind: str, state: DialogView | None
    ) -> None:
        self.update = update
        self.context = context
        self.who: Who = registered(context)
        self.kind = kind
        self.state = state

    @property
    def data(self) -> dict[str, Any]:
        """The draft of the dialog (empty before it starts)."""
        return self.state.data if self.state is not None else {}

    @property
    def step(self) -> str:
        """The current step of the dialog."""
        return self.state.step if self.state is not None else ""

    def t(self, key: str, **params: Any) -> str:
        """A message in the person's language, HTML-escaped for Telegram."""
        return render(key, self.who.language, html=True, **params)

    def plain(self, key: str, **params: Any) -> str:
        """A message in the person's language without escaping (for button labels)."""
        return render(key, self.who.language, **params)

    def button(self, label: str, action: str, arg: str = "") -> InlineKeyboardButton:
        """A button of this dialog that sends `action` (and `arg`) back."""
        version = self.state.version if self.state is not None else 0
        payload = self.context.deps.signer.dump(Payload(self.kind, version, action, arg))
        return InlineKeyboardButton(label, callback_data=payload)

    async def draft(self) -> DialogView | None:
        """The person's unfinished dialog of this kind, if any: as the gate read it with the
        person when it still holds it (no second read), else read now."""
        shelf = self.context.take_dialogs()
        if shelf is not None:
            return shelf.for_button(self.kind)[0]
        return await self.call(
            dialog_service.dialog_of_kind, self.context.deps.read_uow(), self._person_id, self.kind
        )

    async def refused(self, exc: ServiceError) -> None:
        """Tell the person, in their language, why a service refused."""
        await self.say(f"errors.{exc.code}", **exc.params)

    async def say(self, key: str, buttons: Buttons | None = None, **params: Any) -> Message:
        """Send a message from the catalogs, with buttons if given."""
        return await self.send(self.t(key, **params), buttons)

    async def send(self, text: str, buttons: Buttons | None = None) -> Message:
        """Send ready HTML text, with buttons if given; text too long for one message (a
        summary of long answers) goes as several, cut at line ends, the buttons on the last."""
        markup = InlineKeyboardMarkup(buttons) if buttons else None
        parts = split_messages([text])
        for part in parts[:-1]:
            await self.context.bot.send_message(self.who.chat_id, part)
        return await self.context.bot.send_message(
            self.who.chat_id, parts[-1] if parts else text, reply_markup=markup
        )

    async def edit(self, message_id: int, text: str, buttons: Buttons | None = None) -> None:
        """Replace the text (and buttons) of one of the bot's messages."""
        markup = InlineKeyboardMarkup(buttons) if buttons else None
        await self.context.bot.edit_message_text(
            text, chat_id=self.who.chat_id, message_id=message_id, reply_markup=markup
        )

    async def start(self, step: str, data: dict[str, Any]) -> None:
        """Start this dialog afresh: older buttons of it expire."""
        self.state = await self.context.call(
            dialog_service.start_dialog,
            self.context.deps.uow(),
            self._person_id,
            self.kind,
            step,
            data,
        )

    async def save(self, step: str, data: dict[str, Any] | None = None) -> None:
        """Store the step and draft now, before answering, so nothing typed can be lost."""
        new_data = data if data is not None else self.data
        saved = await self.context.call(
            dialog_service.save_dialog,
            self.context.deps.uow(),
            self._person_id,
            self.kind,
            step,
            new_data,
        )
        if saved is not None:
            self.state = saved

    async def finish(self) -> None:
        """End the dialog: its draft is forgotten and its buttons expire."""
        await self.context.call(
            dialog_service.end_dialog, self.context.deps.uow(), self._person_id, self.kind
        )
        self.state = None

    async def call(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a service off the event loop (typed: mypy checks the arguments and the answer)."""
        return await self.context.call(function, *args, **kwargs)

    @property
    def _person_id(self) -> int:
        return self.who.person_id


# The handlers a step table names: plain functions of the dialog class (methods, unbound), so
# a table written in the class body refers to the methods defined above it.
Show = Callable[[Any, Turn], Awaitable[None]]
Typed = Callable[[Any, Turn, str], Awaitable[None]]
Tapped = Callable[[Any, Turn, str], Awaitable[None]]  # (dialog, turn, the button's arg)
Sent = Callable[[Any, Turn, IncomingFile], Awaitable[None]]

# The step of a dialog whose draft was offered back (continue or start over), and where in the
# draft the step to go back to is kept.
RESUME_STEP = "resume"
RESUME_AT = "resume"
# Where in the draft the "start over" button's arg is kept while the offer stands.
RESTART_ARG = "restart"
CONTINUE = "cont"
RESTART = "new"


@dataclass(frozen=True)
class Step:
    """One step of a dialog: how it is shown, and the text, buttons and files it takes.

    A step that takes no text answers typed text with "use the buttons" and shows itself again;
    one that takes no files does the same for a file; a button of another step (an older
    message of the same dialog) shows the current step again.
    """

    show: Show
    text: Typed | None = None
    buttons: Mapping[str, Tapped] = field(default_factory=dict)
    files: Sent | None = None


@dataclass(frozen=True)
class Resume:
    """How a dialog offers an unfinished draft back when its command is sent again."""

    offer: str  # the message key of the offer (its parameters: Dialog.resume_params)
    continue_label: str
    restart_label: str


class Dialog:
    """A guided conversation; subclasses declare the steps (`steps`) or override the handlers."""

    kind: ClassVar[str]
    command: ClassVar[str]
    roles: ClassVar[frozenset[Role]]
    # A dialog that never wants files lets a document sent meanwhile start the file dialog of
    # the sender's role (a workbook upload) instead, and stays as it was.
    takes_files: ClassVar[bool] = True
    # Whether `/command words` means something to `begin`: a dialog that takes no arguments
    # says so (False), and words after its command are refused with its usage, never ignored;
    # one that takes them checks them itself and refuses what it cannot read.
    takes_args: ClassVar[bool] = True
    # Actions whose buttons sit on a message that stays live after a tap (a status with a
    # details and a remind button); any other tap closes its message (bot.handlers.router).
    live_actions: ClassVar[frozenset[str]] = frozenset()
    # What /cancel says of this dialog: its draft was dropped, or (a view, a choice) there was
    # none, or (grades, review decisions) what was saved step by step stays.
    cancelled_key: ClassVar[str] = "common.cancelled"
    # The /cancel message of each dialog kind, filled as dialog classes are defined.
    cancelled_keys: ClassVar[dict[str, str]] = {}
    # The steps of the dialog (step -> Step); the engine dispatches to them.
    steps: ClassVar[Mapping[str, Step]] = {}
    # Buttons taken at any step (action -> handler), after the current step's own.
    anywhere: ClassVar[Mapping[str, Tapped]] = {}
    # Set: sending the command again with a draft `worth_resuming` offers it back first.
    resume: ClassVar[Resume | None] = None

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if isinstance(kind, str):
            Dialog.cancelled_keys[kind] = cls.cancelled_key

    async def open(self, turn: Turn, args: Sequence[str]) -> None:
        """The person sent the dialog's command: offer a draft back, or begin."""
        if self.resume is not None and await self._offer_draft(turn, args):
            return
        await self.begin(turn, args)

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """Begin afresh (after the command, or "start over" of a draft offered back)."""
        raise NotImplementedError

    def worth_resuming(self, draft: DialogView, args: Sequence[str]) -> bool:
        """Whether an unfinished draft is worth offering back (something was entered)."""
        return False

    def resume_params(self, turn: Turn) -> dict[str, Any]:
        """The parameters of the `resume` offer, from the draft."""
        return {}

    def restart_arg(self, turn: Turn, args: Sequence[str]) -> str:
        """What "start over" passes to `begin` (split at spaces): nothing by default; a dialog
        whose command names what to start (`/report 3`) keeps it, so that it is not lost."""
        return ""

    def resumed(self, step: str, data: dict[str, Any]) -> dict[str, Any]:
        """The draft as "continue" takes it up again at `step` (a dialog drops here what
        belonged to messages now far up the chat, such as a status message to edit)."""
        return data

    async def _offer_draft(self, turn: Turn, args: Sequence[str]) -> bool:
        deps = turn.context.deps
        person_id = turn.who.person_id
        draft = await turn.draft()
        if draft is None or not self.worth_resuming(draft, args):
            return False
        turn.state = await turn.call(
            dialog_service.resume_dialog, deps.uow(), person_id, self.kind
        )
        if turn.state is None:
            return False
        data = dict(turn.data)
        if turn.step != RESUME_STEP:
            data[RESUME_AT] = turn.step
        # The arg of this command's offer (an earlier offer's does not carry over).
        data.pop(RESTART_ARG, None)
        if restart := self.restart_arg(turn, args):
            data[RESTART_ARG] = restart
        await turn.save(RESUME_STEP, data)
        await self.prompt(turn)
        return True

    async def _show_resume(self, turn: Turn) -> None:
        assert self.resume is not None
        buttons = [
            [turn.button(turn.plain(self.resume.continue_label), CONTINUE)],
            [
                turn.button(
                    turn.plain(self.resume.restart_label), RESTART, turn.data.get(RESTART_ARG, "")
                )
            ],
        ]
        await turn.say(self.resume.offer, buttons, **self.resume_params(turn))

    async def _continue(self, turn: Turn, arg: str) -> None:
        data = dict(turn.data)
        data.pop(RESTART_ARG, None)
        step = data.pop(RESUME_AT, "") or next(iter(self.steps))
        await turn.save(step, self.resumed(step, data))
        await self.prompt(turn)

    async def _restart(self, turn: Turn, arg: str) -> None:
        await self.begin(turn, arg.split() if arg else [])

    def _step(self, turn: Turn) -> Step | None:
        if turn.step == RESUME_STEP and self.resume is not None:
            return Step(
                show=Dialog._show_resume,
                buttons={CONTINUE: Dialog._continue, RESTART: Dialog._restart},
            )
        return self.steps.get(turn.step)

    async def prompt(self, turn: Turn) -> None:
        """Show the current step again (after something that did not fit it)."""
        step = self._step(turn)
        if step is None:
            raise LookupError(f"dialog {self.kind} has no step {turn.step!r}")
        await step.show(self, turn)

    async def text(self, turn: Turn, text: str) -> None:
        """The person typed text: the current step's, else "use the buttons"."""
        step = self._step(turn)
        if step is not None and step.text is not None:
            await step.text(self, turn, text)
            return
        await turn.say("dialog.use_buttons")
        await self.prompt(turn)

    async def button(self, turn: Turn, action: str, arg: str) -> None:
        """The person tapped one of this dialog's current buttons: the current step's handler,
        else one taken anywhere; a button of another step shows the current step again."""
        step = self._step(turn)
        handler = step.buttons.get(action) if step is not None else None
        if handler is None:
            handler = self.anywhere.get(action)
        if handler is None:
            await self.prompt(turn)
            return
        await handler(self, turn, arg)

    async def begin_with_file(self, turn: Turn, incoming: IncomingFile) -> None:
        """A file sent outside any dialog that this dialog takes (see Router file_dialogs)."""
        raise NotImplementedError

    async def file(self, turn: Turn, incoming: IncomingFile) -> None:
        """The person sent a photo or document: the current step's, else "no file here"."""
        step = self._step(turn)
        if step is not None and step.files is not None:
            await step.files(self, turn, incoming)
            return
        await turn.say("dialog.no_file_here")
        await self.prompt(turn)

    async def refused(self, turn: Turn, exc: ServiceError) -> None:
        """A service refused what a handler asked (nothing of it was stored): say why, and show
        the step the person is still at."""
        await turn.refused(exc)
        if turn.state is not None and self._step(turn) is not None:
            await self.prompt(turn)
