"""Find units by what a person types: a code, a full name, or part of a name."""

from __future__ import annotations

from dataclasses import dataclass

from storage.repositories.units import Units
from storage.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class UnitRef:
    """A unit as a dialog shows it."""

    id: int
    code: str
    name: str
    group: str


def find_units(uow: UnitOfWork, query: str, limit: int = 8) -> list[UnitRef]:
    """The active units `query` names: exactly one for a code or full name, else every unit
    whose name or code contains it (candidates to choose from), at most `limit`."""
    text = query.strip()
    if not text:
        return []
    with uow:
        units = uow.repository(Units)
        exact = units.by_key(text)
        if exact is not None and exact.active:
            return [UnitRef(exact.id, exact.code, exact.name, exact.group)]
        folded = text.casefold()
        matches = [
            UnitRef(u.id, u.code, u.name, u.group)
            for u in units.all()
            if folded in u.name.casefold() or folded in u.code.casefold()
        ]
        return matches[:limit]


def all_units(uow: UnitOfWork) -> list[UnitRef]:
    """Every active unit, towns first."""
    with uow:
        return [UnitRef(u.id, u.code, u.name, u.group) for u in uow.repository(Units).all()]
