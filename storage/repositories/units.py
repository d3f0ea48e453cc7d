"""Units (考核对象)."""

from __future__ import annotations

from sqlalchemy import or_, select

from storage.models import UnitRow
from storage.unit_of_work import Repository


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
