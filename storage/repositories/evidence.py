"""Evidence files: what Telegram knows of them and where their archive copy is."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storage.models import EvidenceRow
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
