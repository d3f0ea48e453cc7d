"""What the engine scores: units, indicator values, grades, bonus items and events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from scoring.plan import EventKind, Grade, Group, YearEndSource


@dataclass(frozen=True)
class Unit:
    """An assessed unit (考核对象)."""

    code: str
    name: str
    group: Group


@dataclass(frozen=True)
class GradeRecord:
    """One rater's grade of one unit's work item for one period (`Q1`…`Q4` or `year`).

    `source` says who graded: a panel rater (the default), or for `peer` (互评, year-end only)
    another unit of the same group, whose code is then the `rater`.
    """

    unit: str
    item: str
    period: str
    rater: str
    grade: Grade
    source: YearEndSource = YearEndSource.PANEL


@dataclass(frozen=True)
class GradeColumns:
    """Grade records column by column, for a caller that holds tens of thousands of them (a
    district's grades read from a database) and need not make an object of each: row k is
    `GradeRecord(unit[k], item[k], period[k], rater[k], Grade(grade[k]), source[k])`, the grade
    and source given as their text values. The engine scores either form alike."""

    unit: Sequence[str]
    item: Sequence[str]
    period: Sequence[str]
    rater: Sequence[str]
    grade: Sequence[str]
    source: Sequence[str]

    def __len__(self) -> int:
        return len(self.unit)


@dataclass(frozen=True)
class BonusItem:
    """A bonus item claimed for a unit; only approved items count."""

    unit: str
    title: str
    approved: bool
    evidence: str = ""


# The largest magnitude an indicator value may have. No statistic of a district comes near it
# (a GDP in yuan is ~1e11), and below it every step of the efficacy formula stays finite: two
# values of ±1e308 made best - worst overflow to infinity and the total NaN, which ranked first.
VALUE_LIMIT = 1e15
# The most events of one kind a unit can have in a year (twelve monthly reports a year).
COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class EventCount:
    """How many times an event that costs points happened to a unit."""

    unit: str
    event: EventKind
    count: int


@dataclass(frozen=True)
class RectificationCount:
    """A unit's findings of the year whose (extended) deadline has passed, and how many of them
    were accepted as rectified by that deadline (the `rectification` year-end source)."""

    unit: str
    due: int
    rectified_on_time: int


@dataclass(frozen=True)
class IndicatorValues:
    """A matrix of indicator values: one row per unit, one column per indicator, NaN = missing."""

    units: tuple[str, ...]
    indicators: tuple[str, ...]
    matrix: np.ndarray

    def __post_init__(self) -> None:
        if self.matrix.shape != (len(self.units), len(self.indicators)):
            raise ValueError(
                f"matrix shape {self.matrix.shape} does not match "
                f"{len(self.units)} units x {len(self.indicators)} indicators"
            )

    @classmethod
    def from_rows(
        cls, rows: Mapping[str, Mapping[str, float | None]], indicators: Sequence[str]
    ) -> IndicatorValues:
        """Build the matrix from `{unit: {indicator: value or None}}`."""
        units = tuple(rows)
        matrix = np.full((len(units), len(indicators)), np.nan)
        column = {code: j for j, code in enumerate(indicators)}
        for i, unit in enumerate(units):
            for code, value in rows[unit].items():
                if value is not None:
                    matrix[i, column[code]] = float(value)
        return cls(units, tuple(indicators), matrix)

    @classmethod
    def empty(cls) -> IndicatorValues:
        """No values at all."""
        return cls((), (), np.empty((0, 0)))
