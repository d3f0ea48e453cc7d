"""Target tasks (目标任务) of each unit and year."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select

from storage.clock import as_utc
from storage.models import TaskRow
from storage.unit_of_work import Repository


class Tasks(Repository):
    """The target tasks of every unit, per year."""

    def add(self, row: TaskRow) -> TaskRow:
        """Add a task (its id is set on flush)."""
        self.session.add(row)
        return row

    def of_year(self, year: int) -> list[TaskRow]:
        """Every task of `year`, by unit and code."""
        return list(
            self.session.execute(
                select(TaskRow).where(TaskRow.year == year).order_by(TaskRow.unit_id, TaskRow.code)
            ).scalars()
        )

    def of_unit(self, unit_id: int, year: int) -> list[TaskRow]:
        """The tasks of one unit in `year`, by code."""
        return list(
            self.session.execute(
                select(TaskRow)
                .where(TaskRow.year == year, TaskRow.unit_id == unit_id)
                .order_by(TaskRow.code)
            ).scalars()
        )

    def by_ids(self, ids: Iterable[int]) -> dict[int, TaskRow]:
        """The tasks with these ids (missing ids are simply absent)."""
        wanted = set(ids)
        if not wanted:
            return {}
        rows = self.session.execute(select(TaskRow).where(TaskRow.id.in_(wanted))).scalars()
        return {row.id: row for row in rows}

    def first_task_times(self, year: int) -> dict[int, datetime]:
        """When each unit got its first task of `year` (units without tasks are absent)."""
        rows = self.session.execute(
            select(TaskRow.unit_id, func.min(TaskRow.created_at))
            .where(TaskRow.year == year)
            .group_by(TaskRow.unit_id)
        ).all()
        return {unit_id: as_utc(at) for unit_id, at in rows}
