"""Ranks within a group (ties share a rank) and tiers by score share or rank share."""

from __future__ import annotations

import math

import numpy as np

from scoring.plan import TierBasis, Tiers
from scoring.rounding import round_half_up_array


def competition_ranks(totals: np.ndarray) -> np.ndarray:
    """Rank totals from the highest, on values rounded to 2 decimals; ties share (1, 2, 2, 4)."""
    rounded = round_half_up_array(np.asarray(totals, dtype=float))
    if rounded.size == 0:
        return np.empty(0, dtype=int)
    # A unit's rank is one more than the number of units with a strictly higher total.
    order = np.sort(rounded)
    higher = rounded.size - np.searchsorted(order, rounded, side="right")
    return (higher + 1).astype(int)


def tier_names(
    tiers: Tiers, totals: np.ndarray, ranks: np.ndarray, max_without_bonus: float
) -> list[str]:
    """The tier of each unit of one group."""
    n = len(totals)
    if tiers.by is TierBasis.SCORE_SHARE:
        shares = round_half_up_array(np.asarray(totals, dtype=float)) / max_without_bonus
        thresholds = np.array([band.threshold for band in tiers.bands])
        reached = shares[:, None] >= thresholds[None, :] - 1e-12
        # The first band reached; a negative total (possible with clamp: false) is in the last.
        index = np.where(reached.any(axis=1), reached.argmax(axis=1), len(tiers.bands) - 1)
        return [tiers.bands[i].name for i in index]
    # By rank share: a quota is a ceiling. The band of cumulative share p holds the units
    # ranked within the first floor(p * n); units tied on the boundary rank all share it, and
    # a group too small for a band leaves it empty (one unit alone is not "the first 25 %").
    # The epsilon keeps a share such as 0.29 of 100 (28.999…96 in floating point) at 29.
    limits = [math.floor(band.threshold * n + 1e-9) for band in tiers.bands]
    result = []
    for rank in ranks:
        name = tiers.bands[-1].name
        for band, limit in zip(tiers.bands, limits, strict=True):
            if rank <= limit:
                name = band.name
                break
        result.append(name)
    return result


def score_shares(totals: np.ndarray, max_without_bonus: float) -> np.ndarray:
    """Each total as a share of the group's maximum without bonus."""
    return np.asarray(totals, dtype=float) / max_without_bonus
