"""The efficacy coefficient method (功效系数法) over a whole matrix of indicator values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scoring.plan import AllEqualPolicy, Direction, Indicator, MissingPolicy


@dataclass(frozen=True)
class EfficacyScores:
    """Per unit and indicator: ratio, points and flags; per indicator: best and worst."""

    values: np.ndarray
    best: np.ndarray
    worst: np.ndarray
    ratio: np.ndarray
    points: np.ndarray
    missing: np.ndarray
    all_equal: np.ndarray
    clamped: np.ndarray
    out_of_bounds: np.ndarray

    @property
    def totals(self) -> np.ndarray:
        """The development block total of each unit."""
        totals: np.ndarray = self.points.sum(axis=1)
        return totals


def efficacy_scores(
    values: np.ndarray,
    indicators: Sequence[Indicator],
    base_share: float,
    when_all_equal: AllEqualPolicy = AllEqualPolicy.FULL,
    missing_value: MissingPolicy = MissingPolicy.ZERO,
) -> EfficacyScores:
    """Score a (units x indicators) matrix of one group; NaN marks a missing value.

    points = W * (b + (1 - b) * r), r = (x - worst) / (best - worst), where best and worst are
    the observed extremes of the group (or the plan's fixed bounds).
    """
    x = np.asarray(values, dtype=float)
    n_ind = x.shape[1]
    if n_ind != len(indicators):
        raise ValueError(f"{n_ind} value columns for {len(indicators)} indicators")
    weights = np.array([ind.points for ind in indicators], dtype=float)
    higher = np.array([ind.direction is Direction.HIGHER for ind in indicators], dtype=bool)
    has_bounds = np.array([ind.bounds is not None for ind in indicators], dtype=bool)
    clamp = has_bounds & np.array([ind.clamp for ind in indicators], dtype=bool)
    satisfactory = np.array(
        [ind.bounds.satisfactory if ind.bounds else np.nan for ind in indicators], dtype=float
    )
    unacceptable = np.array(
        [ind.bounds.unacceptable if ind.bounds else np.nan for ind in indicators], dtype=float
    )

    missing = np.isnan(x)
    # fmax/fmin skip NaN; the initial value marks a column nobody gave a value for.
    col_max: np.ndarray = np.fmax.reduce(x, axis=0, initial=-np.inf)
    col_min: np.ndarray = np.fmin.reduce(x, axis=0, initial=np.inf)
    nobody = np.isinf(col_max) & (col_max < 0)
    best: np.ndarray = np.where(higher, col_max, col_min)
    worst: np.ndarray = np.where(higher, col_min, col_max)
    best[nobody] = np.nan
    worst[nobody] = np.nan
    best[has_bounds] = satisfactory[has_bounds]
    worst[has_bounds] = unacceptable[has_bounds]

    span = best - worst
    all_equal = ~has_bounds & ~nobody & (span == 0)
    span[all_equal | nobody] = 1.0
    ratio = (x - worst) / span  # NaN where the value is missing
    if all_equal.any():
        equal_ratio = 1.0 if when_all_equal is AllEqualPolicy.FULL else 0.0
        ratio[:, all_equal] = np.where(missing[:, all_equal], np.nan, equal_ratio)
    clamped = np.zeros(x.shape, dtype=bool)
    out_of_bounds = np.zeros(x.shape, dtype=bool)
    if has_bounds.any():
        # Only columns with fixed bounds can leave [0, 1]; the observed extremes never do.
        bounded = ratio[:, has_bounds]
        outside = (bounded < 0) | (bounded > 1)
        clamp_cols = clamp[has_bounds]
        clamped[:, has_bounds] = outside & clamp_cols
        out_of_bounds[:, has_bounds] = outside & ~clamp_cols
        ratio[:, has_bounds] = np.where(clamp_cols, np.clip(bounded, 0.0, 1.0), bounded)

    points = weights * (base_share + (1.0 - base_share) * ratio)
    if missing.any():
        missing_points = weights * base_share if missing_value is MissingPolicy.BASE else 0.0
        points[missing] = np.broadcast_to(missing_points, x.shape)[missing]
    return EfficacyScores(
        values=x,
        best=best,
        worst=worst,
        ratio=ratio,
        points=points,
        missing=missing,
        all_equal=all_equal,
        clamped=clamped,
        out_of_bounds=out_of_bounds,
    )
