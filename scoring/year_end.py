"""The year-end coefficient of each work item from its sources (scoring.md §2b).

`panel` is the raters' year-end mean (trimmed), `peer` the mean of the other units' votes
(trimmed alike), `rectification` the grade of the band the unit's on-time ratio reaches. For each
item, year_end = Σ wₛ·cₛ ÷ Σ wₛ over the sources that apply to the item and have data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.grading import period_means
from scoring.inputs import RectificationCount
from scoring.plan import YEAR_END, Grade, Work, YearEndSource

SOURCES: tuple[YearEndSource, ...] = tuple(YearEndSource)


@dataclass(frozen=True)
class YearEndScores:
    """Per unit (rows) and work item (columns), unless said otherwise.

    `sources[k]` is source `SOURCES[k]`'s coefficient, NaN where it does not apply or has no
    data; `combined` the year-end coefficient made of them (NaN: none has data). Rectification
    is per unit: `due`, `on_time`, `ratio` (NaN when nothing was due) and `grade` (the band's
    grade, None when nothing was due).
    """

    sources: np.ndarray  # (units, items, sources)
    combined: np.ndarray
    peer_votes: np.ndarray  # int
    peer_trimmed: np.ndarray  # bool
    no_peer: np.ndarray  # bool: peer applies to the item but nobody voted
    no_findings: np.ndarray  # bool: rectification applies but no finding was due
    due: np.ndarray  # (units,) int
    on_time: np.ndarray  # (units,) int
    ratio: np.ndarray  # (units,) float
    grade: tuple[Grade | None, ...]  # (units,)

    def source(self, source: YearEndSource) -> np.ndarray:
        """The coefficients of one source (units x items)."""
        return self.sources[:, :, SOURCES.index(source)]


def year_end_scores(
    work: Work,
    units: Sequence[str],
    panel: np.ndarray,
    peer_frame: pd.DataFrame,
    rectification: Sequence[RectificationCount],
) -> YearEndScores:
    """Combine the panel's year-end means (`panel`, units x items) with the peers' votes and the
    rectification ratios, as the plan's `work.year_end` weighs them."""
    year_end = work.year_end
    items = [item.code for item in work.items]
    shape = (len(units), len(items))
    peer, votes, trimmed = _peer(peer_frame, work, units, items)
    row_of = {code: i for i, code in enumerate(units)}
    due = np.zeros(len(units), dtype=int)
    on_time = np.zeros(len(units), dtype=int)
    for count in rectification:
        due[row_of[count.unit]] += count.due
        on_time[row_of[count.unit]] += count.rectified_on_time
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(due > 0, on_time / np.maximum(due, 1), np.nan)
    grades = tuple(
        None if math.isnan(r) else year_end.rectification_grade(float(r)) for r in ratio.tolist()
    )
    rect_coef = np.array(
        [np.nan if g is None else work.grades[g] for g in grades], dtype=float
    ).reshape(-1, 1) * np.ones((1, len(items)))

    given = {
        YearEndSource.PANEL: panel,
        YearEndSource.PEER: peer,
        YearEndSource.RECTIFICATION: rect_coef,
    }
    stacked = np.full((*shape, len(SOURCES)), np.nan)
    weights = np.zeros((len(items), len(SOURCES)))
    for k, source in enumerate(SOURCES):
        for j, item in enumerate(items):
            if year_end.applies(source, item):
                weights[j, k] = year_end.weight(source)
                stacked[:, j, k] = given[source][:, j]
    has = ~np.isnan(stacked)
    w = np.where(has, weights[None, :, :], 0.0)
    total_weight = w.sum(axis=2)
    weighted = np.where(has, stacked, 0.0) * w
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = weighted.sum(axis=2) / total_weight
    # One source alone is taken as it is, so that {panel: 1.0} (or any single source with
    # data) gives exactly the panel's mean, not w·c ÷ w rounded differently.
    alone = np.where(has, stacked, 0.0).sum(axis=2)
    count = has.sum(axis=2)
    combined = np.where(count == 0, np.nan, np.where(count == 1, alone, mean))

    peer_applies = weights[:, SOURCES.index(YearEndSource.PEER)] > 0
    rect_applies = weights[:, SOURCES.index(YearEndSource.RECTIFICATION)] > 0
    no_peer = peer_applies[None, :] & (votes == 0)
    no_findings = rect_applies[None, :] & (due == 0)[:, None]
    return YearEndScores(
        sources=stacked,
        combined=combined,
        peer_votes=votes,
        peer_trimmed=trimmed,
        no_peer=no_peer,
        no_findings=no_findings,
        due=due,
        on_time=on_time,
        ratio=ratio,
        grade=grades,
    )


def _peer(
    frame: pd.DataFrame, work: Work, units: Sequence[str], items: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mean of the peers' year-end votes (trimmed past `trim_above`), their number, and
    whether trimming dropped any, per unit and item."""
    shape = (len(units), len(items))
    if frame.empty:
        return np.full(shape, np.nan), np.zeros(shape, dtype=int), np.zeros(shape, dtype=bool)
    means = period_means(frame, work).reset_index()
    means = means[means["period"] == YEAR_END].set_index(["unit", "item"])
    index = pd.MultiIndex.from_product([list(units), list(items)], names=["unit", "item"])
    mean = means["mean"].reindex(index).to_numpy(dtype=float).reshape(shape)
    votes = means["raters"].reindex(index).fillna(0).to_numpy().astype(int).reshape(shape)
    trimmed = means["trimmed"].reindex(index).fillna(False).to_numpy().astype(bool).reshape(shape)
    return mean, votes, trimmed
