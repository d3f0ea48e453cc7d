"""What every handler can reach: the bot's dependencies and the person behind the update."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar, cast

from telegram.ext import Application, CallbackContext, ExtBot

from bot.buttons import ButtonSigner
from services.access import Actor
from services.dialogs import DialogShelf
from services.settings import Settings
from storage.archive import EvidenceArchive
from storage.clock import Clock
from storage.database import Database
from storage.unit_of_work import UnitOfWork

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class BotDeps:
    """The bot's long-lived parts, made once in the composition root."""

    settings: Settings
    database: Database
    clock: Clock
    archive: EvidenceArchive
    signer: ButtonSigner
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    # Where the error handler also puts each error it handles (tests and the soak read it).
    errors: list[BaseException] | None = None

    def uow(self) -> UnitOfWork:
        """A new unit of work."""
        return UnitOfWork(self.database, self.clock)

    def read_uow(self) -> UnitOfWork:
        """A new read-only unit of work."""
        return UnitOfWork(self.database, self.clock, read_only=True)


class NotAdmitted(RuntimeError):
    """An update reached a handler without a registered person (a bug): refused loudly."""


@dataclass(frozen=True)
class Who:
    """The registered person behind the current update."""

    actor: Actor
    display_name: str
    language: str
    unit_name: str | None
    chat_id: int

    @property
    def person_id(self) -> int:
        """The person's id; never missing for someone the gate let through."""
        if self.actor.person_id is None:
            raise NotAdmitted("a handler ran for an actor that is no registered person")
        return self.actor.person_id

    @property
    def unit_id(self) -> int:
        """The id of the liaison's unit; a person without a unit gets no unit's data."""
        if self.actor.unit_id is None:
            raise NotAdmitted("a unit's dialog ran for a person without a unit")
        return self.actor.unit_id


def registered(context: KaoheContext) -> Who:
    """The registered person behind the update; NotAdmitted (never an assert, which `python
    -O` drops) if the gate did not let one through."""
    if context.who is None:
        raise NotAdmitted("a handler ran for an update the gate did not admit")
    return context.who


class KaoheContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The callback context of kaohe's handlers, with typed access to its parts."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.who: Who | None = None
        # The person's dialogs as the gate read them with the person (one read for both).
        self.dialogs: DialogShelf | None = None
        # Set when this update changed what the menu shows (bot.menus.forget_menu).
        self.menu_forgotten = False

    def take_dialogs(self) -> DialogShelf | None:
        """The dialogs the gate read for this update, once: a second look (after the update
        changed them) finds None and reads them afresh."""
        shelf, self.dialogs = self.dialogs, None
        return shelf

    @property
    def deps(self) -> BotDeps:
        """The bot's dependencies."""
        return cast(BotDeps, self.bot_data["deps"])

    @property
    def language(self) -> str:
        """The language to answer in."""
        if self.who is not None:
            return self.who.language
        return self.deps.settings.language

    async def call(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a (blocking) service off the event loop."""
        return await asyncio.to_thread(function, *args, **kwargs)
