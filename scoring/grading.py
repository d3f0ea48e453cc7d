"""Grade coefficients of work items: mean over raters (trimmed), daily vs year-end weighting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.inputs import GradeColumns, GradeRecord
from scoring.plan import PERIODS, QUARTERS, YEAR_END, Work

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
    `daily_weight * mean(quarters) + (1 - daily_weight) * year_end`; either alone stands alone.

    The definition; `GradeTable.item_coefficients` gives the same floats faster."""
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


class GradeTable:
    """Grade rows column by column (numpy arrays of the text values), each column also as
    integer codes of its distinct values: what the engine checks and groups the tens of
    thousands of grades of a district by, where text columns in pandas cost several times more.
    `frame()` gives the same frame as `grades_frame` of the same rows."""

    def __init__(
        self,
        columns: dict[str, np.ndarray],
        codes: dict[str, np.ndarray],
        uniques: dict[str, np.ndarray],
    ) -> None:
        self.columns = columns
        self.codes = codes
        self.uniques = uniques

    @classmethod
    def of(cls, records: Sequence[GradeRecord] | GradeColumns) -> GradeTable:
        """The table of grade records or columns."""
        if isinstance(records, GradeColumns):
            lists: list[Sequence[str]] = [
                records.unit,
                records.item,
                records.period,
                records.rater,
                records.grade,
                records.source,
            ]
        else:
            # Grade and YearEndSource are StrEnums: their text values, as in grades_frame.
            lists = [
                [r.unit for r in records],
                [r.item for r in records],
                [r.period for r in records],
                [r.rater for r in records],
                [str.__str__(r.grade) for r in records],
                [str.__str__(r.source) for r in records],
            ]
        columns: dict[str, np.ndarray] = {}
        codes: dict[str, np.ndarray] = {}
        uniques: dict[str, np.ndarray] = {}
        for name, values in zip(GRADE_COLUMNS, lists, strict=True):
            column = np.fromiter(values, dtype=object, count=len(values))
            columns[name] = column
            codes[name], found = pd.factorize(column)
            uniques[name] = np.asarray(found, dtype=object)
        return cls(columns, codes, uniques)

    def __len__(self) -> int:
        return len(self.columns["unit"])

    @property
    def plain(self) -> bool:
        """Whether every cell is text (no missing value): what the coded checks assume."""
        return all(
            (codes >= 0).all() and all(type(v) is str for v in self.uniques[name])
            for name, codes in self.codes.items()
        )

    def rows(self, mask: np.ndarray) -> GradeTable:
        """The rows where `mask` is true (the codes keep their meaning)."""
        return GradeTable(
            {name: column[mask] for name, column in self.columns.items()},
            {name: codes[mask] for name, codes in self.codes.items()},
            self.uniques,
        )

    def where(self, name: str, value: str) -> np.ndarray:
        """A mask of the rows whose column `name` is `value`."""
        match = np.nonzero(self.uniques[name] == value)[0]
        if not len(match):
            return np.zeros(len(self), dtype=bool)
        mask: np.ndarray = self.codes[name] == int(match[0])
        return mask

    def positions(self, name: str, place: dict[str, int]) -> np.ndarray:
        """Per row, `place` of its value in column `name`; -1 where the value is not in it."""
        at = np.array([place.get(value, -1) for value in self.uniques[name]], dtype=np.int64)
        return at[self.codes[name]] if len(at) else np.full(len(self), -1, dtype=np.int64)

    def frame(self) -> pd.DataFrame:
        """The rows as `grades_frame` makes them."""
        if not len(self):
            return grades_frame([])
        return pd.DataFrame(
            {name: self.columns[name].tolist() for name in GRADE_COLUMNS}, columns=GRADE_COLUMNS
        )

    def item_coefficients(self, work: Work, units: Sequence[str]) -> ItemCoefficients:
        """`item_coefficients(self.frame(), work, units)`, grouped by integer keys made of the
        codes: the same pandas sums and means over the same rows in the same order (so the
        same floats), without group-bys on text or a reindex on a text MultiIndex."""
        coefficients = {g.value: c for g, c in work.grades.items()}
        if not len(self) or not all(g in coefficients for g in self.uniques["grade"]):
            return item_coefficients(self.frame(), work, units)
        items = [item.code for item in work.items]
        shape = (len(units), len(items))
        row = self.positions("unit", {code: i for i, code in enumerate(units)})
        col = self.positions("item", {code: j for j, code in enumerate(items)})
        period = self.positions("period", {p: k for k, p in enumerate(PERIODS)})
        coef_of = np.array([coefficients[g] for g in self.uniques["grade"]], dtype=float)
        # Rows of units, items or periods outside the result make groups of their own in the
        # frame path, which its reindex drops: left out from the start.
        keep = (row >= 0) & (col >= 0) & (period >= 0)
        cells = shape[0] * shape[1]
        key = (row * shape[1] + col)[keep] * len(PERIODS) + period[keep]
        # Groups in order of first appearance (sort=False) as in the frame path: the order
        # in which the daily mean adds the quarters' means.
        stats = (
            pd.Series(coef_of[self.codes["grade"][keep]])
            .groupby(key, sort=False)
            .agg(["count", "sum", "max", "min"])
        )
        group_key = stats.index.to_numpy(dtype=np.int64)
        count = stats["count"].to_numpy()
        trim = (count > work.trim_above).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = (
                stats["sum"].to_numpy()
                - trim * (stats["max"].to_numpy() + stats["min"].to_numpy())
            ) / (count - 2 * trim)
        if not np.isfinite(mean).all():
            return item_coefficients(self.frame(), work, units)  # NaN means count differently
        group_cell = group_key // len(PERIODS)
        group_period = group_key % len(PERIODS)
        quarterly = group_period < len(QUARTERS)
        daily_means = pd.Series(mean[quarterly]).groupby(group_cell[quarterly], sort=False).mean()
        daily = np.full(cells, np.nan)
        daily[daily_means.index.to_numpy(dtype=np.int64)] = daily_means.to_numpy()
        quarters = np.bincount(group_cell[quarterly], minlength=cells)
        year_end = np.full(cells, np.nan)
        at_year_end = group_period == len(QUARTERS)
        year_end[group_cell[at_year_end]] = mean[at_year_end]
        trimmed = np.zeros(cells, dtype=bool)
        trimmed[group_cell[trim > 0]] = True
        daily, year_end = daily.reshape(shape), year_end.reshape(shape)
        combined = mix_daily_and_year_end(daily, year_end, work.daily_weight)
        return ItemCoefficients(
            daily, year_end, combined, quarters.reshape(shape).astype(int), trimmed.reshape(shape)
        )
