"""Target tasks (目标任务) of each unit and year."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select

from storage.bulk import insert_rows, update_rows
from storage.clock import as_utc
from storage.models import TaskRow
from storage.unit_of_work import Repository

# (id, unit_id, code, title, source_document, target, due_date, work_item): a task as an
# import compares it.
TaskState = tuple[int, int, str, str, str, str, date | None, str]
# The fields of a task an import may change, in the order of TaskState after the code.
FIELDS = ("title", "source_document", "target", "due_date", "work_item")
TASK_TABLE = cast(Table, TaskRow.__table__)
# The columns of a new task, in the order of the rows given to Tasks.insert_plain.
TASK_COLUMNS = ("year", "unit_id", "code", *FIELDS, "created_at")
# Read by /report as it opens, built once (Core rows, no ORM objects).
_FIRST_TASK_TIME = select(func.min(TASK_TABLE.c.created_at)).where(
    TASK_TABLE.c.year == bindparam("year"), TASK_TABLE.c.unit_id == bindparam("unit_id")
)
_CODES_AND_TITLES = select(TASK_TABLE.c.id, TASK_TABLE.c.code, TASK_TABLE.c.title).where(
    TASK_TABLE.c.id.in_(bindparam("ids", expanding=True))
)


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

    def codes_and_titles(self, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
        """The code and title of the tasks with these ids (missing ids are simply absent)."""
        wanted = set(ids)
        if not wanted:
            return {}
        rows = self.session.connection().execute(_CODES_AND_TITLES, {"ids": list(wanted)})
        return {task_id: (code, title) for task_id, code, title in rows}

    def first_task_times(self, year: int) -> dict[int, datetime]:
        """When each unit got its first task of `year` (units without tasks are absent)."""
        rows = self.session.execute(
            select(TaskRow.unit_id, func.min(TaskRow.created_at))
            .where(TaskRow.year == year)
            .group_by(TaskRow.unit_id)
        ).all()
        return {unit_id: as_utc(at) for unit_id, at in rows}

    def first_task_time(self, unit_id: int, year: int) -> datetime | None:
        """When the unit got its first task of `year` (None: it has none)."""
        at = (
            self.session.connection()
            .execute(_FIRST_TASK_TIME, {"year": year, "unit_id": unit_id})
            .scalar_one_or_none()
        )
        return as_utc(at) if at is not None else None

    def states(self, year: int) -> list[TaskState]:
        """Every task of `year` as plain values, by id."""
        table = _table().c
        rows = self.session.connection().execute(
            select(
                table.id,
                table.unit_id,
                table.code,
                table.title,
                table.source_document,
                table.target,
                table.due_date,
                table.work_item,
            )
            .where(table.year == year)
            .order_by(table.id)
        )
        return [(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows]

    def insert_plain(
        self, year: int, rows: Sequence[tuple[Any, ...]]
    ) -> dict[tuple[int, str], int]:
        """Insert tasks of `year` given as `driver_rows` of TASK_COLUMNS in bulk; the new ids
        by (unit_id, code)."""
        if not rows:
            return {}
        insert_rows(self.session, TASK_TABLE, TASK_COLUMNS, rows)
        wanted = {(row[1], row[2]) for row in rows}
        table = TASK_TABLE.c
        found = self.session.connection().execute(
            select(table.unit_id, table.code, table.id).where(table.year == year)
        )
        return {(u, c): i for u, c, i in found if (u, c) in wanted}

    def update_plain(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Set the FIELDS of tasks given as `driver_rows` of FIELDS + id, in bulk."""
        update_rows(self.session, TASK_TABLE, FIELDS, "id", rows)


def _table() -> Table:
    return TASK_TABLE
