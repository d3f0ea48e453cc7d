"""Evidence files: register what a user sent (photo, document …) and keep a copy by its hash."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from services.access import Actor, Role, require_role
from services.errors import Invalid, NotFound, ServiceError
from storage.archive import ArchiveCorrupted, ArchivedFile, ArchiveTooLarge, EvidenceArchive
from storage.models import EvidenceRow
from storage.repositories.evidence import EvidenceFiles
from storage.unit_of_work import UnitOfWork

# The largest file a bot may download through the Bot API.
MAX_EVIDENCE_SIZE = 20 * 1024 * 1024
KINDS: tuple[str, ...] = ("photo", "document", "video", "audio")


@dataclass(frozen=True)
class EvidenceView:
    """A registered evidence file; `reused` when it had been registered before."""

    id: int
    kind: str
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


def _view(row: EvidenceRow, reused: bool = False) -> EvidenceView:
    return EvidenceView(
        id=row.id,
        kind=row.kind,
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


def _snapshot(row: EvidenceRow) -> dict[str, object]:
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
    # Archive before the transaction: copying a large file must not hold the write lock, and a
    # copy left by a transaction that then fails is harmless (same bytes, same name).
    stored = _archive(archive, content, max_size) if content is not None else None
    archive_path = stored.relative_to(archive.root) if stored is not None else None
    with uow:
        files = uow.repository(EvidenceFiles)
        existing = files.by_unique_id(telegram_unique_id) if telegram_unique_id else None
        if existing is None:
            row, created = files.add_if_new(
                EvidenceRow(
                    telegram_file_id=telegram_file_id,
                    telegram_unique_id=telegram_unique_id,
                    kind=kind,
                    file_name=file_name,
                    mime_type=mime_type,
                    size=stored.size if stored is not None else size,
                    sha256=stored.sha256 if stored is not None else None,
                    archive_path=archive_path,
                    uploaded_by=actor.person_id,
                    uploaded_at=uow.now(),
                )
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
        before = _snapshot(existing)
        existing.sha256 = stored.sha256
        existing.archive_path = archive_path
        existing.size = stored.size
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
    kind: str
    telegram_file_id: str | None
    file_name: str | None


def evidence_files(uow: UnitOfWork, evidence_ids: Sequence[int]) -> list[EvidenceFile]:
    """The evidence files with these ids, in that order (ids not registered are left out)."""
    with uow:
        files = uow.repository(EvidenceFiles)
        rows = [files.by_id(evidence_id) for evidence_id in evidence_ids]
        return [
            EvidenceFile(r.id, r.kind, r.telegram_file_id, r.file_name)
            for r in rows
            if r is not None
        ]
