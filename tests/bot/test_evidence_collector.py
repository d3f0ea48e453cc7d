"""The evidence collector: files become evidence, counted on one status message per dialog."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from telegram import Update

from bot.app import KaoheApplication
from bot.dialogs import evidence
from bot.dialogs.engine import Dialog, IncomingFile, Turn
from bot.fake_bot_api import FakeUser
from bot.fake_bot_api.models import AlbumDocument
from services import dialogs as dialog_service
from services.access import Role
from services.errors import Invalid
from services.people import list_people
from storage.models import EvidenceRow
from storage.repositories.evidence import EvidenceFiles
from tests.bot.world import OPERATOR, BotWorld, new_application
from tests.fakes.bot_api import record_errors, tiny_png
from tests.texts import said, text_of

PDF = b"%PDF-1.4 fake minutes of the meeting"


class CollectDialog(Dialog):
    """A minimal dialog that only collects files, as /report and /rectify do."""

    kind = "collect"
    command = "collect"
    roles = frozenset({Role.LIAISON})

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """Start collecting."""
        await turn.start("files", {})
        await self.prompt(turn)

    async def prompt(self, turn: Turn) -> None:
        """Ask for files."""
        await turn.send("send files")

    async def file(self, turn: Turn, incoming: IncomingFile) -> None:
        """Collect the file."""
        await evidence.collect(turn, incoming)

    async def button(self, turn: Turn, action: str, arg: str) -> None:
        """Done or remove last."""
        if action == evidence.DONE:
            files = evidence.files_of(turn)
            await evidence.seal(turn)
            evidence.clear(turn)
            await turn.finish()
            await turn.send("done " + ",".join(str(f["id"]) for f in files))
        elif action == evidence.REMOVE_LAST:
            await evidence.remove_last(turn)


@pytest.fixture
async def app(world: BotWorld) -> AsyncIterator[KaoheApplication]:
    """An application with the collecting dialog, on the world's database and fake server."""
    application = new_application(world, updater=False, extra_dialogs=[CollectDialog()])
    await application.initialize()
    errors = record_errors(application)
    yield application
    await application.shutdown()
    assert errors == []


async def started(world: BotWorld, app: KaoheApplication) -> FakeUser:
    """A liaison who joined and sent /collect."""
    user = await world.join(1001)
    user.send_command("/collect")
    await world.step(app)
    return user


def draft(world: BotWorld) -> dict[str, Any]:
    """The collecting dialog's draft."""
    person = list_people(world.uow(), OPERATOR)[0]
    view = dialog_service.dialog_of_kind(world.uow(), person.id, "collect")
    assert view is not None
    return view.data


def evidence_row(world: BotWorld, evidence_id: int) -> EvidenceRow:
    """A stored evidence row."""
    with world.uow() as uow:
        row = uow.repository(EvidenceFiles).by_id(evidence_id)
        assert row is not None
        return row


def status_messages(world: BotWorld, user: FakeUser) -> list[Any]:
    """The bot's messages that count received files."""
    return [m for m in world.server.messages_to(user.id) if "📎" in (m.text or "")]


async def test_an_album_of_three_photos_ends_as_one_status_message_with_a_done_button(
    world: BotWorld, app: KaoheApplication
) -> None:
    user = await started(world, app)
    photos = [tiny_png(4, 3), tiny_png(5, 5), tiny_png(6, 2)]
    user.send_album(photos)
    await world.step(app)
    statuses = status_messages(world, user)
    assert len(statuses) == 1
    assert said("evidence.status", count=3) in statuses[0].text
    assert [label for label, _ in statuses[0].buttons] == [
        text_of("evidence.done_button", count=3),
        text_of("evidence.remove_last_button"),
    ]
    assert len(world.server.calls("getFile")) == 3
    files = draft(world)["files"]
    assert [f["kind"] for f in files] == ["photo", "photo", "photo"]
    assert draft(world)["files_status"] == statuses[0].message_id
    for photo, file in zip(photos, files, strict=True):
        row = evidence_row(world, file["id"])
        assert row.sha256 == hashlib.sha256(photo).hexdigest()
        assert row.archive_path is not None
        assert (world.deps.archive.root / row.archive_path).read_bytes() == photo


async def test_files_sent_one_by_one_update_the_same_status_message(
    world: BotWorld, app: KaoheApplication
) -> None:
    user = await started(world, app)
    user.send_photo(tiny_png())
    await world.step(app)
    user.send_document(PDF, "会议纪要.pdf", "application/pdf")
    await world.step(app)
    statuses = status_messages(world, user)
    assert len(statuses) == 1
    assert said("evidence.status", count=2) in statuses[0].text
    files = draft(world)["files"]
    assert [(f["kind"], f["name"]) for f in files] == [("photo", ""), ("document", "会议纪要.pdf")]


async def test_remove_last_drops_the_latest_file_and_updates_the_count(
    world: BotWorld, app: KaoheApplication
) -> None:
    user = await started(world, app)
    user.send_album([tiny_png(4, 3), tiny_png(5, 5)])
    await world.step(app)
    status = status_messages(world, user)[0]
    first_id = draft(world)["files"][0]["id"]
    user.tap(status, status.callback_data(text_of("evidence.remove_last_button")))
    await world.step(app)
    assert said("evidence.status", count=1) in status_messages(world, user)[0].text
    assert [f["id"] for f in draft(world)["files"]] == [first_id]


async def test_done_hands_the_files_over_and_takes_the_buttons_off_the_status_message(
    world: BotWorld, app: KaoheApplication
) -> None:
    user = await started(world, app)
    user.send_album([tiny_png(4, 3), tiny_png(5, 5)])
    await world.step(app)
    status = status_messages(world, user)[0]
    ids = [f["id"] for f in draft(world)["files"]]
    user.tap(status, status.callback_data(text_of("evidence.done_button", count=2)))
    await world.step(app)
    assert world.texts(user)[-1] == "done " + ",".join(str(i) for i in ids)
    sealed = status_messages(world, user)[0]
    assert said("evidence.sealed", count=2) in sealed.text
    assert sealed.buttons == []


async def test_a_file_that_cannot_be_downloaded_is_answered_and_the_others_are_kept(
    world: BotWorld, app: KaoheApplication
) -> None:
    user = await started(world, app)
    user.send_photo(tiny_png(4, 3))
    await world.step(app)
    world.server.fail_next("getFile", 400)
    user.send_document(PDF, "会议纪要.pdf", "application/pdf")
    await world.step(app)
    user.send_photo(tiny_png(6, 6))
    await world.step(app)
    texts = world.texts(user)
    assert any(
        said("evidence.download_failed", name="会议纪要.pdf", kind="document") in t for t in texts
    )
    assert said("evidence.status", count=2) in status_messages(world, user)[0].text
    assert [f["kind"] for f in draft(world)["files"]] == ["photo", "photo"]


async def test_a_file_that_cannot_be_registered_is_answered_with_the_reason(
    world: BotWorld, app: KaoheApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await started(world, app)
    user.send_photo(tiny_png(4, 3))
    await world.step(app)

    def refuse(*args: object, **kwargs: object) -> None:
        raise Invalid("evidence_empty")

    monkeypatch.setattr(evidence, "register_evidence", refuse)
    user.send_photo(tiny_png(5, 5))
    await world.step(app)
    texts = world.texts(user)
    assert said("evidence.not_registered", name="", kind="photo") in texts[-1]
    assert said("errors.evidence_empty") in texts[-1]
    assert len(draft(world)["files"]) == 1


async def test_the_same_file_sent_twice_is_counted_once(
    world: BotWorld, app: KaoheApplication
) -> None:
    user = await started(world, app)
    user.send_document(PDF, "纪要.pdf", "application/pdf")
    await world.step(app)
    user.send_document(PDF, "纪要.pdf", "application/pdf")
    await world.step(app)
    assert said("evidence.duplicate", name="纪要.pdf", kind="document") in world.texts(user)[-1]
    assert len(draft(world)["files"]) == 1


async def test_an_album_handled_concurrently_still_counts_every_file_on_one_message(
    world: BotWorld, app: KaoheApplication
) -> None:
    user = await started(world, app)
    user.send_album([tiny_png(4, 3), AlbumDocument(PDF, "纪要.pdf", "application/pdf")])
    updates = world.server.pending_updates
    world.server.state.confirm_updates(updates[-1]["update_id"] + 1)
    await asyncio.gather(*(app.process_update(Update.de_json(u, app.bot)) for u in updates))
    assert len(draft(world)["files"]) == 2
    statuses = status_messages(world, user)
    assert len(statuses) == 1
    assert said("evidence.status", count=2) in statuses[0].text


async def test_after_a_restart_new_files_update_the_status_message_sent_before(
    world: BotWorld, app: KaoheApplication
) -> None:
    user = await started(world, app)
    user.send_photo(tiny_png(4, 3))
    await world.step(app)
    restarted = new_application(world, updater=False, extra_dialogs=[CollectDialog()])
    await restarted.initialize()
    try:
        user.send_photo(tiny_png(5, 5))
        await world.step(restarted)
        status = status_messages(world, user)[0]
        assert len(status_messages(world, user)) == 1
        assert said("evidence.status", count=2) in status.text
        user.tap(status, status.callback_data(text_of("evidence.done_button", count=2)))
        await world.step(restarted)
        assert world.texts(user)[-1].startswith("done ")
    finally:
        await restarted.shutdown()


async def test_a_status_message_that_cannot_be_edited_is_sent_again(
    world: BotWorld, app: KaoheApplication
) -> None:
    user = await started(world, app)
    user.send_photo(tiny_png(4, 3))
    await world.step(app)
    world.server.fail_next("editMessageText", 400)
    user.send_photo(tiny_png(5, 5))
    await world.step(app)
    statuses = status_messages(world, user)
    assert len(statuses) == 2
    assert said("evidence.status", count=2) in statuses[-1].text
    assert draft(world)["files_status"] == statuses[-1].message_id
