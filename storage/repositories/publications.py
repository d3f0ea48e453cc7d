"""Publications of the standings: which standings (year, period, as of when) units may see."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Publication, UnitRow
from storage.unit_of_work import Repository


class Publications(Repository):
    """Published standings; withdrawn ones are kept with their withdrawal time."""

    def add(self, row: Publication) -> Publication:
        """Add a publication (its id is set on flush)."""
        self.session.add(row)
        return row

    def by_id(self, publication_id: int, lock: bool = False) -> Publication | None:
        """The publication with this id; locked until the commit if `lock`."""
        query = select(Publication).where(Publication.id == publication_id)
        if lock:
            query = query.with_for_update()
        return self.session.execute(query).scalar_one_or_none()

    def latest(self, year: int) -> Publication | None:
        """The newest publication of a year that was not withdrawn, if any."""
        return self.session.execute(
            select(Publication)
            .where(Publication.year == year, Publication.withdrawn_at.is_(None))
            .order_by(Publication.published_at.desc(), Publication.id.desc())
            .limit(1)
        ).scalar_one_or_none()

    def of_year(self, year: int) -> list[Publication]:
        """Every publication of a year (withdrawn ones too), oldest first."""
        return list(
            self.session.execute(
                select(Publication)
                .where(Publication.year == year)
                .order_by(Publication.published_at, Publication.id)
            ).scalars()
        )

    def unit_code(self, unit_id: int) -> str | None:
        """The code of an active unit (the key of its standings), None if unknown or inactive."""
        return self.session.execute(
            select(UnitRow.code).where(UnitRow.id == unit_id, UnitRow.active.is_(True))
        ).scalar_one_or_none()
