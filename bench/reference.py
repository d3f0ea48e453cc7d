"""A straightforward per-cell pure-Python efficacy scoring (功效系数法), written from scoring.md 1.

It loops over indicators and units with Python floats and no numpy. It is the baseline of the
speed benchmark and the oracle the property tests hold the engine to; it shares no code with
scoring/efficacy.py on purpose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scoring.plan import Indicator

NO_FLAGS: tuple[str, ...] = ()
MISSING: tuple[str, ...] = ("missing",)


@dataclass(frozen=True)
class ReferenceScores:
    """Per unit (outer list) and indicator (inner list): points, ratio r and flags."""

    points: list[list[float]]
    ratios: list[list[float | None]]
    flags: list[list[tuple[str, ...]]]
    best: list[float | None]
    worst: list[float | None]

    def totals(self) -> list[float]:
        """The development block total of each unit."""
        return [sum(row) for row in self.points]


def _is_missing(x: float | None) -> bool:
    return x is None or x != x  # NaN is the only float unequal to itself


def reference_efficacy(
    rows: Sequence[Sequence[float | None]],
    indicators: Sequence[Indicator],
    base_share: float,
    when_all_equal: str = "full",
    missing_value: str = "zero",
) -> ReferenceScores:
    """Score `rows` (one list of values per unit, None or NaN = missing) indicator by indicator."""
    n_units = len(rows)
    b = base_share
    points = [[0.0] * len(indicators) for _ in range(n_units)]
    ratios: list[list[float | None]] = [[None] * len(indicators) for _ in range(n_units)]
    flags = [[NO_FLAGS] * len(indicators) for _ in range(n_units)]
    bests: list[float | None] = []
    worsts: list[float | None] = []
    for k, ind in enumerate(indicators):
        w = ind.points
        higher = ind.direction == "higher"
        # Best and worst: the plan's fixed bounds, or the extremes of those who reported.
        best: float | None = None
        worst: float | None = None
        if ind.bounds is not None:
            best, worst = ind.bounds.satisfactory, ind.bounds.unacceptable
        else:
            for i in range(n_units):
                x = rows[i][k]
                if _is_missing(x):
                    continue
                assert x is not None
                if best is None or (x > best if higher else x < best):
                    best = x
                if worst is None or (x < worst if higher else x > worst):
                    worst = x
        bests.append(best)
        worsts.append(worst)
        all_equal = ind.bounds is None and best is not None and best == worst
        for i in range(n_units):
            x = rows[i][k]
            if _is_missing(x):
                points[i][k] = w * b if missing_value == "base" else 0.0
                flags[i][k] = MISSING
                continue
            assert x is not None and best is not None and worst is not None
            cell_flags = NO_FLAGS
            if all_equal:
                r = 1.0 if when_all_equal == "full" else 0.0
                cell_flags = ("all_equal",)
            else:
                r = (x - worst) / (best - worst)
                if ind.bounds is not None and (r < 0.0 or r > 1.0):
                    if ind.clamp:
                        r = 0.0 if r < 0.0 else 1.0
                        cell_flags = ("clamped",)
                    else:
                        cell_flags = ("out_of_bounds",)
            ratios[i][k] = r
            points[i][k] = w * (b + (1.0 - b) * r)
            flags[i][k] = cell_flags
    return ReferenceScores(points, ratios, flags, bests, worsts)
