"""Properties of the engine on random input, and agreement with the pure-Python reference."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.reference import reference_efficacy
from scoring import BonusItem, Grade, GradeRecord, Group, score
from scoring.efficacy import efficacy_scores
from scoring.plan import (
    AllEqualPolicy,
    Bounds,
    Direction,
    Indicator,
    MissingPolicy,
    TierBand,
    TierBasis,
    Tiers,
)
from scoring.ranking import competition_ranks, tier_names
from scoring.rounding import round_half_up_array
from tests.factories import department, development, make_plan, town, values

FAST = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Some repeated values, so that ties, all-equal columns and lone reporters come up often.
value = st.one_of(
    st.none(),
    st.sampled_from([0.0, 1.0, 2.5, -3.0]),
    st.floats(min_value=-1000, max_value=1000, allow_nan=False, allow_infinity=False),
)


@st.composite
def indicators(draw: st.DrawFn, bounds: bool = True) -> Indicator:
    """A random indicator, with fixed bounds sometimes when `bounds`."""
    direction = draw(st.sampled_from([Direction.HIGHER, Direction.LOWER]))
    points = draw(st.sampled_from([5.0, 10.0, 33.0, 50.0, 100.0]))
    fixed = None
    if bounds and draw(st.booleans()):
        low = draw(st.floats(min_value=-100, max_value=100))
        high = low + draw(st.floats(min_value=0.01, max_value=100))
        fixed = Bounds(high, low) if direction is Direction.HIGHER else Bounds(low, high)
    code = f"i{draw(st.integers(0, 10**6))}"
    return Indicator(code, code, points, "c", "", direction, fixed, draw(st.booleans()))


Matrix = tuple[list[Indicator], np.ndarray]


@st.composite
def matrices(draw: st.DrawFn, bounds: bool = True) -> Matrix:
    """Random indicators and a (units x indicators) matrix of values, NaN = missing."""
    inds = draw(st.lists(indicators(bounds), min_size=1, max_size=4))
    n_units = draw(st.integers(1, 8))
    rows = draw(
        st.lists(
            st.lists(value, min_size=len(inds), max_size=len(inds)),
            min_size=n_units,
            max_size=n_units,
        )
    )
    matrix = np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=float)
    return inds, matrix


base_shares = st.sampled_from([0.0, 0.6, 0.7, 1.0]) | st.floats(min_value=0, max_value=1)


@FAST
@given(matrices(bounds=False), base_shares)
def test_without_targets_every_reported_value_scores_between_base_and_full(
    data: Matrix, b: float
) -> None:
    inds, x = data
    e = efficacy_scores(x, inds, b)
    for k, ind in enumerate(inds):
        for i in range(x.shape[0]):
            if not np.isnan(x[i, k]):
                assert b * ind.points - 1e-9 <= e.points[i, k] <= ind.points + 1e-9


@FAST
@given(matrices(), base_shares)
def test_points_rise_with_the_value_or_fall_for_lower_is_better(data: Matrix, b: float) -> None:
    inds, x = data
    e = efficacy_scores(x, inds, b)
    for k, ind in enumerate(inds):
        present = [i for i in range(x.shape[0]) if not np.isnan(x[i, k])]
        for i in present:
            for j in present:
                better = (
                    x[i, k] > x[j, k] if ind.direction is Direction.HIGHER else x[i, k] < x[j, k]
                )
                if better:
                    assert e.points[i, k] >= e.points[j, k]


def same_flags(engine: tuple[str, ...], reference: tuple[str, ...], missing: bool) -> bool:
    """Flags agree; on a missing value only `missing` is compared (all_equal there is tested
    separately in test_efficacy)."""
    if missing:
        return "missing" in engine and reference == ("missing",)
    return set(engine) == set(reference)


@FAST
@given(
    matrices(),
    base_shares,
    st.sampled_from(list(AllEqualPolicy)),
    st.sampled_from(list(MissingPolicy)),
)
def test_the_engine_agrees_with_the_reference(
    data: Matrix, b: float, all_equal: AllEqualPolicy, missing: MissingPolicy
) -> None:
    inds, x = data
    e = efficacy_scores(x, inds, b, all_equal, missing)
    ref = reference_efficacy(x.tolist(), inds, b, all_equal, missing)
    for i in range(x.shape[0]):
        for k in range(len(inds)):
            assert math.isclose(e.points[i, k], ref.points[i][k], rel_tol=1e-9, abs_tol=1e-9)
            engine_flags = tuple(
                name
                for name, on in (
                    ("missing", e.missing[i, k]),
                    ("all_equal", e.all_equal[k]),
                    ("clamped", e.clamped[i, k]),
                    ("out_of_bounds", e.out_of_bounds[i, k]),
                )
                if on
            )
            assert same_flags(engine_flags, ref.flags[i][k], bool(np.isnan(x[i, k])))
    for got, want in zip(e.totals, ref.totals(), strict=True):
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)


def as_yaml(ind: Indicator) -> dict[str, Any]:
    """The plan-file data of an indicator."""
    data: dict[str, Any] = {
        "code": ind.code,
        "name": ind.name,
        "points": ind.points,
        "direction": ind.direction.value,
        "clamp": ind.clamp,
    }
    if ind.bounds is not None:
        data["bounds"] = {
            "satisfactory": ind.bounds.satisfactory,
            "unacceptable": ind.bounds.unacceptable,
        }
    return data


@FAST
@given(matrices(), st.sampled_from([0.6, 0.7]))
def test_the_whole_engine_agrees_with_the_reference_through_json(data: Matrix, b: float) -> None:
    inds, x = data
    # Codes must be unique in a plan; renumber them.
    inds = [
        Indicator(f"i{k}", f"i{k}", ind.points, "only", "", ind.direction, ind.bounds, ind.clamp)
        for k, ind in enumerate(inds)
    ]
    plan = make_plan(development=development(*(as_yaml(i) for i in inds), base_share=b))
    units = [town(f"t{i}") for i in range(x.shape[0])]
    rows = {
        u.code: {
            ind.code: (None if np.isnan(v) else float(v)) for ind, v in zip(inds, row, strict=True)
        }
        for u, row in zip(units, x, strict=True)
    }
    doc = score(plan, units, values(rows, [i.code for i in inds])).to_json()
    ref = reference_efficacy(x.tolist(), plan.development.indicators, b)
    by_unit = {entry["unit"]: entry for entry in doc["groups"]["town"]}
    for i, unit in enumerate(units):
        entry = by_unit[unit.code]
        for k, ind in enumerate(inds):
            assert math.isclose(
                entry["indicators"][ind.code]["points"], ref.points[i][k], abs_tol=1e-9
            )
        assert math.isclose(entry["development"], ref.totals()[i], rel_tol=1e-9, abs_tol=1e-9)


totals = st.lists(
    st.one_of(
        st.sampled_from([100.0, 100.004, 100.001, 100.005, 99.995, 0.0]),
        st.floats(min_value=-100, max_value=1060, allow_nan=False),
    ),
    max_size=12,
)


@FAST
@given(totals)
def test_ranks_agree_with_rounded_totals(raw: list[float]) -> None:
    t = np.array(raw, dtype=float)
    ranks = competition_ranks(t)
    rounded = round_half_up_array(t)
    for i in range(len(t)):
        assert ranks[i] == 1 + int((rounded > rounded[i]).sum())
        for j in range(len(t)):
            if rounded[i] > rounded[j]:
                assert ranks[i] < ranks[j]
            elif rounded[i] == rounded[j]:
                assert ranks[i] == ranks[j]


grade = st.sampled_from(list(Grade))


@FAST
@given(
    st.lists(
        st.tuples(grade, grade, st.integers(0, 9), st.integers(0, 3)), min_size=1, max_size=8
    ),
    st.sampled_from([5.0, 10.0, 15.0]),
    st.sampled_from([0.0, 20.0, 60.0]),
)
def test_ranks_follow_totals_and_bonus_never_passes_its_cap(
    units: list[tuple[Grade, Grade, int, int]], per_item: float, cap: float
) -> None:
    plan = make_plan(bonus={"points_per_item": per_item, "cap": cap})
    people = [department(f"d{n}") for n in range(len(units))]
    records: list[GradeRecord] = []
    bonus: list[BonusItem] = []
    for unit, (key, basic, n_approved, n_refused) in zip(people, units, strict=True):
        records.append(GradeRecord(unit.code, "key_work", "year", "r1", key))
        records.append(GradeRecord(unit.code, "basic_work", "Q1", "r1", basic))
        bonus += [BonusItem(unit.code, f"ok{m}", True) for m in range(n_approved)]
        bonus += [BonusItem(unit.code, f"no{m}", False) for m in range(n_refused)]
    s = score(plan, people, grades=records, bonus=bonus)
    results = s.group(Group.ZONE_OR_DEPARTMENT)
    for r, (_, _, n_approved, _) in zip((s.result(u.code) for u in people), units, strict=True):
        assert r.bonus <= cap
        assert r.bonus == min(cap, n_approved * per_item)
    rounded = [float(round_half_up_array(np.array([r.total]))[0]) for r in results]
    assert rounded == sorted(rounded, reverse=True)
    for a in results:
        for b in results:
            ra = float(round_half_up_array(np.array([a.total]))[0])
            rb = float(round_half_up_array(np.array([b.total]))[0])
            if ra > rb:
                assert a.rank < b.rank
            elif ra == rb:
                assert a.rank == b.rank


@FAST
@given(
    totals=st.lists(st.sampled_from([10.0, 20.0, 30.0, 40.0, 50.0]), min_size=1, max_size=30),
    quota=st.floats(min_value=0.01, max_value=0.99),
)
def test_a_rank_share_quota_is_exceeded_only_by_units_tied_on_its_boundary(
    totals: list[float], quota: float
) -> None:
    array = np.array(totals)
    ranks = competition_ranks(array)
    tiers = Tiers(TierBasis.RANK_SHARE, (TierBand("A", quota), TierBand("B", 1.0)))
    names = tier_names(tiers, array, ranks, 100.0)
    inside = [r for r, name in zip(ranks.tolist(), names, strict=True) if name == "A"]
    limit = math.floor(quota * len(totals) + 1e-9)
    # Every unit ranked within the quota is in, no unit ranked past it is.
    assert all(r <= limit for r in inside)
    assert len(inside) == sum(1 for r in ranks.tolist() if r <= limit)
    if inside:
        # Beyond the quota only by ties: without the units of the last rank inside, it holds.
        last = max(inside)
        assert len([r for r in inside if r < last]) < limit or limit == 0
