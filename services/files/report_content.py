"""What the report workbooks show, as plain values: the services fill them in, the writers here
render them (so that the writers never import the services that call them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from scoring import Plan
from scoring.completeness import DataGaps, Named
from scoring.explanation import UnitExplanation
from templates import render


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
class ActivityLine:
    """A supervision activity of the plan: when, how, on what, for which units (empty: every
    unit), when it was done (None: not yet) and the findings it gave (unit, what, status)."""

    planned_on: date
    kind: str
    focus: str
    units: tuple[str, ...]
    done_on: date | None
    findings: tuple[tuple[str, str, str], ...]


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
    # The activities of the supervision plan planned in the half (planned against done).
    activities: tuple[ActivityLine, ...] = ()

    @property
    def finding_count(self) -> int:
        """How many findings the report lists."""
        return sum(len(u.findings) for u in self.units)

    @property
    def practice_count(self) -> int:
        """How many good practices the report lists."""
        return sum(len(u.practices) for u in self.units)


# Names listed in a line about gaps before "and more".
GAP_NAMES = 8


def gap_lines(gaps: DataGaps, language: str | None, html: bool = False) -> list[str]:
    """What the data lacks, as lines: a title, then one line per gap (none when complete)."""
    if gaps.complete:
        return []

    def line(key: str, **params: Any) -> str:
        return render(f"year.{key}", language, html=html, limit=GAP_NAMES, **params)

    def names(items: tuple[Named, ...]) -> list[str]:
        return [i.name for i in items]

    lines = [line("gaps_title" if gaps.severe else "gaps_title_partial")]
    if gaps.no_values:
        lines.append(line("gaps_no_values", count=gaps.towns))
    elif gaps.towns_without_values:
        towns = gaps.towns_without_values
        lines.append(line("gaps_towns_without_values", count=len(towns), names=names(towns)))
    if gaps.indicators_without_values:
        found = gaps.indicators_without_values
        lines.append(line("gaps_indicators_without_values", count=len(found), names=names(found)))
    if gaps.towns_missing_some_values:
        towns = gaps.towns_missing_some_values
        lines.append(line("gaps_towns_missing_some", count=len(towns), names=names(towns)))
    lines += [line("gaps_item_without_grades", item=i.name) for i in gaps.items_without_grades]
    lines += [
        line(
            "gaps_item_partly_graded",
            item=p.item.name,
            count=len(p.units),
            names=names(p.units),
        )
        for p in gaps.items_partly_graded
    ]
    return lines


def no_data_mark(gaps: DataGaps, block: str, language: str | None) -> str:
    """What a block's heading gets when nobody has data for it ("" otherwise)."""
    return render("year.gaps_no_data_mark", language) if block in gaps.blocks_without_data else ""
