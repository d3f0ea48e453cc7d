"""The dialog engine on its own: a dialog declared as a step table, dispatched by the engine,
with refusals said in one place and an unfinished draft offered back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, ClassVar

import pytest

from bot.app import KaoheApplication
from bot.dialogs.engine import Dialog, IncomingFile, Resume, Step, Turn
from bot.fake_bot_api import BotMessage, FakeUser
from services.access import Role
from services.dialogs import DialogView
from services.errors import Invalid
from tests.bot.world import BotWorld, new_application
from tests.fakes.bot_api import record_errors, tiny_png
from tests.texts import said, text_of

NAME_PROMPT = "what is the name?"
FILE_PROMPT = "send the file"


class NamingDialog(Dialog):
    """A name typed (or skipped), confirmed, then a file: the shape of kaohe's dialogs."""

    kind = "naming"
    command = "naming"
    roles = frozenset({Role.LIAISON})
    resume = Resume(
        "coord.bonus_draft_found", "coord.bonus_continue_button", "coord.bonus_start_over_button"
    )

    def worth_resuming(self, draft: DialogView, args: Sequence[str]) -> bool:
        """A draft with a name is worth offering back."""
        return bool(draft.data.get("name"))

    def resume_params(self, turn: Turn) -> dict[str, Any]:
        """The offer names the draft."""
        return {"unit": turn.data["name"], "title": None}

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """Ask for the name."""
        await turn.start("name", {})
        await self.prompt(turn)

    async def _show_name(self, turn: Turn) -> None:
        await turn.send(NAME_PROMPT, [[turn.button("skip", "skip")]])

    async def _named(self, turn: Turn, text: str) -> None:
        if text == "refused":
            raise Invalid("no_plan", year=2025)  # a service's refusal, let through
        await turn.save("confirm", {"name": text})
        await self.prompt(turn)

    async def _skipped(self, turn: Turn, arg: str) -> None:
        await turn.save("confirm", {"name": "(none)"})
        await self.prompt(turn)

    async def _show_confirm(self, turn: Turn) -> None:
        buttons = [[turn.button("ok", "ok"), turn.button("back", "back")]]
        await turn.send(f"confirm {turn.data['name']}?", buttons)

    async def _confirmed(self, turn: Turn, arg: str) -> None:
        await turn.save("file")
        await self.prompt(turn)

    async def _back(self, turn: Turn, arg: str) -> None:
        await turn.save("name")
        await self.prompt(turn)

    async def _show_file(self, turn: Turn) -> None:
        await turn.send(FILE_PROMPT)

    async def _file(self, turn: Turn, incoming: IncomingFile) -> None:
        name = turn.data["name"]
        await turn.finish()
        await turn.send(f"stored {name} with a {incoming.kind}")

    steps: ClassVar[Mapping[str, Step]] = {
        "name": Step(_show_name, text=_named, buttons={"skip": _skipped}),
        "confirm": Step(_show_confirm, buttons={"ok": _confirmed, "back": _back}),
        "file": Step(_show_file, files=_file),
    }


@pytest.fixture
async def app(world: BotWorld) -> AsyncIterator[KaoheApplication]:
    """An application with the naming dialog, on the world's database and fake server."""
    application = new_application(world, updater=False, extra_dialogs=[NamingDialog()])
    await application.initialize()
    errors = record_errors(application)
    yield application
    await application.shutdown()
    assert errors == []


async def started(world: BotWorld, app: KaoheApplication) -> FakeUser:
    """A liaison who joined and sent /naming."""
    user = await world.join(1001)
    user.send_command("/naming")
    await world.step(app)
    return user


def last(world: BotWorld, user: FakeUser) -> BotMessage:
    """The bot's latest message to the user."""
    return world.server.last_message_to(user.id)


def texts(world: BotWorld, user: FakeUser, since: int) -> list[str]:
    """The texts of the bot's messages after the first `since`."""
    return [m.text or "" for m in world.server.messages_to(user.id)[since:]]


async def tap(world: BotWorld, app: KaoheApplication, user: FakeUser, label: str) -> None:
    """Tap the button `label` on the newest message that has it."""
    for message in reversed(world.server.messages_to(user.id)):
        for text, data in message.buttons:
            if text == label and data is not None:
                user.tap(message, data)
                await world.step(app)
                return
    raise AssertionError(f"no button {label!r}")


async def test_each_step_takes_its_own_text_buttons_and_files(
    world: BotWorld, app: KaoheApplication
) -> None:
    user = await started(world, app)
    assert last(world, user).text == NAME_PROMPT
    user.send_text("东城")
    await world.step(app)
    assert last(world, user).text == "confirm 东城?"
    await tap(world, app, user, "ok")
    assert last(world, user).text == FILE_PROMPT
    user.send_photo(tiny_png(4, 4))
    await world.step(app)
    assert last(world, user).text == "stored 东城 with a photo"


async def test_what_a_step_does_not_take_is_said_and_the_step_shown_again(
    world: BotWorld, app: KaoheApplication
) -> None:
    user = await started(world, app)
    user.send_text("东城")
    await world.step(app)
    seen = len(world.server.messages_to(user.id))
    user.send_text("typed where a button is wanted")
    await world.step(app)
    assert texts(world, user, seen) == [said("dialog.use_buttons"), "confirm 东城?"]
    seen = len(world.server.messages_to(user.id))
    user.send_photo(tiny_png(4, 4))
    await world.step(app)
    assert texts(world, user, seen) == [said("dialog.no_file_here"), "confirm 东城?"]
    # "skip" belongs to the name step, whose message still shows it: the current step again.
    seen = len(world.server.messages_to(user.id))
    await tap(world, app, user, "skip")
    assert texts(world, user, seen)[-1] == "confirm 东城?"


async def test_a_refusal_let_through_is_said_once_and_the_step_shown_again(
    world: BotWorld, app: KaoheApplication
) -> None:
    user = await started(world, app)
    seen = len(world.server.messages_to(user.id))
    user.send_text("refused")
    await world.step(app)
    assert texts(world, user, seen) == [said("errors.no_plan", year=2025), NAME_PROMPT]
    user.send_text("东城")  # nothing of the refused answer was kept
    await world.step(app)
    assert last(world, user).text == "confirm 东城?"


async def test_a_draft_is_offered_back_to_continue_or_start_over(
    world: BotWorld, app: KaoheApplication
) -> None:
    user = await started(world, app)
    user.send_text("东城")
    await world.step(app)
    user.send_command("/naming")
    await world.step(app)
    offer = said("coord.bonus_draft_found", unit="东城", title=None)
    assert last(world, user).text == offer
    await tap(world, app, user, text_of("coord.bonus_continue_button"))
    assert last(world, user).text == "confirm 东城?"
    user.send_command("/naming")
    await world.step(app)
    assert last(world, user).text == offer
    await tap(world, app, user, text_of("coord.bonus_start_over_button"))
    assert last(world, user).text == NAME_PROMPT
    # Starting over expired the older buttons of the dialog.
    older = [m for m in world.server.messages_to(user.id) if any(t == "ok" for t, _ in m.buttons)]
    ok = next(data for label, data in older[-1].buttons if label == "ok" and data)
    seen = len(world.server.messages_to(user.id))
    user.tap(older[-1], ok)
    await world.step(app)
    assert said("common.button_expired_help") in texts(world, user, seen)


async def test_a_draft_with_nothing_entered_is_not_offered_back(
    world: BotWorld, app: KaoheApplication
) -> None:
    user = await started(world, app)
    user.send_command("/naming")
    await world.step(app)
    assert last(world, user).text == NAME_PROMPT
