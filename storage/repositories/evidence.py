"""Evidence files: what Telegram knows of them and where their archive copy is."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from storage.models import (
    BonusRow,
    DialogState,
    EvidenceRow,
    FindingEvidence,
    RectificationEvidence,
    ReportEvidence,
)
from storage.unit_of_work import Repository


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

    def by_id(self, evidence_id: int) -> EvidenceRow | None:
        """The evidence file with this id."""
        return self.session.get(EvidenceRow, evidence_id)

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
