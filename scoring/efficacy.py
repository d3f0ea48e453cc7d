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
        return self.points.sum(axis=1)


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
    n_units, n_ind = x.shape
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
    if n_units:
        # Fill missing cells with ±inf so they never win max or min (and no all-NaN warnings).
        col_max = np.where(missing, -np.inf, x).max(axis=0)
        col_min = np.where(missing, np.inf, x).min(axis=0)
    else:
        col_max = np.full(n_ind, -np.inf)
        col_min = np.full(n_ind, np.inf)
    nobody = np.isinf(col_max)
    best = np.where(higher, col_max, col_min)
    worst = np.where(higher, col_min, col_max)
    best = np.where(nobody, np.nan, best)
    worst = np.where(nobody, np.nan, worst)
    best = np.where(has_bounds, satisfactory, best)
    worst = np.where(has_bounds, unacceptable, worst)

    span = best - worst
    all_equal = ~has_bounds & ~nobody & (span == 0)
    safe_span = np.where(all_equal | nobody, 1.0, span)
    ratio = (x - worst) / safe_span
    equal_ratio = 1.0 if when_all_equal is AllEqualPolicy.FULL else 0.0
    ratio = np.where(all_equal, equal_ratio, ratio)
    clipped = np.clip(ratio, 0.0, 1.0)
    clamped = clamp & ~missing & (clipped != ratio)
    ratio = np.where(clamp, clipped, ratio)
    out_of_bounds = has_bounds & ~clamp & ~missing & ((ratio < 0) | (ratio > 1))
    ratio = np.where(missing, np.nan, ratio)

    points = weights * (base_share + (1.0 - base_share) * ratio)
    missing_points = weights * base_share if missing_value is MissingPolicy.BASE else 0.0
    points = np.where(missing, np.broadcast_to(missing_points, x.shape), points)
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
