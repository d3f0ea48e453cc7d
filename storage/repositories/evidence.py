"""Evidence files: what Telegram knows of them and where their archive copy is."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from storage.models import (
    BonusRow,
    DialogState,
    EvidenceRow,
    FindingEvidence,
    RectificationEvidence,
    ReportEvidence,
)
from storage.statuses import FileKind
from storage.unit_of_work import Repository

_EVIDENCE = cast(Table, EvidenceRow.__table__)
_FILES_OF = select(
    _EVIDENCE.c.id, _EVIDENCE.c.kind, _EVIDENCE.c.telegram_file_id, _EVIDENCE.c.file_name
).where(_EVIDENCE.c.id.in_(bindparam("ids", expanding=True)))

_RECORD_COLUMNS = (
    _EVIDENCE.c.id,
    _EVIDENCE.c.telegram_file_id,
    _EVIDENCE.c.telegram_unique_id,
    _EVIDENCE.c.kind,
    _EVIDENCE.c.file_name,
    _EVIDENCE.c.mime_type,
    _EVIDENCE.c.size,
    _EVIDENCE.c.sha256,
    _EVIDENCE.c.archive_path,
    _EVIDENCE.c.uploaded_by,
    _EVIDENCE.c.uploaded_at,
)
# A registration's statements, built once: the row Telegram knows by a unique id, locked; a
# new row unless one with its unique id was added meanwhile (by a concurrent transaction: the
# unique constraint decides, without a savepoint); an archive copy recorded.
_BY_UNIQUE_ID = (
    select(*_RECORD_COLUMNS)
    .where(_EVIDENCE.c.telegram_unique_id == bindparam("unique_id"))
    .with_for_update()
)
_INSERT_IF_NEW = {
    "sqlite": sqlite.insert(_EVIDENCE)
    .on_conflict_do_nothing(index_elements=[_EVIDENCE.c.telegram_unique_id])
    .returning(_EVIDENCE.c.id),
    "postgresql": postgresql.insert(_EVIDENCE)
    .on_conflict_do_nothing(index_elements=[_EVIDENCE.c.telegram_unique_id])
    .returning(_EVIDENCE.c.id),
}
_SET_ARCHIVE_COPY = (
    update(_EVIDENCE)
    .where(_EVIDENCE.c.id == bindparam("evidence_id"))
    .values(
        sha256=bindparam("new_sha256", type_=_EVIDENCE.c.sha256.type),
        archive_path=bindparam("new_archive_path", type_=_EVIDENCE.c.archive_path.type),
        size=bindparam("new_size", type_=_EVIDENCE.c.size.type),
    )
)


class EvidenceRecord(NamedTuple):
    """An evidence file's row as plain values (the columns a registration reads)."""

    id: int
    telegram_file_id: str | None
    telegram_unique_id: str | None
    kind: str
    file_name: str | None
    mime_type: str | None
    size: int | None
    sha256: str | None
    archive_path: str | None
    uploaded_by: int | None
    uploaded_at: datetime


class FileBrief(NamedTuple):
    """What sending an evidence file back needs of its row."""

    id: int
    kind: FileKind
    telegram_file_id: str | None
    file_name: str | None


class EvidenceFiles(Repository):
    """The registered evidence files."""

    def add(self, row: EvidenceRow) -> EvidenceRow:
        """Add an evidence file (its id is set on flush)."""
        self.session.add(row)
        return row

    def add_if_new(self, row: EvidenceRow) -> tuple[EvidenceRow, bool]:
        """Add an evidence file unless one with its Telegram unique id was added meanwhile (by
        a concurrent transaction): (the row in the database, whether it is the new one)."""
        try:
            with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError:
            if row.telegram_unique_id is None:
                raise
            existing = self.by_unique_id(row.telegram_unique_id)
            if existing is None:
                raise
            return existing, False
        return row, True

    def insert_if_new(self, values: dict[str, Any]) -> tuple[EvidenceRecord, bool]:
        """Insert an evidence file (`values`: the columns of EvidenceRecord but its id) unless
        one with its Telegram unique id was added meanwhile (by a concurrent transaction):
        (the row in the database, whether it is the new one). Core statements, no flush."""
        connection = self.session.connection()
        statement = _INSERT_IF_NEW.get(connection.dialect.name)
        if statement is None:  # a database without ON CONFLICT: the ORM's savepoint
            row, created = self.add_if_new(EvidenceRow(**values))
            self.session.flush()
            return self._record(row), created
        new_id = connection.execute(statement, values).scalar_one_or_none()
        if new_id is not None:
            return EvidenceRecord(id=new_id, **values), True
        unique_id = values["telegram_unique_id"]
        existing = self.record_by_unique_id(unique_id) if unique_id is not None else None
        if existing is None:  # the conflicting row is gone again: not a case to guess about
            raise RuntimeError(f"evidence {unique_id!r} conflicted but cannot be found")
        return existing, False

    def record_by_unique_id(self, telegram_unique_id: str) -> EvidenceRecord | None:
        """The evidence file Telegram knows by this unique id, locked for an update, as plain
        values."""
        row = (
            self.session.connection()
            .execute(_BY_UNIQUE_ID, {"unique_id": telegram_unique_id})
            .first()
        )
        return None if row is None else EvidenceRecord(*row)

    def set_archive_copy(
        self, evidence_id: int, sha256: str, archive_path: str, size: int
    ) -> None:
        """Record the archive copy of an evidence file registered without one."""
        parameters = {
            "evidence_id": evidence_id,
            "new_sha256": sha256,
            "new_archive_path": archive_path,
            "new_size": size,
        }
        self.session.connection().execute(_SET_ARCHIVE_COPY, parameters)

    @staticmethod
    def _record(row: EvidenceRow) -> EvidenceRecord:
        return EvidenceRecord(*(getattr(row, column.key) for column in _RECORD_COLUMNS))

    def by_id(self, evidence_id: int) -> EvidenceRow | None:
        """The evidence file with this id."""
        return self.session.get(EvidenceRow, evidence_id)

    def briefs(self, evidence_ids: Iterable[int]) -> dict[int, FileBrief]:
        """Kind, Telegram file id and name of the evidence files with these ids, by id (one
        Core statement; ids not registered are absent)."""
        wanted = set(evidence_ids)
        if not wanted:
            return {}
        rows = self.session.connection().execute(_FILES_OF, {"ids": list(wanted)})
        return {row[0]: FileBrief(*row) for row in rows}

    def by_unique_id(self, telegram_unique_id: str) -> EvidenceRow | None:
        """The evidence file Telegram knows by this unique id, locked for an update."""
        return self.session.execute(
            select(EvidenceRow)
            .where(EvidenceRow.telegram_unique_id == telegram_unique_id)
            .with_for_update()
        ).scalar_one_or_none()

    def existing_ids(self, evidence_ids: Iterable[int]) -> set[int]:
        """Those of `evidence_ids` that are registered."""
        wanted = set(evidence_ids)
        if not wanted:
            return set()
        return set(
            self.session.execute(select(EvidenceRow.id).where(EvidenceRow.id.in_(wanted)))
            .scalars()
            .all()
        )

    def unlinked(
        self, among: Iterable[int] | None = None, uploaded_before: datetime | None = None
    ) -> list[EvidenceRow]:
        """Evidence files no report, finding or rectification links to and no record keeps
        (`kept_at`), locked for removal: those of `among`, or all uploaded before a time."""
        query = select(EvidenceRow).where(
            EvidenceRow.kept_at.is_(None),
            ~exists().where(ReportEvidence.evidence_id == EvidenceRow.id),
            ~exists().where(FindingEvidence.evidence_id == EvidenceRow.id),
            ~exists().where(RectificationEvidence.evidence_id == EvidenceRow.id),
        )
        if among is not None:
            wanted = set(among)
            if not wanted:
                return []
            query = query.where(EvidenceRow.id.in_(wanted))
        if uploaded_before is not None:
            query = query.where(EvidenceRow.uploaded_at < uploaded_before)
        return list(
            self.session.execute(query.order_by(EvidenceRow.id).with_for_update()).scalars()
        )

    def bonus_texts(self) -> list[str]:
        """The evidence texts of bonus items that name evidence files (`(#id)`)."""
        query = select(BonusRow.evidence_text).where(BonusRow.evidence_text.contains("(#"))
        return list(self.session.execute(query).scalars())

    def drafts(self) -> list[dict[str, Any]]:
        """The drafts of every dialog in progress (they may hold evidence not yet submitted)."""
        return [dict(d) for d in self.session.execute(select(DialogState.data)).scalars()]

    def hashes_in_use(self, hashes: Iterable[str]) -> set[str]:
        """Those of `hashes` that some evidence row still has."""
        wanted = set(hashes)
        if not wanted:
            return set()
        query = select(EvidenceRow.sha256).where(EvidenceRow.sha256.in_(wanted)).distinct()
        return {h for h in self.session.execute(query).scalars() if h is not None}

    def all_hashes(self) -> set[str]:
        """The hash of every evidence row that has an archive copy."""
        query = select(EvidenceRow.sha256).where(EvidenceRow.sha256.is_not(None)).distinct()
        return {h for h in self.session.execute(query).scalars() if h is not None}

    def remove(self, row: EvidenceRow) -> None:
        """Delete an evidence file's row (one nothing refers to)."""
        self.session.delete(row)
