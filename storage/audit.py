"""The append-only audit log, chained by hashes so that an edited or deleted entry is found."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, cast

from sqlalchemy import Connection, Table, func, insert, select, update
from sqlalchemy.orm import Session

from storage.bulk import driver_rows, insert_rows
from storage.clock import as_utc
from storage.models import AuditEntry, AuditHead

GENESIS = "0" * 64


_PLAIN = frozenset({str, int, float, bool, type(None)})
# How entry_hash serialises, as one reusable encoder (json.dumps with options builds one a call).
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def jsonable(value: Any) -> Any:
    """A value as plain JSON data (dates as ISO text), stored and hashed the same way."""
    kind = type(value)
    if kind in _PLAIN:  # the common case first: an import serialises 100,000 values
        return value
    # Plain dicts and lists next, without the ABC checks below (slow for every value).
    if kind is dict:
        return {str(k): v if type(v) in _PLAIN else jsonable(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _PLAIN else jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def entry_hash(
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    before: Any,
    after: Any,
) -> str:
    """The SHA-256 of an entry's content and the hash of the entry before it."""
    # json.dumps with these options, through the one encoder built with them.
    payload = _ENCODER.encode(
        [
            prev_hash,
            as_utc(at).replace(tzinfo=None).isoformat(timespec="microseconds"),
            actor,
            action,
            entity,
            entity_id,
            before,
            after,
        ]
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _json_items(*values: Any) -> str:
    """Values serialised as `entry_hash` serialises them, without the list's brackets."""
    return ",".join(_ENCODER.encode(value) for value in values)


def _chained_hash(prev_hash: str, at_text: str, change: PreparedChange) -> str:
    """`entry_hash` from pieces serialised before the transaction: the list as json.dumps
    would write it (the hash and the ISO time need no escaping)."""
    entity_id = change.entity_id
    entity_text = f'"{entity_id}"' if entity_id.isalnum() and entity_id.isascii() else None
    if entity_text is None:
        entity_text = _json_items(entity_id)
    payload = f'["{prev_hash}","{at_text}",{change.head},{entity_text},{change.tail}]'
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class Change:
    """One change to record in the audit log (see `append_many`)."""

    actor: str
    action: str
    entity: str
    entity_id: object
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None


_ENTRIES = cast(Table, AuditEntry.__table__)
_HEADS = cast(Table, AuditHead.__table__)
# Plain Core statements, compiled once: a liaison's report appends one entry, and the ORM's
# object loading and flushes cost more than the rest of the submission.
_LOCK_HEAD = select(_HEADS.c.last_hash).where(_HEADS.c.id == 1).with_for_update()
_NEW_HEAD = insert(_HEADS)
_MOVE_HEAD = update(_HEADS).where(_HEADS.c.id == 1)
_NEW_ENTRY = insert(_ENTRIES)


def _head_hash(connection: Connection) -> str:
    """The newest entry's hash, the head row locked until the commit (created with the first
    entry)."""
    last_hash = connection.execute(_LOCK_HEAD).scalar_one_or_none()
    if last_hash is None:
        connection.execute(_NEW_HEAD, {"id": 1, "last_id": 0, "last_hash": GENESIS})
        return GENESIS
    return str(last_hash)


def append(
    session: Session,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> int:
    """Add one entry after the newest, holding the head row locked until the commit; its id."""
    connection = session.connection()
    prev_hash = _head_hash(connection)
    before_data = jsonable(before) if before is not None else None
    after_data = jsonable(after) if after is not None else None
    # Microseconds survive every backend; anything finer would break the hash on read-back.
    at = as_utc(at)
    digest = entry_hash(
        prev_hash, at, actor, action, entity, str(entity_id), before_data, after_data
    )
    inserted = connection.execute(
        _NEW_ENTRY,
        {
            "at": at,
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": str(entity_id),
            "before": before_data,
            "after": after_data,
            "prev_hash": prev_hash,
            "hash": digest,
        },
    ).inserted_primary_key
    assert inserted is not None
    entry_id = inserted[0]
    connection.execute(_MOVE_HEAD, {"last_id": entry_id, "last_hash": digest})
    return int(entry_id)


@dataclass
class PreparedChange:
    """A change ready for `append_many`, serialised before the write transaction. Its
    `entity_id` may be filled in inside the transaction (the id of a row just inserted)."""

    actor: str
    action: str
    entity: str
    entity_id: str
    before: str | None  # JSON text, as stored
    after: str | None
    head: str  # actor, action, entity as entry_hash serialises them
    tail: str  # before, after as entry_hash serialises them


def prepare(changes: Sequence[Change]) -> list[PreparedChange]:
    """Serialise changes for `append_many` (the slow part, done before the transaction)."""
    prepared: list[PreparedChange] = []
    heads: dict[tuple[str, str, str], str] = {}
    for change in changes:
        names = (change.actor, change.action, change.entity)
        head = heads.get(names)
        if head is None:
            head = heads[names] = _json_items(*names)
        # Stored as serialised for the hash: any JSON text reads back as the same data.
        before = _ENCODER.encode(jsonable(change.before)) if change.before is not None else None
        after = _ENCODER.encode(jsonable(change.after)) if change.after is not None else None
        prepared.append(
            PreparedChange(
                change.actor,
                change.action,
                change.entity,
                str(change.entity_id),
                before,
                after,
                head,
                f"{before or 'null'},{after or 'null'}",
            )
        )
    return prepared


AUDIT_COLUMNS = ("at", "actor", "action", "entity", "entity_id", "before", "after")


def append_many(session: Session, at: datetime, changes: Sequence[PreparedChange]) -> None:
    """Add many entries after the newest in one bulk insert (an import's thousands of
    changes), chained exactly as `append` would chain them one by one."""
    if not changes:
        return
    connection = session.connection()
    prev = _head_hash(connection)
    at = as_utc(at)
    at_text = at.replace(tzinfo=None).isoformat(timespec="microseconds")
    table = cast(Table, AuditEntry.__table__)
    (stored_at,) = driver_rows(session.get_bind().dialect, table, ("at",), [(at,)])[0]
    rows: list[tuple[Any, ...]] = []
    for change in changes:
        digest = _chained_hash(prev, at_text, change)
        rows.append(
            (
                stored_at,
                change.actor,
                change.action,
                change.entity,
                change.entity_id,
                change.before,
                change.after,
                prev,
                digest,
            )
        )
        prev = digest
    insert_rows(session, table, (*AUDIT_COLUMNS, "prev_hash", "hash"), rows)
    # The head row is locked, so no other writer appends meanwhile: the newest id is ours.
    newest = connection.execute(select(func.max(_ENTRIES.c.id))).scalar_one()
    connection.execute(_MOVE_HEAD, {"last_id": int(newest), "last_hash": prev})


@dataclass(frozen=True)
class AuditBreak:
    """Where the audit chain is broken and how."""

    entry_id: int | None
    code: str  # edited | link_broken | newest_missing


def verify(session: Session) -> list[AuditBreak]:
    """Every place where the chain does not hold.

    `edited`: an entry's content no longer matches its hash. `link_broken`: an entry does not
    follow the one before it (an entry in between was deleted, or rewritten with a new hash).
    `newest_missing`: the newest entries were deleted. Ids are not expected to be contiguous,
    since a rolled-back transaction may use up a sequence number.
    """
    breaks: list[AuditBreak] = []
    prev_hash = GENESIS
    last_id = 0
    for entry in _entries(session):
        if entry.prev_hash != prev_hash:
            breaks.append(AuditBreak(entry.id, "link_broken"))
        expected = entry_hash(
            entry.prev_hash,
            entry.at,
            entry.actor,
            entry.action,
            entry.entity,
            entry.entity_id,
            entry.before,
            entry.after,
        )
        if expected != entry.hash:
            breaks.append(AuditBreak(entry.id, "edited"))
        prev_hash, last_id = entry.hash, entry.id
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_id != last_id or head.last_hash != prev_hash):
        breaks.append(AuditBreak(head.last_id, "newest_missing"))
    return breaks


def _entries(session: Session) -> Iterator[AuditEntry]:
    yield from session.execute(
        select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=1000)
    ).scalars()
