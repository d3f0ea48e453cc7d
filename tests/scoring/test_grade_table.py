"""The engine's grades by codes (GradeTable) give what the frame path gives, to the last bit.

The frame path (pandas group-bys on the text columns) is the definition; the table path groups
by integer codes for speed (issue 12). Both run on the same random input here: the same
problems in the same order, or the same floats everywhere.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring import GradeColumns, GradeRecord, InputError, Standings, parse_plan, score
from scoring.grading import GradeTable, grades_frame
from scoring.plan import Grade, Plan, YearEndSource
from tests.factories import department, plan_data, town

UNITS = [town("a"), town("b"), town("c"), department("d"), department("e")]
PANEL, PEER = YearEndSource.PANEL, YearEndSource.PEER

FAST = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def plan(peers: bool, trim_above: int) -> Plan:
    """The default plan, with peers weighed or not, trimming past `trim_above` raters; grade
    coefficients whose sums round (0.7 + 0.7 + 0.7 + 0.6 is not 2.7 in every order)."""
    data = plan_data(
        work={
            "trim_above": trim_above,
            "grades": {"excellent": 1.0, "good": 0.7, "fair": 0.6, "poor": 0.1},
        }
    )
    if peers:
        data["work"]["year_end"] = {"sources": {"panel": 0.6, "peer": 0.3, "rectification": 0.1}}
    return parse_plan(data)


grade_records = st.lists(
    st.builds(
        GradeRecord,
        unit=st.sampled_from(["a", "b", "c", "d", "e"]),
        item=st.sampled_from(["key_work", "basic_work"]),
        period=st.sampled_from(["Q1", "Q2", "Q3", "Q4", "year"]),
        rater=st.sampled_from([f"r{k}" for k in range(8)] + ["a", "b", "d"]),
        grade=st.sampled_from(list(Grade)),
        source=st.sampled_from([PANEL, PANEL, PANEL, PEER]),
    ),
    max_size=120,
)


def by_frame(*args: Any) -> Standings:
    """Score by the frame path (the table said not plain)."""
    with mock.patch.object(GradeTable, "plain", property(lambda self: False)):
        return score(*args)


def outcome(run: Any, *args: Any) -> Standings | list[Any]:
    """The standings, or the problems raised."""
    try:
        return run(*args)  # type: ignore[no-any-return]
    except InputError as exc:
        return list(exc.problems)


def assert_identical(a: Standings, b: Standings) -> None:
    """Every array of the two standings equal bit for bit, and every explanation equal."""
    pairs: list[tuple[Any, Any]] = [
        (a.totals, b.totals),
        (a.ranks, b.ranks),
        (a.work.daily, b.work.daily),
        (a.work.year_end, b.work.year_end),
        (a.work.coef, b.work.coef),
        (a.work.quarters, b.work.quarters),
        (a.work.trimmed, b.work.trimmed),
        (a.work.points, b.work.points),
        (a.work.sources.sources, b.work.sources.sources),
        (a.work.sources.peer_votes, b.work.sources.peer_votes),
    ]
    for x, y in pairs:
        assert x.dtype == y.dtype
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f")
    assert a.tiers == b.tiers
    assert a.work.frame.equals(b.work.frame)
    for unit in a.units:
        assert a.explain(unit.code) == b.explain(unit.code)


@FAST
@given(records=grade_records, peers=st.booleans(), trim_above=st.sampled_from([2, 3, 5]))
def test_the_table_path_scores_as_the_frame_path(
    records: list[GradeRecord], peers: bool, trim_above: int
) -> None:
    args = (plan(peers, trim_above), UNITS, None, records)
    table, frame = outcome(score, *args), outcome(by_frame, *args)
    if isinstance(frame, list):
        assert table == frame  # the same problems, in the same order
    else:
        assert isinstance(table, Standings)
        assert_identical(table, frame)


def test_columns_and_records_give_the_same_table_result() -> None:
    records = [
        GradeRecord("a", "key_work", q, r, g)
        for q in ("Q1", "Q2", "Q3", "Q4", "year")
        for r, g in (("r1", Grade.GOOD), ("r2", Grade.GOOD), ("r3", Grade.FAIR))
    ]
    columns = GradeColumns(
        unit=[r.unit for r in records],
        item=[r.item for r in records],
        period=[r.period for r in records],
        rater=[r.rater for r in records],
        grade=[r.grade.value for r in records],
        source=[r.source.value for r in records],
    )
    p = plan(False, 5)
    assert_identical(score(p, UNITS, grades=records), score(p, UNITS, grades=columns))
    assert_identical(score(p, UNITS, grades=columns), by_frame(p, UNITS, None, columns))


def test_the_table_frame_is_grades_frame() -> None:
    records = [
        GradeRecord("a", "key_work", "Q1", "r1", Grade.GOOD),
        GradeRecord("b", "basic_work", "year", "a", Grade.POOR, PEER),
    ]
    assert GradeTable.of(records).frame().equals(grades_frame(records))
    assert GradeTable.of([]).frame().equals(grades_frame([]))


def test_a_missing_cell_takes_the_frame_path_and_is_reported() -> None:
    columns = GradeColumns(
        unit=["a", None],  # type: ignore[list-item]
        item=["key_work", "key_work"],
        period=["Q1", "Q1"],
        rater=["r1", "r2"],
        grade=["good", "good"],
        source=["panel", "panel"],
    )
    assert not GradeTable.of(columns).plain
    with pytest.raises(InputError) as raised:
        score(plan(False, 5), UNITS, grades=columns)
    assert [p.code for p in raised.value.problems] == ["unknown_unit"]
