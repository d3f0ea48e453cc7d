"""Grade coefficients of work items: mean over raters (trimmed), daily vs year-end weighting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.inputs import GradeColumns, GradeRecord
from scoring.plan import QUARTERS, YEAR_END, Work

GRADE_COLUMNS = ["unit", "item", "period", "rater", "grade", "source"]


def grades_frame(records: Sequence[GradeRecord] | GradeColumns) -> pd.DataFrame:
    """The grade records as a frame with columns unit, item, period, rater, grade, source."""
    if not len(records):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in GRADE_COLUMNS})
    if isinstance(records, GradeColumns):
        # The same frame as from the records below, built column by column.
        return pd.DataFrame(
            {
                "unit": list(records.unit),
                "item": list(records.item),
                "period": list(records.period),
                "rater": list(records.rater),
                "grade": list(records.grade),
                "source": list(records.source),
            },
            columns=GRADE_COLUMNS,
        )
    # Grade and YearEndSource are StrEnums, so the members serve as their text values.
    rows = [
        (r.unit, r.item, r.period, r.rater, str.__str__(r.grade), str.__str__(r.source))
        for r in records
    ]
    return pd.DataFrame.from_records(rows, columns=GRADE_COLUMNS)


@dataclass(frozen=True)
class ItemCoefficients:
    """Per unit (rows) and work item (columns): daily, year-end and combined coefficients."""

    daily: np.ndarray
    year_end: np.ndarray
    coef: np.ndarray
    quarters: np.ndarray
    trimmed: np.ndarray


def period_means(grades: pd.DataFrame, work: Work) -> pd.DataFrame:
    """Mean coefficient per unit, item and period; one highest and one lowest dropped when the
    raters are more than `trim_above`."""
    coefficients = {g.value: c for g, c in work.grades.items()}
    coef = grades["grade"].map(coefficients).astype(float)
    frame = grades[["unit", "item", "period"]].assign(coef=coef)
    stats = frame.groupby(["unit", "item", "period"], sort=False)["coef"].agg(
        ["count", "sum", "max", "min"]
    )
    trim = (stats["count"] > work.trim_above).astype(float)
    mean = (stats["sum"] - trim * (stats["max"] + stats["min"])) / (stats["count"] - 2 * trim)
    return pd.DataFrame({"raters": stats["count"], "mean": mean, "trimmed": trim > 0})


def item_coefficients(grades: pd.DataFrame, work: Work, units: Sequence[str]) -> ItemCoefficients:
    """Combine period means into one coefficient per unit and item:
    `daily_weight * mean(quarters) + (1 - daily_weight) * year_end`; either alone stands alone."""
    items = [item.code for item in work.items]
    shape = (len(units), len(items))
    means = period_means(grades, work).reset_index()
    index = pd.MultiIndex.from_product([list(units), items], names=["unit", "item"])

    quarterly = means[means["period"].isin(QUARTERS)]
    by_item = quarterly.groupby(["unit", "item"], sort=False)["mean"]
    daily = by_item.mean().reindex(index).to_numpy().reshape(shape)
    quarters = by_item.count().reindex(index).fillna(0).to_numpy().reshape(shape).astype(int)
    year_end = (
        means[means["period"] == YEAR_END]
        .set_index(["unit", "item"])["mean"]
        .reindex(index)
        .to_numpy()
        .reshape(shape)
    )
    trimmed = (
        means.groupby(["unit", "item"], sort=False)["trimmed"]
        .any()
        .reindex(index)
        .fillna(False)
        .to_numpy()
        .reshape(shape)
        .astype(bool)
    )
    combined = mix_daily_and_year_end(daily, year_end, work.daily_weight)
    return ItemCoefficients(daily, year_end, combined, quarters, trimmed)


def mix_daily_and_year_end(daily: np.ndarray, year_end: np.ndarray, w: float) -> np.ndarray:
    """`w * daily + (1 - w) * year_end` where both exist; either alone stands alone; NaN where
    neither does."""
    has_daily = ~np.isnan(daily)
    has_year = ~np.isnan(year_end)
    return np.where(
        has_daily & has_year,
        w * np.where(has_daily, daily, 0.0) + (1 - w) * np.where(has_year, year_end, 0.0),
        np.where(has_year, year_end, daily),
    )
