"""Plans of each year, versioned."""

from __future__ import annotations

from typing import NamedTuple, cast

from sqlalchemy import Table, bindparam, func, select

from storage.models import PlanVersion
from storage.unit_of_work import Repository


class PlanText(NamedTuple):
    """A plan version's number and its YAML text."""

    version: int
    yaml_text: str


_PLANS = cast(Table, PlanVersion.__table__)
_CURRENT_TEXT = (
    select(_PLANS.c.version, _PLANS.c.yaml_text)
    .where(_PLANS.c.year == bindparam("year"))
    .order_by(_PLANS.c.version.desc())
    .limit(1)
)


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

    def current_text(self, year: int) -> PlanText | None:
        """The number and text of the newest plan version of `year` (a Core read: every report
        and dialog step reads its plan)."""
        row = self.session.connection().execute(_CURRENT_TEXT, {"year": year}).first()
        return None if row is None else PlanText(int(row[0]), str(row[1]))

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
