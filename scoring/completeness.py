"""What a year's data still lacks, so that a half-loaded year is never read as a ranking.

Scoring a year with no values imported or an item nobody has graded yet gives every unit 0 for
that block, ranks them all alike and calls them 较差: numbers that look like a result. The
bot, the command line and the report workbook all say, above any ranking, what `find_gaps`
finds here, and mark the blocks that have no data at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from scoring.standings import Standings

# The development block's code among the blocks without data (the work items use theirs).
DEVELOPMENT = "development"


@dataclass(frozen=True)
class Named:
    """A unit, an indicator or a work item: its code and its name."""

    code: str
    name: str


@dataclass(frozen=True)
class PartlyGraded:
    """A work item some units have grades for, and the units that have none yet."""

    item: Named
    units: tuple[Named, ...]


@dataclass(frozen=True)
class DataGaps:
    """The data a year's standings lack (all empty: nothing is missing)."""

    towns: int
    towns_without_values: tuple[Named, ...]
    towns_missing_some_values: tuple[Named, ...]
    indicators_without_values: tuple[Named, ...]
    items_without_grades: tuple[Named, ...]
    items_partly_graded: tuple[PartlyGraded, ...]

    @property
    def no_values(self) -> bool:
        """No town has a single indicator value (nothing imported for the development block)."""
        return self.towns > 0 and len(self.towns_without_values) == self.towns

    @property
    def complete(self) -> bool:
        """Nothing is missing."""
        return not (
            self.towns_without_values
            or self.towns_missing_some_values
            or self.indicators_without_values
            or self.items_without_grades
            or self.items_partly_graded
        )

    @property
    def severe(self) -> bool:
        """A block, a town or an indicator with no data at all: the ranking is no result yet
        (else only some figures or grades are missing, counted as the plan says)."""
        return bool(
            self.blocks_without_data or self.towns_without_values or self.indicators_without_values
        )

    @property
    def blocks_without_data(self) -> tuple[str, ...]:
        """The blocks nobody has data for: `development` and work item codes."""
        blocks = (DEVELOPMENT,) if self.no_values else ()
        return (*blocks, *(i.code for i in self.items_without_grades))

    def to_json(self) -> dict[str, Any]:
        """The gaps as JSON: codes only."""
        return {
            "complete": self.complete,
            "blocks_without_data": list(self.blocks_without_data),
            "towns_without_values": [u.code for u in self.towns_without_values],
            "towns_missing_some_values": [u.code for u in self.towns_missing_some_values],
            "indicators_without_values": [i.code for i in self.indicators_without_values],
            "items_without_grades": [i.code for i in self.items_without_grades],
            "items_partly_graded": {
                p.item.code: [u.code for u in p.units] for p in self.items_partly_graded
            },
        }


def find_gaps(standings: Standings) -> DataGaps:
    """What the data of `standings` lacks: values of towns and indicators, grades of items."""
    plan, units = standings.plan, standings.units
    town_rows = [int(r) for r in standings.town_rows]
    missing = np.asarray(standings.efficacy.missing, dtype=bool)
    indicators = plan.development.indicators
    towns_without: list[Named] = []
    towns_some: list[Named] = []
    if missing.size:
        for t, row in enumerate(town_rows):
            unit = Named(units[row].code, units[row].name)
            if missing[t].all():
                towns_without.append(unit)
            elif missing[t].any():
                towns_some.append(unit)
    no_values_at_all = bool(town_rows) and len(towns_without) == len(town_rows)
    # With no values at all, every indicator lacks them: the one line about the block says it.
    indicators_without = (
        [
            Named(ind.code, ind.name)
            for k, ind in enumerate(indicators)
            if missing.shape[0] and missing[:, k].all()
        ]
        if not no_values_at_all
        else []
    )
    ungraded = np.isnan(np.asarray(standings.work.coef, dtype=float))
    items_without: list[Named] = []
    partly: list[PartlyGraded] = []
    if units:
        for j, item in enumerate(plan.work.items):
            column = ungraded[:, j]
            if column.all():
                items_without.append(Named(item.code, item.name))
            elif column.any():
                nobody = tuple(
                    Named(units[r].code, units[r].name) for r in np.flatnonzero(column).tolist()
                )
                partly.append(PartlyGraded(Named(item.code, item.name), nobody))
    return DataGaps(
        towns=len(town_rows),
        towns_without_values=tuple(towns_without),
        towns_missing_some_values=tuple(towns_some),
        indicators_without_values=tuple(indicators_without),
        items_without_grades=tuple(items_without),
        items_partly_graded=tuple(partly),
    )
