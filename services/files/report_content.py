"""What the report workbooks show, as plain values: the services fill them in, the writers here
render them (so that the writers never import the services that call them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from scoring import Plan
from scoring.explanation import UnitExplanation


@dataclass(frozen=True)
class GoodPracticeView:
    """A recorded good practice."""

    id: int
    year: int
    unit_id: int
    unit_code: str
    unit_name: str
    title: str
    description: str
    recorded_by: int | None
    recorded_at: datetime


@dataclass(frozen=True)
class TaskLine:
    """A target task and the newest progress reported for it."""

    code: str
    title: str
    source_document: str
    target: str
    due_date: date | None
    work_item: str
    month: int | None
    status: str | None
    figure: str
    note: str
    files: int = 0  # evidence files sent for the task with that progress


@dataclass(frozen=True)
class RectificationLine:
    """One rectification submission and its decision (None while undecided)."""

    submitted_at: datetime
    text: str
    on_time: bool
    decision: str | None
    reason: str | None
    decided_at: datetime | None


@dataclass(frozen=True)
class FindingLine:
    """A finding, its status as of the report (`overdue` when past its deadline unsettled),
    and its rectifications."""

    id: int
    description: str
    source: str
    found_on: date
    deadline: date
    status: str
    rectifications: tuple[RectificationLine, ...]


@dataclass(frozen=True)
class MonthLine:
    """A month whose report is settled: `on_time`, `late` or `missing`."""

    month: int
    state: str
    due_at: datetime
    submitted_at: datetime | None


@dataclass(frozen=True)
class UnitRecords:
    """A unit's tasks, monthly reports, findings and confirmed false reports of a year."""

    unit: str
    tasks: tuple[TaskLine, ...]
    months: tuple[MonthLine, ...]
    findings: tuple[FindingLine, ...]
    false_reports: int


@dataclass(frozen=True)
class UnitDossier:
    """Everything of one unit's assessment report."""

    plan: Plan
    explanation: UnitExplanation
    records: UnitRecords
    as_of: datetime | None
    generated_at: datetime


@dataclass(frozen=True)
class SupervisionUnit:
    """One unit's part of the report."""

    code: str
    name: str
    group: str
    active: bool
    tasks: tuple[TaskLine, ...]
    findings: tuple[FindingLine, ...]
    practices: tuple[GoodPracticeView, ...]


@dataclass(frozen=True)
class SupervisionReport:
    """The half year's report: its period, the moment it is as of, and every unit's part."""

    year: int
    half: int
    first_day: date
    last_day: date
    as_of: datetime
    generated_at: datetime
    timezone: str
    units: tuple[SupervisionUnit, ...]

    @property
    def finding_count(self) -> int:
        """How many findings the report lists."""
        return sum(len(u.findings) for u in self.units)

    @property
    def practice_count(self) -> int:
        """How many good practices the report lists."""
        return sum(len(u.practices) for u in self.units)
