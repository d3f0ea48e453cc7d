"""Score a year straight from a plan file and data workbooks, without a database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from scoring import (
    BonusItem,
    GradeRecord,
    IndicatorValues,
    InputError,
    InputProblem,
    Standings,
    score,
)
from services.files.plan_file import load_plan_file
from services.files.reader import (
    EventSheet,
    read_bonus,
    read_event_sheet,
    read_grades,
    read_units,
    read_values,
)

T = TypeVar("T")


@dataclass(frozen=True)
class ScoringFiles:
    """The files of one scoring run; grades, bonus and events are optional."""

    plan: Path
    units: Path
    values: Path
    grades: Path | None = None
    bonus: Path | None = None
    events: Path | None = None


def score_files(files: ScoringFiles, warnings: list[InputProblem] | None = None) -> Standings:
    """Read and validate every file, then score; raise one `InputError` listing every problem
    of every workbook (or `PlanFileError` for a bad plan). What deserves a second look but is
    no error is appended to `warnings`."""
    plan = load_plan_file(files.plan)
    units = read_units(files.units)
    problems: list[InputProblem] = []

    def attempt(read: Callable[[], T], default: T) -> T:
        try:
            return read()
        except InputError as exc:
            problems.extend(exc.problems)
            return default

    no_grades: list[GradeRecord] = []
    no_bonus: list[BonusItem] = []
    no_events = EventSheet([], [])
    values: IndicatorValues | None = attempt(
        lambda: read_values(files.values, plan, units, warnings=warnings), None
    )
    grades = attempt(
        lambda: read_grades(files.grades, plan, units) if files.grades else no_grades, no_grades
    )
    bonus = attempt(lambda: read_bonus(files.bonus, units) if files.bonus else no_bonus, no_bonus)
    events = attempt(
        lambda: read_event_sheet(files.events, units) if files.events else no_events, no_events
    )
    if problems:
        raise InputError(problems)
    return score(plan, units, values, grades, bonus, events.events, events.rectification)
