"""The outcome of scoring a year: results per unit, explanations and the JSON of the contract."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from scoring.efficacy import EfficacyScores
from scoring.explanation import (
    BonusExplanation,
    DeductionApplied,
    GradeUsed,
    IndicatorExplanation,
    ItemExplanation,
    PeerSummary,
    PeriodMean,
    RectificationSummary,
    SourceUsed,
    UnitExplanation,
    UnitResult,
)
from scoring.grading import GradeTable
from scoring.inputs import BonusItem, Unit
from scoring.plan import PERIODS, EventKind, Grade, Group, Plan, YearEndSource
from scoring.year_end import SOURCES, YearEndScores

EVENTS: tuple[EventKind, ...] = tuple(EventKind)


@dataclass(frozen=True)
class WorkScores:
    """Per unit (rows, in input order) and work item (columns, in plan order)."""

    panel: GradeTable | pd.DataFrame  # the panel's grades (peers' votes are in `sources`)
    daily: np.ndarray
    year_end: np.ndarray
    coef: np.ndarray
    quarters: np.ndarray
    trimmed: np.ndarray
    raw: np.ndarray
    event_counts: np.ndarray
    deducted: np.ndarray
    points: np.ndarray
    sources: YearEndScores

    @cached_property
    def frame(self) -> pd.DataFrame:
        """The panel's grades as a frame (made when an explanation first needs it)."""
        if isinstance(self.panel, GradeTable):
            return self.panel.frame()
        return self.panel


def _opt(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


@dataclass(frozen=True)
class Standings:
    """Scores of every unit of a year, with what is needed to explain each of them."""

    plan: Plan
    units: tuple[Unit, ...]
    town_rows: np.ndarray
    efficacy: EfficacyScores
    development: np.ndarray
    work: WorkScores
    bonus_items: tuple[BonusItem, ...]
    bonus_points: np.ndarray
    bonus_capped: np.ndarray
    totals: np.ndarray
    ranks: np.ndarray
    tiers: tuple[str, ...]
    _row_of: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_row_of", {u.code: i for i, u in enumerate(self.units)})

    @cached_property
    def _town_index(self) -> dict[int, int]:
        return {int(row): i for i, row in enumerate(self.town_rows)}

    def _item_flags(self, row: int, j: int) -> tuple[str, ...]:
        flags = []
        if math.isnan(self.work.coef[row, j]):
            flags.append("no_grade")
        elif math.isnan(self.work.year_end[row, j]):
            flags.append("no_year_end")
        if self.work.sources.no_peer[row, j]:
            flags.append("no_peer")
        if self.work.sources.no_findings[row, j]:
            flags.append("no_findings")
        if self.work.trimmed[row, j]:
            flags.append("trimmed")
        if self.work.deducted[row, j] > 0 and self.work.raw[row, j] < self.work.deducted[row, j]:
            flags.append("floored")
        return tuple(flags)

    def _indicator_flags(self, t: int, k: int) -> tuple[str, ...]:
        e = self.efficacy
        flags = []
        if e.missing[t, k]:
            flags.append("missing")
        if e.all_equal[k] and not e.missing[t, k]:
            flags.append("all_equal")
        if e.clamped[t, k]:
            flags.append("clamped")
        if e.out_of_bounds[t, k]:
            flags.append("out_of_bounds")
        return tuple(flags)

    def _result(self, row: int) -> UnitResult:
        unit = self.units[row]
        items = {
            item.code: float(self.work.points[row, j])
            for j, item in enumerate(self.plan.work.items)
        }
        flags = []
        t = self._town_index.get(row)
        if t is not None and self.efficacy.missing[t].any():
            flags.append("missing_values")
        if np.isnan(self.work.coef[row]).any():
            flags.append("no_grade")
        if self.bonus_capped[row]:
            flags.append("bonus_capped")
        return UnitResult(
            code=unit.code,
            name=unit.name,
            group=unit.group,
            rank=int(self.ranks[row]),
            tier=self.tiers[row],
            total=float(self.totals[row]),
            share=float(self.totals[row]) / self.plan.max_without_bonus(unit.group),
            development=float(self.development[row]),
            items=items,
            bonus=float(self.bonus_points[row]),
            deductions=float(self.work.deducted[row].sum()),
            flags=tuple(flags),
        )

    @cached_property
    def _ordered_rows(self) -> dict[Group, list[int]]:
        out: dict[Group, list[int]] = {}
        for group in Group:
            rows = [i for i, u in enumerate(self.units) if u.group is group]
            out[group] = sorted(rows, key=lambda i: (int(self.ranks[i]), i))
        return out

    def group(self, group: Group) -> list[UnitResult]:
        """The results of one group, in rank order."""
        return [self._result(row) for row in self._ordered_rows[group]]

    def result(self, unit: str) -> UnitResult:
        """One unit's result; `KeyError` if the unit was not scored."""
        return self._result(self._row_of[unit])

    def group_size(self, group: Group) -> int:
        """How many units the group has."""
        return len(self._ordered_rows[group])

    def explain(self, unit: str) -> UnitExplanation:
        """Everything that went into one unit's score."""
        row = self._row_of[unit]
        result = self._result(row)
        return UnitExplanation(
            result=result,
            group_size=self.group_size(result.group),
            max_without_bonus=self.plan.max_without_bonus(result.group),
            indicators=self._explain_indicators(row),
            items=self._explain_items(row),
            bonus=self._explain_bonus(row),
            rectification=self._explain_rectification(row),
        )

    def _year_end_sources(self, row: int, j: int) -> dict[str, float]:
        """The coefficient of each source that applies to the item and has data, by name."""
        given = self.work.sources.sources[row, j]
        return {s.value: float(given[k]) for k, s in enumerate(SOURCES) if not np.isnan(given[k])}

    def _explain_sources(self, row: int, j: int, item: str) -> tuple[SourceUsed, ...]:
        year_end = self.plan.work.year_end
        given = self.work.sources.sources[row, j]
        return tuple(
            SourceUsed(source, year_end.weight(source), _opt(given[SOURCES.index(source)]))
            for source in year_end.sources
            if year_end.applies(source, item)
        )

    def _explain_peer(self, row: int, j: int, item: str) -> PeerSummary | None:
        if not self.plan.work.year_end.applies(YearEndSource.PEER, item):
            return None
        s = self.work.sources
        return PeerSummary(
            votes=int(s.peer_votes[row, j]),
            mean=_opt(s.source(YearEndSource.PEER)[row, j]),
            trimmed=bool(s.peer_trimmed[row, j]),
        )

    def _explain_rectification(self, row: int) -> RectificationSummary:
        s = self.work.sources
        grade = s.grade[row]
        return RectificationSummary(
            due=int(s.due[row]),
            on_time=int(s.on_time[row]),
            ratio=_opt(s.ratio[row]),
            grade=grade,
            coefficient=None if grade is None else self.plan.work.grades[grade],
            weight=self.plan.work.year_end.weight(YearEndSource.RECTIFICATION),
        )

    def _explain_indicators(self, row: int) -> tuple[IndicatorExplanation, ...]:
        t = self._town_index.get(row)
        if t is None:
            return ()
        e = self.efficacy
        dev = self.plan.development
        return tuple(
            IndicatorExplanation(
                code=ind.code,
                name=ind.name,
                category=ind.category,
                measure=ind.unit,
                direction=ind.direction,
                weight=ind.points,
                base_share=dev.base_share,
                fixed_bounds=ind.bounds is not None,
                value=_opt(e.values[t, k]),
                best=_opt(e.best[k]),
                worst=_opt(e.worst[k]),
                ratio=_opt(e.ratio[t, k]),
                points=float(e.points[t, k]),
                flags=self._indicator_flags(t, k),
            )
            for k, ind in enumerate(dev.indicators)
        )

    def _explain_items(self, row: int) -> tuple[ItemExplanation, ...]:
        code = self.units[row].code
        frame = self.work.frame
        mine = frame[frame["unit"] == code]
        coefficients = {g.value: c for g, c in self.plan.work.grades.items()}
        out = []
        for j, item in enumerate(self.plan.work.items):
            used: list[GradeUsed] = []
            periods: list[PeriodMean] = []
            rows = mine[mine["item"] == item.code]
            for period in PERIODS:
                graded = rows[rows["period"] == period]
                if graded.empty:
                    continue
                coefs = [coefficients[g] for g in graded["grade"]]
                dropped = _dropped(coefs, self.plan.work.trim_above)
                kept = [c for c, d in zip(coefs, dropped, strict=True) if not d]
                periods.append(PeriodMean(period, len(coefs), sum(kept) / len(kept), any(dropped)))
                used.extend(
                    GradeUsed(period, str(rater), Grade(grade).value, c, d)
                    for rater, grade, c, d in zip(
                        graded["rater"], graded["grade"], coefs, dropped, strict=True
                    )
                )
            deductions = tuple(
                DeductionApplied(
                    kind,
                    int(self.work.event_counts[row, k]),
                    rule.points,
                    int(self.work.event_counts[row, k]) * rule.points,
                )
                for k, kind in enumerate(EVENTS)
                if (rule := self.plan.work.deductions.get(kind)) is not None
                and rule.item == item.code
                and self.work.event_counts[row, k] > 0
            )
            out.append(
                ItemExplanation(
                    code=item.code,
                    name=item.name,
                    weight=item.points,
                    grades=tuple(used),
                    periods=tuple(periods),
                    daily=_opt(self.work.daily[row, j]),
                    year_end=_opt(self.work.year_end[row, j]),
                    daily_weight=self.plan.work.daily_weight,
                    coef=_opt(self.work.coef[row, j]),
                    raw_points=float(self.work.raw[row, j]),
                    deductions=deductions,
                    deducted=float(self.work.deducted[row, j]),
                    points=float(self.work.points[row, j]),
                    flags=self._item_flags(row, j),
                    sources=self._explain_sources(row, j, item.code),
                    peer=self._explain_peer(row, j, item.code),
                )
            )
        return tuple(out)

    def _explain_bonus(self, row: int) -> BonusExplanation:
        code = self.units[row].code
        mine = [b for b in self.bonus_items if b.unit == code]
        return BonusExplanation(
            approved=tuple(b.title for b in mine if b.approved),
            not_approved=tuple(b.title for b in mine if not b.approved),
            points_per_item=self.plan.bonus.points_per_item,
            cap=self.plan.bonus.cap,
            points=float(self.bonus_points[row]),
            capped=bool(self.bonus_capped[row]),
        )

    def to_json(self) -> dict[str, Any]:
        """The results as the JSON of scoring.md section 6 (unrounded floats, rank order)."""
        groups: dict[str, list[dict[str, Any]]] = {}
        item_codes = [item.code for item in self.plan.work.items]
        indicators = self.plan.development.indicators
        e = self.efficacy
        for group in Group:
            entries = []
            for row in self._ordered_rows[group]:
                r = self._result(row)
                entry: dict[str, Any] = {
                    "unit": r.code,
                    "name": r.name,
                    "rank": r.rank,
                    "tier": r.tier,
                    "total": r.total,
                    "development": r.development,
                }
                entry.update(r.items)
                entry["bonus"] = r.bonus
                entry["deductions"] = r.deductions
                t = self._town_index.get(row)
                entry["indicators"] = (
                    {}
                    if t is None
                    else {
                        ind.code: {
                            "value": _opt(e.values[t, k]),
                            "points": float(e.points[t, k]),
                            "flags": list(self._indicator_flags(t, k)),
                        }
                        for k, ind in enumerate(indicators)
                    }
                )
                entry["items"] = {
                    code: {
                        "coef": _opt(self.work.coef[row, j]),
                        "points": float(self.work.points[row, j]),
                        "year_end_sources": self._year_end_sources(row, j),
                        "flags": list(self._item_flags(row, j)),
                    }
                    for j, code in enumerate(item_codes)
                }
                entry["flags"] = list(r.flags)
                entries.append(entry)
            groups[group.value] = entries
        return {"year": self.plan.year, "groups": groups}


def _dropped(coefs: list[float], trim_above: int) -> list[bool]:
    """Which grades trimming drops: the first highest and the first lowest, past `trim_above`."""
    dropped = [False] * len(coefs)
    if len(coefs) > trim_above:
        dropped[coefs.index(max(coefs))] = True
        low = min(range(len(coefs)), key=lambda i: (coefs[i], dropped[i]))
        dropped[low] = True
    return dropped
