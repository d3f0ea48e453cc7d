"""The typed plan of one assessment year: indicators, work items, grades, tiers, schedule."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Group(StrEnum):
    """The two ranking groups of assessed units."""

    TOWN = "town"
    ZONE_OR_DEPARTMENT = "zone_or_department"


class Direction(StrEnum):
    """Whether a larger or a smaller value of an indicator is better."""

    HIGHER = "higher"
    LOWER = "lower"


class AllEqualPolicy(StrEnum):
    """What every unit scores when all values of an indicator are equal."""

    FULL = "full"
    BASE = "base"


class MissingPolicy(StrEnum):
    """What a unit scores for an indicator it gave no value for."""

    ZERO = "zero"
    BASE = "base"


class TierBasis(StrEnum):
    """Whether tiers are cut by share of the maximum score or by share of the ranking."""

    SCORE_SHARE = "score_share"
    RANK_SHARE = "rank_share"


class Grade(StrEnum):
    """The four grades of the grading method (等级评价法)."""

    EXCELLENT = "excellent"
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"


class YearEndSource(StrEnum):
    """The ways the year-end evaluation (年终考评) judges a unit's work (scoring.md §2b)."""

    PANEL = "panel"  # 考核小组成员单位评估评价: the raters' year-end grades
    PEER = "peer"  # 重点工作完成绩效互评: the other units of the group
    RECTIFICATION = "rectification"  # 督导督查问题整改结果评价: findings rectified on time


class EventKind(StrEnum):
    """Events that cost work-item points."""

    REPORT_LATE = "report_late"
    REPORT_MISSING = "report_missing"
    RECTIFICATION_OVERDUE = "rectification_overdue"
    FALSE_REPORT = "false_report"


GRADE_LABELS: dict[Grade, str] = {
    Grade.EXCELLENT: "好",
    Grade.GOOD: "较好",
    Grade.FAIR: "一般",
    Grade.POOR: "差",
}

GROUP_LABELS: dict[Group, str] = {
    Group.TOWN: "镇街",
    Group.ZONE_OR_DEPARTMENT: "部门",
}

QUARTERS: tuple[str, ...] = ("Q1", "Q2", "Q3", "Q4")
YEAR_END = "year"
PERIODS: tuple[str, ...] = (*QUARTERS, YEAR_END)


@dataclass(frozen=True)
class Bounds:
    """Fixed satisfactory (满意值) and unacceptable (不允许值) values of an indicator."""

    satisfactory: float
    unacceptable: float


@dataclass(frozen=True)
class Indicator:
    """One quantitative indicator of the development block."""

    code: str
    name: str
    points: float
    category: str
    unit: str = ""
    direction: Direction = Direction.HIGHER
    bounds: Bounds | None = None
    clamp: bool = True


@dataclass(frozen=True)
class Category:
    """A category of indicators (质量效益, 创新能力, 扩大开放, 生态环保)."""

    code: str
    name: str
    indicators: tuple[Indicator, ...]
    points: float | None = None


@dataclass(frozen=True)
class Development:
    """The development-effectiveness block, scored by the efficacy coefficient method."""

    points: float
    categories: tuple[Category, ...]
    base_share: float = 0.70
    when_all_equal: AllEqualPolicy = AllEqualPolicy.FULL
    missing_value: MissingPolicy = MissingPolicy.ZERO

    @property
    def indicators(self) -> tuple[Indicator, ...]:
        """Every indicator, in plan order."""
        return tuple(ind for cat in self.categories for ind in cat.indicators)


@dataclass(frozen=True)
class WorkItem:
    """A graded work item (重点工作, 基础工作)."""

    code: str
    name: str
    points: float


@dataclass(frozen=True)
class Deduction:
    """Points taken from a work item for each event of a kind."""

    item: str
    points: float


def _default_grades() -> dict[Grade, float]:
    return {Grade.EXCELLENT: 1.0, Grade.GOOD: 0.8, Grade.FAIR: 0.6, Grade.POOR: 0.4}


def _default_deductions() -> dict[EventKind, Deduction]:
    return {
        EventKind.REPORT_LATE: Deduction("basic_work", 1.0),
        EventKind.REPORT_MISSING: Deduction("basic_work", 2.0),
        EventKind.RECTIFICATION_OVERDUE: Deduction("key_work", 2.0),
        EventKind.FALSE_REPORT: Deduction("basic_work", 10.0),
    }


@dataclass(frozen=True)
class RectificationBand:
    """The grade a rectification ratio earns from `at_least` up (bands run from the best)."""

    grade: Grade
    at_least: float


def _default_sources() -> dict[YearEndSource, float]:
    return {YearEndSource.PANEL: 1.0}


def _default_rectification_bands() -> tuple[RectificationBand, ...]:
    return (
        RectificationBand(Grade.EXCELLENT, 0.95),
        RectificationBand(Grade.GOOD, 0.80),
        RectificationBand(Grade.FAIR, 0.60),
        RectificationBand(Grade.POOR, 0.0),
    )


@dataclass(frozen=True)
class YearEnd:
    """How the year-end coefficient of a work item is made from its sources (scoring.md §2b)."""

    sources: dict[YearEndSource, float] = field(default_factory=_default_sources)
    peer_items: tuple[str, ...] = ("key_work",)
    rectification_items: tuple[str, ...] = ("key_work", "basic_work")
    rectification_bands: tuple[RectificationBand, ...] = field(
        default_factory=_default_rectification_bands
    )

    def weight(self, source: YearEndSource) -> float:
        """The weight of a source (0 when the plan does not use it)."""
        return self.sources.get(source, 0.0)

    def applies(self, source: YearEndSource, item: str) -> bool:
        """Whether a source weighs in the year-end coefficient of work item `item`."""
        if self.weight(source) <= 0:
            return False
        if source is YearEndSource.PEER:
            return item in self.peer_items
        if source is YearEndSource.RECTIFICATION:
            return item in self.rectification_items
        return True

    def rectification_grade(self, ratio: float) -> Grade:
        """The grade of the first band whose `at_least` the ratio reaches."""
        for band in self.rectification_bands:
            if ratio >= band.at_least - 1e-12:
                return band.grade
        return self.rectification_bands[-1].grade


@dataclass(frozen=True)
class Work:
    """The work-status block: graded items, grade coefficients, weighting and deductions."""

    items: tuple[WorkItem, ...]
    grades: dict[Grade, float] = field(default_factory=_default_grades)
    daily_weight: float = 0.4
    trim_above: int = 5
    deductions: dict[EventKind, Deduction] = field(default_factory=_default_deductions)
    points: float | None = None
    year_end: YearEnd = field(default_factory=YearEnd)

    @property
    def total_points(self) -> float:
        """The most the work block can give."""
        return sum(item.points for item in self.items)


@dataclass(frozen=True)
class Bonus:
    """Bonus points per approved item and their yearly cap."""

    points_per_item: float = 10.0
    cap: float = 60.0


@dataclass(frozen=True)
class TierBand:
    """One tier: reached at `threshold` (a score share at least, or a rank share at most)."""

    name: str
    threshold: float


def _default_bands() -> tuple[TierBand, ...]:
    return (
        TierBand("优秀", 0.90),
        TierBand("良好", 0.80),
        TierBand("一般", 0.60),
        TierBand("较差", 0.0),
    )


@dataclass(frozen=True)
class Tiers:
    """How final results are cut into tiers."""

    by: TierBasis = TierBasis.SCORE_SHARE
    bands: tuple[TierBand, ...] = field(default_factory=_default_bands)


@dataclass(frozen=True)
class Schedule:
    """Deadlines and reminder timing of the year."""

    monthly_report_due_day: int = 5
    remind_days_before: tuple[int, ...] = (3, 1, 0)
    quiet_hours: tuple[str, str] = ("22:00", "08:00")
    overdue_notice_days: int = 3  # a daily overdue notice for this many days after a deadline
    escalate_after_days: int = 3  # then the coordinators are told which units are overdue
    send_at: str = "09:00"  # the local time reminders go out
    digest_at: str = "08:30"  # the local time of the coordinators' morning digest
    stale_after_hours: int = 24  # older missed reminders are folded into one catch-up message


@dataclass(frozen=True)
class Plan:
    """The annual assessment implementation plan (考核工作实施方案) of one year."""

    year: int
    development: Development
    work: Work
    title: str = ""
    timezone: str = "Asia/Shanghai"
    bonus: Bonus = field(default_factory=Bonus)
    tiers: Tiers = field(default_factory=Tiers)
    schedule: Schedule = field(default_factory=Schedule)

    def max_without_bonus(self, group: Group) -> float:
        """The group's maximum total without bonus (towns 1000, others 400 by default)."""
        work = self.work.total_points
        return work + self.development.points if group is Group.TOWN else work

    def indicator(self, key: str) -> Indicator | None:
        """The indicator with this code or name, if any."""
        for ind in self.development.indicators:
            if key in (ind.code, ind.name):
                return ind
        return None

    def work_item(self, key: str) -> WorkItem | None:
        """The work item with this code or name, if any."""
        for item in self.work.items:
            if key in (item.code, item.name):
                return item
        return None
