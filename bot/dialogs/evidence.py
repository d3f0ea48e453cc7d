"""Collecting photos and documents inside a dialog, for any dialog that takes evidence.

A dialog at a step that accepts files calls `collect(turn, incoming)` from its `file()` method.
Each file is downloaded, archived and registered (services.evidence), then appended to the
draft as `{"id", "kind", "name"}` under `draft_key`. Instead of answering every file, ONE status
message per collection ("received N files", with a Done and a "remove last" button) is edited as
files arrive, so an album (several updates sharing a media_group_id) ends as one message with
the count. The status message id lives in the draft (`<draft_key>_status`), so this survives a
restart like everything else.

The dialog handles the two buttons of the status message in its `button()`: `DONE` ("fd") moves
on (use `files_of`, then `seal` and `clear`), `REMOVE_LAST` ("fr") calls `remove_last`.

A dialog that is cancelled calls `discard_files` with the draft it had, after ending it: the
files it collected that nothing else refers to leave the evidence archive (files of dialogs
abandoned without a cancel are removed by `kaohe evidence prune`).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Mapping
from typing import Any

from telegram.error import BadRequest, TelegramError

from bot.context import KaoheContext
from bot.dialogs.engine import IncomingFile, Turn
from services import dialogs as dialog_service
from services.errors import ServiceError
from services.evidence import discard_evidence, draft_evidence_ids, register_evidence

log = logging.getLogger(__name__)

DONE = "fd"
REMOVE_LAST = "fr"
_LOCKS = "evidence_locks"


def files_of(turn: Turn, draft_key: str = "files") -> list[dict[str, Any]]:
    """The files collected so far under `draft_key` (a copy), oldest first."""
    return [dict(f) for f in turn.data.get(draft_key) or []]


def evidence_ids(turn: Turn, draft_key: str = "files") -> list[int]:
    """The evidence ids collected so far under `draft_key`."""
    return [int(f["id"]) for f in files_of(turn, draft_key)]


def status_key(draft_key: str = "files") -> str:
    """The draft key that holds the id of the collection's status message."""
    return f"{draft_key}_status"


def clear(turn: Turn, draft_key: str = "files") -> None:
    """Forget the collected files and the status message in the draft (the caller saves)."""
    turn.data.pop(draft_key, None)
    turn.data.pop(status_key(draft_key), None)


async def seal(turn: Turn, draft_key: str = "files") -> None:
    """Take the buttons off the status message (shown as final), so Done cannot be tapped twice;
    best effort: a message Telegram will not edit any more is left as it is."""
    message_id = turn.data.get(status_key(draft_key))
    if message_id is None:
        return
    count = len(files_of(turn, draft_key))
    try:
        await turn.edit(int(message_id), turn.t("evidence.sealed", count=count))
    except TelegramError:
        log.debug("could not seal evidence status message %s", message_id)


async def collect(turn: Turn, incoming: IncomingFile, draft_key: str = "files") -> None:
    """Download, archive and register one file, add it to the draft and update the one status
    message; a file that cannot be downloaded or registered is answered on its own and the
    files collected before it are kept."""
    step = turn.step
    name = incoming.file_name or ""
    try:
        telegram_file = await turn.context.bot.get_file(incoming.file_id)
        content = bytes(await telegram_file.download_as_bytearray())
    except TelegramError as exc:
        log.info("download of an evidence file failed: %s", exc)
        await turn.say("evidence.download_failed", name=name, kind=incoming.kind)
        return
    try:
        view = await turn.call(
            register_evidence,
            turn.context.deps.uow(),
            turn.who.actor,
            incoming.kind,
            incoming.file_id,
            incoming.unique_id,
            incoming.file_name,
            incoming.mime_type,
            incoming.size,
            content,
            turn.context.deps.archive,
        )
    except ServiceError as exc:
        problem = turn.t("evidence.not_registered", name=name, kind=incoming.kind)
        await turn.send(f"{problem}\n{turn.t(f'errors.{exc.code}', **exc.params)}")
        return
    async with _lock(turn):
        # Files of one album may be handled concurrently: read the draft again under the lock,
        # so that no file overwrites another's entry.
        await _refresh(turn)
        if turn.state is None or turn.step != step:
            await turn.say("evidence.arrived_late")
            return
        files = files_of(turn, draft_key)
        if any(f["id"] == view.id for f in files):
            await turn.say("evidence.duplicate", name=name, kind=incoming.kind)
            return
        files.append({"id": view.id, "kind": incoming.kind, "name": name})
        turn.data[draft_key] = files
        await turn.save(step)
        await _show_status(turn, draft_key)


async def remove_last(turn: Turn, draft_key: str = "files") -> None:
    """Drop the file received last from the draft and update the status message."""
    files = files_of(turn, draft_key)
    if files:
        files.pop()
    turn.data[draft_key] = files
    await turn.save(turn.step)
    await _show_status(turn, draft_key)


async def _show_status(turn: Turn, draft_key: str) -> None:
    """Edit the collection's status message, or send it (and remember its id) the first time."""
    count = len(files_of(turn, draft_key))
    text = turn.t("evidence.status", count=count)
    buttons = [
        [
            turn.button(turn.plain("evidence.done_button", count=count), DONE),
            turn.button(turn.plain("evidence.remove_last_button"), REMOVE_LAST),
        ]
    ]
    message_id = turn.data.get(status_key(draft_key))
    if message_id is not None:
        try:
            await turn.edit(int(message_id), text, buttons)
            return
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return
            log.info("status message %s cannot be edited (%s); sending a new one", message_id, exc)
    message = await turn.send(text, buttons)
    turn.data[status_key(draft_key)] = message.message_id
    await turn.save(turn.step)


async def _refresh(turn: Turn) -> None:
    person_id = turn.who.person_id
    turn.state = await turn.call(
        dialog_service.dialog_of_kind, turn.context.deps.read_uow(), person_id, turn.kind
    )


def _lock(turn: Turn) -> asyncio.Lock:
    locks: weakref.WeakValueDictionary[tuple[int | None, str], asyncio.Lock]
    locks = turn.context.bot_data.setdefault(_LOCKS, weakref.WeakValueDictionary())
    key = (turn.who.actor.person_id, turn.kind)
    lock = locks.get(key)
    if lock is None:
        lock = asyncio.Lock()
        locks[key] = lock
    return lock


async def discard_files(context: KaoheContext, draft: Mapping[str, Any]) -> None:
    """Remove the files a cancelled dialog's draft held that nothing else refers to (call it
    after ending the dialog); best effort: what stays is removed by pruning later."""
    ids = draft_evidence_ids(draft)
    if not ids or context.who is None:
        return
    try:
        await context.call(
            discard_evidence, context.deps.uow(), context.who.actor, context.deps.archive, ids
        )
    except Exception:
        log.exception("the files of a cancelled dialog could not be removed; pruning will")
