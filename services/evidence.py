"""Evidence files: register what a user sent (photo, document …) and keep a copy by its hash."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from services.access import Actor, Role, require_role
from services.errors import Invalid, NotFound, ServiceError
from services.files.file_kinds import ACCEPTED, judge_file
from storage.archive import ArchiveCorrupted, ArchivedFile, ArchiveTooLarge, EvidenceArchive
from storage.models import EvidenceRow
from storage.repositories.evidence import EvidenceFiles, EvidenceRecord
from storage.statuses import FileKind
from storage.unit_of_work import UnitOfWork

# The largest file a bot may download through the Bot API.
MAX_EVIDENCE_SIZE = 20 * 1024 * 1024
KINDS: tuple[FileKind, ...] = tuple(FileKind)


@dataclass(frozen=True)
class EvidenceView:
    """A registered evidence file; `reused` when it had been registered before."""

    id: int
    kind: FileKind
    telegram_file_id: str | None
    telegram_unique_id: str | None
    file_name: str | None
    mime_type: str | None
    size: int | None
    sha256: str | None
    archive_path: str | None
    uploaded_by: int | None
    uploaded_at: datetime
    reused: bool = False


def _view(row: EvidenceRecord, reused: bool = False) -> EvidenceView:
    return EvidenceView(
        id=row.id,
        kind=row.kind,  # type: ignore[arg-type]  # as given: a FileKind or its value
        telegram_file_id=row.telegram_file_id,
        telegram_unique_id=row.telegram_unique_id,
        file_name=row.file_name,
        mime_type=row.mime_type,
        size=row.size,
        sha256=row.sha256,
        archive_path=row.archive_path,
        uploaded_by=row.uploaded_by,
        uploaded_at=row.uploaded_at,
        reused=reused,
    )


def _snapshot(row: EvidenceRow | EvidenceRecord) -> dict[str, object]:
    return {
        "kind": row.kind,
        "telegram_unique_id": row.telegram_unique_id,
        "file_name": row.file_name,
        "mime_type": row.mime_type,
        "size": row.size,
        "sha256": row.sha256,
        "archive_path": row.archive_path,
    }


def _archive(
    archive: EvidenceArchive, content: bytes | Path | BinaryIO, max_size: int
) -> ArchivedFile:
    try:
        return archive.store(content, max_size=max_size)
    except ArchiveTooLarge as exc:
        raise Invalid("evidence_too_large", size=exc.size, limit=max_size) from exc
    except ArchiveCorrupted as exc:
        raise ServiceError("evidence_archive_corrupted", sha256=exc.expected) from exc


def register_evidence(
    uow: UnitOfWork,
    actor: Actor,
    kind: str,
    telegram_file_id: str | None,
    telegram_unique_id: str | None,
    file_name: str | None,
    mime_type: str | None,
    size: int | None,
    content: bytes | Path | BinaryIO | None,
    archive: EvidenceArchive,
    *,
    max_size: int = MAX_EVIDENCE_SIZE,
) -> EvidenceView:
    """Register an evidence file and archive its content if given; a file Telegram already
    knows by the same unique id reuses its row (gaining an archive copy if it had none)."""
    require_role(actor, Role.LIAISON, Role.COORDINATOR)
    if kind not in KINDS:
        raise Invalid("evidence_unknown_kind", kind=kind, kinds=list(KINDS))
    if size is not None and size < 0:
        raise Invalid("evidence_bad_size", size=size)
    if size is not None and size > max_size:
        raise Invalid("evidence_too_large", size=size, limit=max_size)
    if content is None and not telegram_file_id:
        raise Invalid("evidence_empty")
    if content is not None and not isinstance(content, bytes | Path):
        content = content.read()
    if content is not None or size == 0:
        # By what the bytes are, not by the name or the type the sender declared.
        judged = judge_file(content if content is not None else b"")
        if not judged.accepted:
            raise Invalid(
                "evidence_not_accepted",
                name=file_name,
                found=judged.found,
                accepted=list(ACCEPTED),
            )
    # Archive before the transaction: copying a large file must not hold the write lock, and a
    # copy left by a transaction that then fails is harmless (same bytes, same name).
    stored = _archive(archive, content, max_size) if content is not None else None
    archive_path = stored.relative_to(archive.root) if stored is not None else None
    with uow:
        # Core statements (no ORM objects, flushes or savepoints): the bot registers every
        # photo and document a liaison sends.
        files = uow.repository(EvidenceFiles)
        existing = files.record_by_unique_id(telegram_unique_id) if telegram_unique_id else None
        if existing is None:
            row, created = files.insert_if_new(
                {
                    "telegram_file_id": telegram_file_id,
                    "telegram_unique_id": telegram_unique_id,
                    "kind": kind,
                    "file_name": file_name,
                    "mime_type": mime_type,
                    "size": stored.size if stored is not None else size,
                    "sha256": stored.sha256 if stored is not None else None,
                    "archive_path": archive_path,
                    "uploaded_by": actor.person_id,
                    "uploaded_at": uow.now(),
                }
            )
            if created:
                after = _snapshot(row)
                uow.audit(actor.audit_name, "evidence.register", "evidence", row.id, None, after)
                uow.commit()
                return _view(row)
            existing = row
        if stored is None or existing.sha256 == stored.sha256:
            return _view(existing, reused=True)
        if existing.sha256 is not None:
            raise Invalid("evidence_content_mismatch", evidence_id=existing.id)
        assert archive_path is not None
        before = _snapshot(existing)
        files.set_archive_copy(existing.id, stored.sha256, archive_path, stored.size)
        existing = existing._replace(
            sha256=stored.sha256, archive_path=archive_path, size=stored.size
        )
        after = _snapshot(existing)
        uow.audit(actor.audit_name, "evidence.archive", "evidence", existing.id, before, after)
        uow.commit()
        return _view(existing, reused=True)


def require_evidence(uow: UnitOfWork, evidence_ids: Iterable[int]) -> tuple[int, ...]:
    """The evidence ids without repeats, in order; NotFound for any not registered (inside an
    open unit of work)."""
    ids = tuple(dict.fromkeys(evidence_ids))
    known = uow.repository(EvidenceFiles).existing_ids(ids)
    for evidence_id in ids:
        if evidence_id not in known:
            raise NotFound("evidence_not_found", evidence_id=evidence_id)
    return ids


@dataclass(frozen=True)
class EvidenceFile:
    """What the bot needs to send an evidence file back: its kind, Telegram file id, name."""

    id: int
    kind: FileKind
    telegram_file_id: str | None
    file_name: str | None


def evidence_files(uow: UnitOfWork, evidence_ids: Sequence[int]) -> list[EvidenceFile]:
    """The evidence files with these ids, in that order (ids not registered are left out)."""
    with uow:
        return evidence_files_in(uow, evidence_ids)


def evidence_files_in(uow: UnitOfWork, evidence_ids: Sequence[int]) -> list[EvidenceFile]:
    """`evidence_files` inside an open unit of work."""
    found = uow.repository(EvidenceFiles).briefs(evidence_ids)
    rows = [found.get(evidence_id) for evidence_id in evidence_ids]
    return [
        EvidenceFile(r.id, r.kind, r.telegram_file_id, r.file_name) for r in rows if r is not None
    ]


# ---------------------------------------------------------------------------------------------
# Files nothing refers to: a cancelled dialog's, an abandoned dialog's, a crash's leftovers

# A bonus item names its files in its evidence text as `📎 name (#id)` (bot.dialogs.bonus).
_BONUS_REFERENCE = re.compile(r"\(#(\d+)\)")
# How long a temporary archive copy may sit before pruning takes it for a crash's leftover.
_INCOMING_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class Removed:
    """What a clean-up removed: evidence rows, archive files and the bytes they took."""

    rows: int = 0
    files: int = 0
    bytes: int = 0


def draft_evidence_ids(data: Mapping[str, Any]) -> set[int]:
    """The evidence ids a dialog's draft holds: the files collected by bot.dialogs.evidence
    (lists of `{"id", "kind", "name"}`, under any key) and an upload's `evidence_id`."""
    found: set[int] = set()

    def walk(value: object) -> None:
        if isinstance(value, Mapping):
            evidence_id = value.get("evidence_id")
            if isinstance(evidence_id, int) and not isinstance(evidence_id, bool):
                found.add(evidence_id)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                if (
                    isinstance(item, Mapping)
                    and {"id", "kind"} <= item.keys()
                    and isinstance(item["id"], int)
                    and not isinstance(item["id"], bool)
                ):
                    found.add(item["id"])
                walk(item)

    walk(data)
    return found


def _still_wanted(files: EvidenceFiles) -> set[int]:
    """Evidence ids that open drafts or bonus items still name."""
    wanted: set[int] = set()
    for draft in files.drafts():
        wanted |= draft_evidence_ids(draft)
    for text in files.bonus_texts():
        wanted |= {int(n) for n in _BONUS_REFERENCE.findall(text)}
    return wanted


def _remove_rows(
    uow: UnitOfWork, actor: Actor, rows: Sequence[EvidenceRow], action: str
) -> set[str]:
    """Delete the rows (audited); the hashes of their archive copies."""
    files = uow.repository(EvidenceFiles)
    hashes: set[str] = set()
    for row in rows:
        uow.audit(actor.audit_name, action, "evidence", row.id, _snapshot(row), None)
        if row.sha256 is not None:
            hashes.add(row.sha256)
        files.remove(row)
    return hashes


def _remove_files(uow: UnitOfWork, archive: EvidenceArchive, hashes: set[str]) -> Removed:
    """Remove the archive copies of `hashes` that no evidence row has any more."""
    with uow:
        in_use = uow.repository(EvidenceFiles).hashes_in_use(hashes)
    freed = removed = 0
    for digest in sorted(hashes - in_use):
        size = archive.remove(digest)
        if size:
            removed += 1
            freed += size
    return Removed(files=removed, bytes=freed)


def discard_evidence(
    uow: UnitOfWork, actor: Actor, archive: EvidenceArchive, evidence_ids: Iterable[int]
) -> Removed:
    """Remove those of the files of a cancelled dialog that nothing refers to any more (no
    report, finding, rectification, bonus item, kept record or other open draft): their rows
    (audited) and their archive copies that no other row shares."""
    require_role(actor, Role.LIAISON, Role.COORDINATOR)
    ids = set(evidence_ids)
    if not ids:
        return Removed()
    with uow:
        files = uow.repository(EvidenceFiles)
        wanted = _still_wanted(files)
        rows = [r for r in files.unlinked(among=ids) if r.id not in wanted]
        hashes = _remove_rows(uow, actor, rows, "evidence.discard")
        uow.commit()
    removed = _remove_files(uow, archive, hashes)
    return Removed(len(rows), removed.files, removed.bytes)


def prune_evidence(
    uow: UnitOfWork, actor: Actor, archive: EvidenceArchive, older_than: timedelta
) -> Removed:
    """Remove stored evidence nothing refers to, uploaded more than `older_than` ago (files of
    dialogs abandoned or cancelled): the rows (audited), their archive copies, archive files
    no row has at all, and temporary copies a crash left behind."""
    require_role(actor, Role.ADMIN)
    with uow:
        now = uow.now()
        files = uow.repository(EvidenceFiles)
        wanted = _still_wanted(files)
        rows = [r for r in files.unlinked(uploaded_before=now - older_than) if r.id not in wanted]
        hashes = _remove_rows(uow, actor, rows, "evidence.prune")
        uow.commit()
    removed = _remove_files(uow, archive, hashes)
    # Archive files of no row at all: a registration whose transaction failed after the copy.
    cutoff = (now - older_than).timestamp()
    with uow:
        known = uow.repository(EvidenceFiles).all_hashes()
    orphans = Removed()
    for digest, path in list(archive.stored()):
        if digest not in known and path.stat().st_mtime < cutoff:
            orphans = Removed(0, orphans.files + 1, orphans.bytes + archive.remove(digest))
    stale = archive.remove_stale_incoming((now - _INCOMING_GRACE).timestamp())
    return Removed(len(rows), removed.files + orphans.files, removed.bytes + orphans.bytes + stale)


def keep_evidence(uow: UnitOfWork, actor: Actor, evidence_id: int) -> None:
    """Mark an evidence file as kept for good by a record that has no link row of its own (the
    workbook an import read), so that pruning never removes it."""
    require_role(actor, Role.COORDINATOR)
    with uow:
        row = uow.repository(EvidenceFiles).by_id(evidence_id)
        if row is None:
            raise NotFound("evidence_not_found", evidence_id=evidence_id)
        if row.kept_at is not None:
            return
        row.kept_at = uow.now()
        uow.audit(actor.audit_name, "evidence.keep", "evidence", row.id, None, {"kept": True})
        uow.commit()
