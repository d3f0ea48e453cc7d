"""Units (考核对象)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, or_, select, update

from storage.bulk import insert_rows
from storage.models import UnitRow
from storage.unit_of_work import Repository

# (id, code, name, group, active): a unit as an import compares it.
UnitState = tuple[int, str, str, str, bool]
UNIT_TABLE = cast(Table, UnitRow.__table__)
# The columns of a new unit, in the order of the rows given to Units.insert_plain.
UNIT_COLUMNS = ("code", "name", "group", "active", "created_at")


class Units(Repository):
    """The district's assessed units."""

    def add(self, row: UnitRow) -> UnitRow:
        """Add a unit (its id is set on flush)."""
        self.session.add(row)
        return row

    def by_id(self, unit_id: int) -> UnitRow | None:
        """The unit with this id."""
        return self.session.get(UnitRow, unit_id)

    def by_key(self, key: str) -> UnitRow | None:
        """The unit whose code or name is `key`."""
        key = key.strip()
        return self.session.execute(
            select(UnitRow).where(or_(UnitRow.code == key, UnitRow.name == key))
        ).scalar_one_or_none()

    def by_code(self, code: str) -> UnitRow | None:
        """The unit whose code is exactly `code`."""
        return self.session.execute(
            select(UnitRow).where(UnitRow.code == code)
        ).scalar_one_or_none()

    def by_name(self, name: str) -> UnitRow | None:
        """The unit whose name is exactly `name`."""
        return self.session.execute(
            select(UnitRow).where(UnitRow.name == name)
        ).scalar_one_or_none()

    def all(self, include_inactive: bool = False) -> list[UnitRow]:
        """Every unit, towns first, then by code."""
        query = select(UnitRow)
        if not include_inactive:
            query = query.where(UnitRow.active.is_(True))
        rows = list(self.session.execute(query.order_by(UnitRow.code)).scalars())
        return sorted(rows, key=lambda u: (u.group != "town", u.code))

    def states(self) -> list[UnitState]:
        """Every unit (active or not) as plain (id, code, name, group, active), by id."""
        rows = self.session.execute(
            select(UnitRow.id, UnitRow.code, UnitRow.name, UnitRow.group, UnitRow.active).order_by(
                UnitRow.id
            )
        ).all()
        return [(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    def insert_plain(self, rows: Sequence[tuple[Any, ...]]) -> dict[str, int]:
        """Insert units given as `driver_rows` of UNIT_COLUMNS in bulk; the new ids by code."""
        if not rows:
            return {}
        insert_rows(self.session, UNIT_TABLE, UNIT_COLUMNS, rows)
        codes = {row[0] for row in rows}
        found = self.session.connection().execute(select(UNIT_TABLE.c.code, UNIT_TABLE.c.id))
        return {code: unit_id for code, unit_id in found if code in codes}

    def update_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Set the name, group and active flag of units (dicts of unit_id, name, group,
        active) in one executemany."""
        if rows:
            table = _table()
            self.session.connection().execute(
                update(table)
                .where(table.c.id == bindparam("unit_id"))
                .values(
                    name=bindparam("new_name"),
                    group=bindparam("new_group"),
                    active=bindparam("new_active"),
                ),
                [
                    {
                        "unit_id": r["unit_id"],
                        "new_name": r["name"],
                        "new_group": r["group"],
                        "new_active": r["active"],
                    }
                    for r in rows
                ],
            )

    def rename_many(self, names: Mapping[int, str]) -> None:
        """Set the names of units by id in one executemany."""
        if names:
            table = _table()
            self.session.connection().execute(
                update(table)
                .where(table.c.id == bindparam("unit_id"))
                .values(name=bindparam("new_name")),
                [{"unit_id": unit_id, "new_name": name} for unit_id, name in names.items()],
            )


def _table() -> Table:
    return UNIT_TABLE
