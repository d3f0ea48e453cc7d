"""Plans of each year, versioned."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import PlanVersion
from storage.unit_of_work import Repository


class Plans(Repository):
    """The plan versions of every year."""

    def current(self, year: int) -> PlanVersion | None:
        """The newest plan version of `year`."""
        return self.session.execute(
            select(PlanVersion)
            .where(PlanVersion.year == year)
            .order_by(PlanVersion.version.desc())
            .limit(1)
        ).scalar_one_or_none()

    def next_version(self, year: int) -> int:
        """The version number the next plan of `year` gets."""
        latest = self.session.execute(
            select(func.max(PlanVersion.version)).where(PlanVersion.year == year)
        ).scalar_one()
        return (latest or 0) + 1

    def add(self, row: PlanVersion) -> PlanVersion:
        """Add a plan version."""
        self.session.add(row)
        return row

    def years(self) -> list[int]:
        """Every year that has a plan, newest first."""
        return list(
            self.session.execute(
                select(PlanVersion.year).distinct().order_by(PlanVersion.year.desc())
            ).scalars()
        )
