"""Ranks within each group (ties share, on totals rounded half up) and tiers (scoring.md 3)."""

from __future__ import annotations

import numpy as np
import pytest

from scoring import Grade, Group, score
from scoring.plan import TierBand, TierBasis, Tiers
from scoring.ranking import competition_ranks, tier_names
from scoring.rounding import round_half_up, round_half_up_array
from tests.factories import approved, department, grades, make_plan, town

E, G, F, P = Grade.EXCELLENT, Grade.GOOD, Grade.FAIR, Grade.POOR


def test_ties_share_a_rank_and_the_next_rank_is_skipped() -> None:
    assert competition_ranks(np.array([90.0, 80.0, 80.0, 70.0])).tolist() == [1, 2, 2, 4]


def test_ranks_follow_the_totals_whatever_the_input_order() -> None:
    assert competition_ranks(np.array([70.0, 95.0, 80.0, 95.0, 60.0])).tolist() == [4, 1, 3, 1, 5]


def test_totals_equal_after_rounding_to_two_decimals_tie() -> None:
    # 100.004 -> 100.00 and 100.001 -> 100.00: tie at rank 1; 99.996 -> 100.00 ties too
    ranks = competition_ranks(np.array([100.004, 100.001, 99.996, 99.994]))
    assert ranks.tolist() == [1, 1, 1, 4]


def test_rounding_half_up_separates_a_half_cent() -> None:
    # 100.005 -> 100.01 (half up) beats 100.004 -> 100.00
    assert competition_ranks(np.array([100.004, 100.005])).tolist() == [2, 1]


def test_no_totals_no_ranks() -> None:
    assert competition_ranks(np.array([])).tolist() == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [(2.675, 2.68), (1.005, 1.01), (0.125, 0.13), (-2.675, -2.68), (899.995, 900.0), (3.0, 3.0)],
)
def test_rounding_is_half_up_as_printed(value: float, expected: float) -> None:
    # 2.675 is stored as 2.67499999…; a person reading "2.675" expects 2.68
    assert round_half_up(value) == expected


def test_rounding_an_array_keeps_nan() -> None:
    out = round_half_up_array(np.array([1.234, np.nan]))
    assert out[0] == 1.23
    assert np.isnan(out[1])


# --- tiers by score share ---------------------------------------------------------------------


def test_tiers_by_score_share_of_a_thousand_for_towns() -> None:
    # shares: 900/1000 = 0.90 优秀; 899.99 -> 0.89999 良好; 800 -> 良好; 600 -> 一般; 599.99 较差
    totals = np.array([900.0, 899.99, 800.0, 600.0, 599.99])
    ranks = competition_ranks(totals)
    assert tier_names(Tiers(), totals, ranks, 1000.0) == ["优秀", "良好", "良好", "一般", "较差"]


def test_tier_share_is_taken_on_the_rounded_total() -> None:
    # 899.995 rounds half up to 900.00 -> share 0.9 -> 优秀
    totals = np.array([899.995])
    assert tier_names(Tiers(), totals, competition_ranks(totals), 1000.0) == ["优秀"]


def test_a_negative_total_falls_in_the_last_tier() -> None:
    totals = np.array([-5.0])
    assert tier_names(Tiers(), totals, competition_ranks(totals), 1000.0) == ["较差"]


def test_departments_are_tiered_out_of_four_hundred_and_bonus_can_pass_a_hundred_percent() -> None:
    # d1: 好 + 好 = 400, + 6 approved items = 60 -> 460, share 1.15 -> 优秀
    # d2: 较好 + 较好 = 320 -> 0.8 -> 良好
    # d3: 一般 + 一般 = 240 -> 0.6 -> 一般
    # d4: 差 + 差 = 160 -> 0.4 -> 较差
    plan = make_plan()
    units = [department(c) for c in ("d1", "d2", "d3", "d4")]
    records = []
    for code, g in zip(("d1", "d2", "d3", "d4"), (E, G, F, P), strict=True):
        records += grades(code, "key_work", "year", g) + grades(code, "basic_work", "year", g)
    s = score(plan, units, grades=records, bonus=approved("d1", 6))
    results = {r.code: r for r in s.group(Group.ZONE_OR_DEPARTMENT)}
    assert results["d1"].total == pytest.approx(460.0)
    assert results["d1"].share == pytest.approx(1.15)
    assert {c: r.tier for c, r in results.items()} == {
        "d1": "优秀",
        "d2": "良好",
        "d3": "一般",
        "d4": "较差",
    }
    assert plan.max_without_bonus(Group.ZONE_OR_DEPARTMENT) == 400.0
    assert plan.max_without_bonus(Group.TOWN) == 1000.0


# --- tiers by rank share ----------------------------------------------------------------------


RANK_TIERS = {
    "by": "rank_share",
    "bands": [
        {"name": "先进", "up_to": 0.25},
        {"name": "良好", "up_to": 0.75},
        {"name": "一般", "up_to": 1.0},
    ],
}


def test_tiers_by_rank_share_cut_the_ranking() -> None:
    # 8 units: first 25 % = ranks 1..2, up to 75 % = ranks 3..6, the rest 7..8
    tiers = Tiers(
        TierBasis.RANK_SHARE,
        (TierBand("先进", 0.25), TierBand("良好", 0.75), TierBand("一般", 1.0)),
    )
    totals = np.array([80.0, 70.0, 60.0, 50.0, 40.0, 30.0, 20.0, 10.0])
    names = tier_names(tiers, totals, competition_ranks(totals), 400.0)
    assert names == ["先进", "先进", "良好", "良好", "良好", "良好", "一般", "一般"]


def test_tied_units_share_a_rank_share_tier() -> None:
    # 4 units, first 25 % = rank 1; the two tied at rank 1 are both 先进
    tiers = Tiers(
        TierBasis.RANK_SHARE,
        (TierBand("先进", 0.25), TierBand("良好", 0.75), TierBand("一般", 1.0)),
    )
    totals = np.array([90.0, 90.0, 80.0, 70.0])
    names = tier_names(tiers, totals, competition_ranks(totals), 400.0)
    assert names == ["先进", "先进", "良好", "一般"]


def test_a_plan_with_rank_share_tiers_ranks_each_group_separately() -> None:
    # Towns: 4 -> 先进 up to rank floor(0.25*4) = 1, 良好 up to floor(0.75*4) = 3, 一般 the rest.
    # Departments: 2 -> 先进 up to rank floor(0.25*2) = 0 (empty), 良好 up to floor(0.75*2) = 1.
    plan = make_plan(tiers=RANK_TIERS)
    units = [town("t1"), town("t2"), town("t3"), town("t4"), department("d1"), department("d2")]
    records = []
    for code, g in zip(("t1", "t2", "t3", "t4", "d1", "d2"), (E, G, F, P, G, E), strict=True):
        records += grades(code, "key_work", "year", g)
    s = score(plan, units, grades=records)
    towns = [(r.code, r.rank, r.tier) for r in s.group(Group.TOWN)]
    assert towns == [("t1", 1, "先进"), ("t2", 2, "良好"), ("t3", 3, "良好"), ("t4", 4, "一般")]
    departments = [(r.code, r.rank, r.tier) for r in s.group(Group.ZONE_OR_DEPARTMENT)]
    assert departments == [("d2", 1, "良好"), ("d1", 2, "一般")]


QUARTER_TIERS = Tiers(
    TierBasis.RANK_SHARE,
    (TierBand("先进", 0.25), TierBand("良好", 0.75), TierBand("一般", 1.0)),
)


def _rank_tiers(totals: list[float], tiers: Tiers = QUARTER_TIERS) -> list[str]:
    array = np.array(totals)
    return tier_names(tiers, array, competition_ranks(array), 400.0)


def test_one_unit_alone_is_not_the_first_quarter() -> None:
    # n = 1: 先进 holds ranks <= floor(0.25) = 0, 良好 ranks <= floor(0.75) = 0: both empty.
    assert _rank_tiers([95.0]) == ["一般"]


def test_of_two_towns_neither_is_the_first_quarter() -> None:
    # n = 2: 先进 up to floor(0.5) = 0 (empty), 良好 up to floor(1.5) = 1, 一般 up to 2.
    assert _rank_tiers([90.0, 80.0]) == ["良好", "一般"]


def test_a_quota_is_a_ceiling_rounded_down() -> None:
    # n = 7: 先进 up to floor(1.75) = 1 (not ceil = 2), 良好 up to floor(5.25) = 5.
    totals = [70.0, 60.0, 50.0, 40.0, 30.0, 20.0, 10.0]
    assert _rank_tiers(totals) == ["先进", "良好", "良好", "良好", "良好", "一般", "一般"]


def test_units_tied_on_the_boundary_rank_may_exceed_the_quota() -> None:
    # n = 8: 先进 up to floor(2) = 2; ranks 1, 2, 2, 4 …: the two tied at rank 2 are both 先进,
    # three units where the quota says two.
    totals = [90.0, 80.0, 80.0, 70.0, 60.0, 50.0, 40.0, 30.0]
    assert _rank_tiers(totals)[:4] == ["先进", "先进", "先进", "良好"]


def test_a_tie_across_the_boundary_takes_the_better_band() -> None:
    # n = 4: 先进 up to floor(1) = 1; three units tied at rank 1 are all 先进; the fourth has
    # rank 4 > floor(3) = 3, so 良好 stays empty.
    assert _rank_tiers([90.0, 90.0, 90.0, 70.0]) == ["先进", "先进", "先进", "一般"]


def test_a_share_that_floating_point_writes_just_under_a_whole_count_keeps_it() -> None:
    # 0.29 * 100 is 28.999999999999996 in floating point: the quota is still 29 units.
    tiers = Tiers(TierBasis.RANK_SHARE, (TierBand("A", 0.29), TierBand("B", 1.0)))
    names = _rank_tiers([float(1000 - k) for k in range(100)], tiers)
    assert names.count("A") == 29
