"""Score a year: development by efficacy coefficients, work by grades, bonus, totals, ranks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import cache

import numpy as np
import pandas as pd

from scoring.efficacy import efficacy_scores
from scoring.grading import (
    GradeTable,
    grades_frame,
    item_coefficients,
    mix_daily_and_year_end,
)
from scoring.inputs import (
    COUNT_LIMIT,
    VALUE_LIMIT,
    BonusItem,
    EventCount,
    GradeColumns,
    GradeRecord,
    IndicatorValues,
    RectificationCount,
    Unit,
)
from scoring.plan import PERIODS, YEAR_END, EventKind, Group, Plan, YearEndSource
from scoring.problems import InputError, InputProblem
from scoring.ranking import competition_ranks, tier_names
from scoring.standings import Standings, WorkScores
from scoring.year_end import year_end_scores

EVENTS: tuple[EventKind, ...] = tuple(EventKind)


def score(
    plan: Plan,
    units: Sequence[Unit],
    values: IndicatorValues | None = None,
    grades: Sequence[GradeRecord] | GradeColumns = (),
    bonus: Sequence[BonusItem] = (),
    events: Sequence[EventCount] = (),
    rectification: Sequence[RectificationCount] = (),
) -> Standings:
    """Compute every unit's scores, rank and tier under `plan`; raise `InputError` on bad input.

    `grades` holds the panel's grades and the peers' votes (`source`); `rectification` each
    unit's findings due and rectified on time (scoring.md §2b)."""
    values = values if values is not None else IndicatorValues.empty()
    table = GradeTable.of(grades)
    # Text in every cell (always, from a database): the grades checked and grouped by their
    # codes; else (a missing cell in a workbook) by the frame, which says what is wrong.
    grading: GradeTable | pd.DataFrame = table if table.plain else table.frame()
    _check(plan, units, values, grading, bonus, events, rectification)
    codes = [u.code for u in units]
    row_of = {code: i for i, code in enumerate(codes)}
    towns = [u for u in units if u.group is Group.TOWN]
    town_rows = np.array([row_of[u.code] for u in towns], dtype=int)

    indicators = plan.development.indicators
    matrix = _town_matrix(values, [u.code for u in towns], [ind.code for ind in indicators])
    dev = plan.development
    efficacy = efficacy_scores(
        matrix, indicators, dev.base_share, dev.when_all_equal, dev.missing_value
    )
    development = np.zeros(len(units))
    development[town_rows] = efficacy.totals

    work = _work_scores(plan, codes, row_of, grading, events, rectification)

    approved = Counter(b.unit for b in bonus if b.approved)
    approved_counts = np.array([approved.get(code, 0) for code in codes], dtype=float)
    bonus_raw = approved_counts * plan.bonus.points_per_item
    bonus_points = np.minimum(bonus_raw, plan.bonus.cap)

    # A plan with absurd points can overflow here: checked right after, never ranked.
    with np.errstate(over="ignore", invalid="ignore"):
        totals = development + work.points.sum(axis=1) + bonus_points
        _check_finite(units, development, work.points, bonus_points, totals)
    ranks = np.zeros(len(units), dtype=int)
    tiers: list[str] = [""] * len(units)
    for group in Group:
        rows = np.array([i for i, u in enumerate(units) if u.group is group], dtype=int)
        if rows.size == 0:
            continue
        group_ranks = competition_ranks(totals[rows])
        ranks[rows] = group_ranks
        names = tier_names(plan.tiers, totals[rows], group_ranks, plan.max_without_bonus(group))
        for row, name in zip(rows, names, strict=True):
            tiers[row] = name

    return Standings(
        plan=plan,
        units=tuple(units),
        town_rows=town_rows,
        efficacy=efficacy,
        development=development,
        work=work,
        bonus_items=tuple(bonus),
        bonus_points=bonus_points,
        bonus_capped=bonus_raw > plan.bonus.cap,
        totals=totals,
        ranks=ranks,
        tiers=tuple(tiers),
    )


def _town_matrix(
    values: IndicatorValues, towns: Sequence[str], indicators: Sequence[str]
) -> np.ndarray:
    """The values reordered to (towns x plan indicators); absent rows or columns are missing."""
    if not values.units or not values.indicators:
        return np.full((len(towns), len(indicators)), np.nan)
    frame = pd.DataFrame(values.matrix, index=list(values.units), columns=list(values.indicators))
    return frame.reindex(index=list(towns), columns=list(indicators)).to_numpy(dtype=float)


def _work_scores(
    plan: Plan,
    codes: Sequence[str],
    row_of: dict[str, int],
    grading: GradeTable | pd.DataFrame,
    events: Sequence[EventCount],
    rectification: Sequence[RectificationCount],
) -> WorkScores:
    """Coefficients, raw points, deductions and points of every unit's work items."""
    items = plan.work.items
    item_col = {item.code: j for j, item in enumerate(items)}
    panel: GradeTable | pd.DataFrame
    if isinstance(grading, GradeTable):
        is_peer = grading.where("source", YearEndSource.PEER.value)
        panel = grading.rows(~is_peer) if is_peer.any() else grading
        peer_frame = grading.rows(is_peer).frame() if is_peer.any() else _no_grades()
        coefs = panel.item_coefficients(plan.work, codes)
    else:
        is_peer = (grading["source"] == YearEndSource.PEER.value).to_numpy(dtype=bool)
        panel = grading.loc[~is_peer].reset_index(drop=True)
        peer_frame = grading.loc[is_peer].reset_index(drop=True)
        coefs = item_coefficients(panel, plan.work, codes)
    year_end = year_end_scores(plan.work, codes, coefs.year_end, peer_frame, rectification)
    coef = mix_daily_and_year_end(coefs.daily, year_end.combined, plan.work.daily_weight)
    weights = np.array([item.points for item in items], dtype=float)
    raw = np.where(np.isnan(coef), 0.0, coef) * weights

    counts = np.zeros((len(codes), len(EVENTS)), dtype=int)
    event_col = {kind: k for k, kind in enumerate(EVENTS)}
    for ev in events:
        counts[row_of[ev.unit], event_col[ev.event]] += ev.count
    deducted = np.zeros((len(codes), len(items)))
    for kind, rule in plan.work.deductions.items():
        deducted[:, item_col[rule.item]] += counts[:, event_col[kind]] * rule.points
    points = np.maximum(0.0, raw - deducted)
    return WorkScores(
        panel=panel,
        daily=coefs.daily,
        year_end=year_end.combined,
        coef=coef,
        quarters=coefs.quarters,
        trimmed=coefs.trimmed | year_end.peer_trimmed,
        raw=raw,
        event_counts=counts,
        deducted=deducted,
        points=points,
        sources=year_end,
    )


@cache
def _no_grades() -> pd.DataFrame:
    """An empty grades frame, made once (only read: making one costs more than scoring peers)."""
    return grades_frame([])


def _check_finite(
    units: Sequence[Unit],
    development: np.ndarray,
    work: np.ndarray,
    bonus: np.ndarray,
    totals: np.ndarray,
) -> None:
    """Refuse results that are not finite numbers (a plan's points so large that sums
    overflow), naming each unit and the block that overflowed; never rank them."""
    if np.isfinite(totals).all():
        return
    blocks = {"development": development, "work": work.sum(axis=1), "bonus": bonus}
    problems = [
        InputProblem(
            "result_not_finite",
            {
                "unit": unit.code,
                "blocks": [name for name, block in blocks.items() if not np.isfinite(block[i])]
                or ["total"],
            },
            "plan",
        )
        for i, unit in enumerate(units)
        if not np.isfinite(totals[i])
    ]
    raise InputError(problems)


def _check(
    plan: Plan,
    units: Sequence[Unit],
    values: IndicatorValues,
    grading: GradeTable | pd.DataFrame,
    bonus: Sequence[BonusItem],
    events: Sequence[EventCount],
    rectification: Sequence[RectificationCount] = (),
) -> None:
    """Refuse input that does not fit the plan and the units, listing every problem."""
    problems: list[InputProblem] = []
    groups: dict[str, Group] = {}
    for unit in units:
        if unit.code in groups:
            problems.append(InputProblem("duplicate_unit", {"unit": unit.code}, "units"))
        groups[unit.code] = unit.group
    for code in values.units:
        if code not in groups:
            problems.append(InputProblem("unknown_unit", {"unit": code}, "values"))
        elif groups[code] is not Group.TOWN:
            problems.append(InputProblem("value_for_non_town", {"unit": code}, "values"))
    if len(set(values.units)) != len(values.units):
        for code, n in Counter(values.units).items():
            if n > 1:
                problems.append(InputProblem("duplicate_unit", {"unit": code}, "values"))
    indicator_codes = {ind.code for ind in plan.development.indicators}
    for code in values.indicators:
        if code not in indicator_codes:
            problems.append(InputProblem("unknown_indicator", {"indicator": code}, "values"))
    # NaN is a missing value; infinities and magnitudes past VALUE_LIMIT would make the efficacy
    # formula overflow (a NaN total ranked first).
    with np.errstate(invalid="ignore"):
        out_of_range = ~np.isnan(values.matrix) & ~(np.abs(values.matrix) <= VALUE_LIMIT)
    for i, j in zip(*np.nonzero(out_of_range), strict=True):
        problems.append(
            InputProblem(
                "value_out_of_range",
                {
                    "unit": values.units[i],
                    "indicator": values.indicators[j],
                    "value": float(values.matrix[i, j]),
                    "limit": VALUE_LIMIT,
                },
                "values",
            )
        )
    if isinstance(grading, GradeTable):
        problems.extend(_table_grade_problems(plan, grading, set(groups)))
        is_peer = grading.where("source", YearEndSource.PEER.value)
        if is_peer.any():
            problems.extend(_peer_problems(plan, grading.rows(is_peer).frame(), groups))
    else:
        problems.extend(_grade_problems(plan, grading, set(groups)))
        problems.extend(_peer_problems(plan, grading, groups))
    for count in rectification:
        if count.unit not in groups:
            problems.append(InputProblem("unknown_unit", {"unit": count.unit}, "events"))
        if count.due < 0 or count.rectified_on_time < 0:
            problems.append(
                InputProblem(
                    "negative_count", {"count": min(count.due, count.rectified_on_time)}, "events"
                )
            )
        elif count.rectified_on_time > count.due:
            problems.append(
                InputProblem(
                    "rectified_more_than_due",
                    {"unit": count.unit, "due": count.due, "on_time": count.rectified_on_time},
                    "events",
                )
            )
    for b in bonus:
        if b.unit not in groups:
            problems.append(InputProblem("unknown_unit", {"unit": b.unit}, "bonus"))
    for e in events:
        if e.unit not in groups:
            problems.append(InputProblem("unknown_unit", {"unit": e.unit}, "events"))
        if e.count < 0:
            problems.append(InputProblem("negative_count", {"count": e.count}, "events"))
        elif e.count > COUNT_LIMIT:
            problems.append(
                InputProblem(
                    "count_too_large",
                    {"unit": e.unit, "got": e.count, "limit": COUNT_LIMIT},
                    "events",
                )
            )
    if problems:
        raise InputError(problems)


def _grade_problems(plan: Plan, frame: pd.DataFrame, units: set[str]) -> list[InputProblem]:
    """Unknown units, items or periods and duplicate grades, found column-wise."""
    problems: list[InputProblem] = []
    checks = (
        ("unit", units, "unknown_unit"),
        ("item", {item.code for item in plan.work.items}, "unknown_item"),
        ("period", set(PERIODS), "unknown_period"),
    )
    # Each mask is looked into only when it has a row: selecting none costs as much as the test.
    for column, known, code in checks:
        unknown = ~frame[column].isin(list(known))
        if unknown.any():
            for value in frame.loc[unknown, column]:
                problems.append(InputProblem(code, {column: value}, "grades"))
    unknown = ~frame["source"].isin([s.value for s in SOURCES_GRADED])
    if unknown.any():
        for value in frame.loc[unknown, "source"]:
            problems.append(InputProblem("unknown_source", {"source": value}, "grades"))
    duplicated = frame.duplicated(subset=["unit", "item", "period", "rater", "source"])
    if not duplicated.any():
        return problems
    for row in frame.loc[duplicated].itertuples(index=False):
        problems.append(
            InputProblem(
                "duplicate_grade",
                {"unit": row.unit, "item": row.item, "period": row.period, "rater": row.rater},
                "grades",
            )
        )
    return problems


def _table_grade_problems(plan: Plan, table: GradeTable, units: set[str]) -> list[InputProblem]:
    """`_grade_problems` of the table's frame, the same problems in the same order, found on
    the codes: each distinct value is looked up once, duplicates by one integer key."""
    problems: list[InputProblem] = []
    checks = (
        ("unit", units, "unknown_unit"),
        ("item", {item.code for item in plan.work.items}, "unknown_item"),
        ("period", set(PERIODS), "unknown_period"),
        ("source", {s.value for s in SOURCES_GRADED}, "unknown_source"),
    )
    for column, known, code in checks:
        unknown = np.array([value not in known for value in table.uniques[column]], dtype=bool)
        if unknown.any():
            for value in table.columns[column][unknown[table.codes[column]]]:
                problems.append(InputProblem(code, {column: value}, "grades"))
    key = np.zeros(len(table), dtype=np.int64)
    span = 1
    for column in ("unit", "item", "period", "rater", "source"):
        size = max(len(table.uniques[column]), 1)
        span *= size
        if span >= 2**62:  # too many distinct combinations for one integer key
            return _grade_problems(plan, table.frame(), units)
        key = key * size + table.codes[column]
    _, first = np.unique(key, return_index=True)  # each key's first row
    if len(first) == len(key):
        return problems
    duplicated = np.ones(len(key), dtype=bool)
    duplicated[first] = False
    c = table.columns
    for k in np.nonzero(duplicated)[0]:
        problems.append(
            InputProblem(
                "duplicate_grade",
                {
                    "unit": c["unit"][k],
                    "item": c["item"][k],
                    "period": c["period"][k],
                    "rater": c["rater"][k],
                },
                "grades",
            )
        )
    return problems


# The sources given as grades: the raters' (panel) and the other units' (peer).
SOURCES_GRADED: tuple[YearEndSource, ...] = (YearEndSource.PANEL, YearEndSource.PEER)


def _peer_problems(
    plan: Plan, frame: pd.DataFrame, groups: dict[str, Group]
) -> list[InputProblem]:
    """Peer votes (互评) that cannot count: not year-end, an item peers do not rate, a plan
    without peers, a rater that is no unit, the unit itself, or a unit of another group."""
    peers = frame[frame["source"] == YearEndSource.PEER.value]
    if peers.empty:
        return []
    problems: list[InputProblem] = []
    year_end = plan.work.year_end
    if year_end.weight(YearEndSource.PEER) <= 0:
        problems.append(InputProblem("peer_not_in_plan", {"votes": len(peers)}, "grades"))
        return problems
    columns = ("unit", "item", "period", "rater")
    for unit, item, period, rater in zip(*(peers[c].astype(str) for c in columns), strict=True):
        where = {"unit": unit, "item": item, "rater": rater}
        if period != YEAR_END:
            problems.append(
                InputProblem("peer_not_year_end", {**where, "period": period}, "grades")
            )
        if item not in year_end.peer_items:
            problems.append(
                InputProblem(
                    "peer_item_not_rated", {**where, "items": list(year_end.peer_items)}, "grades"
                )
            )
        rater_group = groups.get(rater)
        if rater_group is None:
            problems.append(InputProblem("unknown_rater_unit", where, "grades"))
        elif rater == unit:
            problems.append(InputProblem("peer_own_unit", where, "grades"))
        elif unit in groups and groups[unit] is not rater_group:
            problems.append(InputProblem("peer_other_group", where, "grades"))
    return problems
