"""The activities of each year's supervision plan (督导计划) and the findings naming them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select

from storage.models import FindingRow, SupervisionActivity
from storage.unit_of_work import Repository


class Activities(Repository):
    """Planned supervision activities, in date order."""

    def add(self, row: SupervisionActivity) -> SupervisionActivity:
        """Add an activity (its id is set on flush)."""
        self.session.add(row)
        return row

    def by_id(self, activity_id: int, lock: bool = False) -> SupervisionActivity | None:
        """The activity with this id; locked until the commit if `lock`."""
        query = select(SupervisionActivity).where(SupervisionActivity.id == activity_id)
        if lock:
            query = query.with_for_update()
        return self.session.execute(query).scalar_one_or_none()

    def of_year(self, year: int) -> list[SupervisionActivity]:
        """The activities of a year, by date (then in the order added)."""
        return list(
            self.session.execute(
                select(SupervisionActivity)
                .where(SupervisionActivity.year == year)
                .order_by(SupervisionActivity.planned_on, SupervisionActivity.id)
            ).scalars()
        )

    def planned_between(self, first: date, last: date) -> list[SupervisionActivity]:
        """The activities planned from `first` to `last` (both included), by date."""
        return list(
            self.session.execute(
                select(SupervisionActivity)
                .where(
                    SupervisionActivity.planned_on >= first,
                    SupervisionActivity.planned_on <= last,
                )
                .order_by(SupervisionActivity.planned_on, SupervisionActivity.id)
            ).scalars()
        )

    def findings_of(self, activity_ids: Sequence[int]) -> dict[int, list[FindingRow]]:
        """The findings naming each activity, in the order recorded."""
        found: dict[int, list[FindingRow]] = defaultdict(list)
        if not activity_ids:
            return found
        rows = self.session.execute(
            select(FindingRow)
            .where(FindingRow.activity_id.in_(list(activity_ids)))
            .order_by(FindingRow.id)
        ).scalars()
        for row in rows:
            assert row.activity_id is not None  # the query asks for it
            found[row.activity_id].append(row)
        return found
