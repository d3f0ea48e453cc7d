"""Why a unit scored what it did: every indicator, every work item, the bonus."""

from __future__ import annotations

from dataclasses import dataclass

from scoring.plan import Direction, EventKind, Grade, Group, YearEndSource


@dataclass(frozen=True)
class UnitResult:
    """A unit's blocks, total, rank and tier within its group."""

    code: str
    name: str
    group: Group
    rank: int
    tier: str
    total: float
    share: float
    development: float
    items: dict[str, float]
    bonus: float
    deductions: float
    flags: tuple[str, ...]


@dataclass(frozen=True)
class IndicatorExplanation:
    """One indicator of one town: value, best, worst, ratio r, points and flags."""

    code: str
    name: str
    category: str
    measure: str
    direction: Direction
    weight: float
    base_share: float
    fixed_bounds: bool
    value: float | None
    best: float | None
    worst: float | None
    ratio: float | None
    points: float
    flags: tuple[str, ...]


@dataclass(frozen=True)
class GradeUsed:
    """One rater's grade, its coefficient, and whether trimming dropped it."""

    period: str
    rater: str
    grade: str
    coefficient: float
    dropped: bool


@dataclass(frozen=True)
class PeriodMean:
    """The mean coefficient of one period over its raters."""

    period: str
    raters: int
    mean: float
    trimmed: bool


@dataclass(frozen=True)
class DeductionApplied:
    """Points taken from a work item for the events of one kind."""

    event: EventKind
    count: int
    points_each: float
    total: float


@dataclass(frozen=True)
class SourceUsed:
    """One year-end source of a work item: its weight in the plan and the coefficient it gave
    (None: no data, so it dropped out and the others were re-weighted)."""

    source: YearEndSource
    weight: float
    coefficient: float | None


@dataclass(frozen=True)
class PeerSummary:
    """The peers' votes (互评) on one work item of a unit: how many, their mean, whether
    trimming dropped the highest and lowest. Who voted what is never part of it."""

    votes: int
    mean: float | None
    trimmed: bool


@dataclass(frozen=True)
class RectificationSummary:
    """The rectification evaluation of a unit: findings due, rectified on time, the ratio,
    and the grade and coefficient of the band it reached (None when nothing was due); `weight`
    is the plan's weight of the source (0: computed, but not counted)."""

    due: int
    on_time: int
    ratio: float | None
    grade: Grade | None
    coefficient: float | None
    weight: float = 0.0


@dataclass(frozen=True)
class ItemExplanation:
    """One work item of one unit: the grades used, the coefficient, the deductions."""

    code: str
    name: str
    weight: float
    grades: tuple[GradeUsed, ...]
    periods: tuple[PeriodMean, ...]
    daily: float | None
    year_end: float | None
    daily_weight: float
    coef: float | None
    raw_points: float
    deductions: tuple[DeductionApplied, ...]
    deducted: float
    points: float
    flags: tuple[str, ...]
    # How the year-end coefficient was made: every source that applies to the item, in plan
    # order; `peer` when peers rate the item.
    sources: tuple[SourceUsed, ...] = ()
    peer: PeerSummary | None = None


@dataclass(frozen=True)
class BonusExplanation:
    """The unit's bonus items and how the cap applied."""

    approved: tuple[str, ...]
    not_approved: tuple[str, ...]
    points_per_item: float
    cap: float
    points: float
    capped: bool


@dataclass(frozen=True)
class UnitExplanation:
    """Everything a unit needs to see why its score is what it is."""

    result: UnitResult
    group_size: int
    max_without_bonus: float
    indicators: tuple[IndicatorExplanation, ...]
    items: tuple[ItemExplanation, ...]
    bonus: BonusExplanation
    # The rectification evaluation (counted in the year-end coefficient if its weight is > 0).
    rectification: RectificationSummary | None = None
