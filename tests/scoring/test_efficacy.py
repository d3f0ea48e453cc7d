"""Development effectiveness by the efficacy coefficient method (功效系数法), worked by hand.

points = W * (b + (1 - b) * r), r = (x - worst) / (best - worst)   (scoring.md section 1)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from scoring import Standings, score
from scoring.efficacy import efficacy_scores
from scoring.explanation import IndicatorExplanation
from scoring.plan import AllEqualPolicy, MissingPolicy
from tests.factories import column, department, development, indicator, make_plan, town, values


def scored(
    ind: dict[str, Any], settings: dict[str, Any] | None = None, **by_unit: float | None
) -> Standings:
    """Score towns named by the keywords on one indicator; return the standings."""
    plan = make_plan(development=development(ind, **(settings or {})))
    units = [town(code) for code in by_unit]
    return score(plan, units, column(ind["code"], **by_unit))


def points(standings: Standings, indicator_code: str) -> dict[str, float]:
    """Each town's points on one indicator."""
    out = {}
    for unit in standings.units:
        for ind in standings.explain(unit.code).indicators:
            if ind.code == indicator_code:
                out[unit.code] = ind.points
    return out


def explained(standings: Standings, unit: str, indicator_code: str) -> IndicatorExplanation:
    """One town's explanation of one indicator."""
    return next(i for i in standings.explain(unit).indicators if i.code == indicator_code)


# --- the formula, direction and extremes ------------------------------------------------------


def test_higher_is_better_scores_from_base_to_full_points() -> None:
    # best = max = 9, worst = min = 5, W = 50, b = 0.70
    # a: r = (5-5)/(9-5) = 0    -> 50*(0.7 + 0.3*0)   = 35
    # b: r = (7-5)/(9-5) = 0.5  -> 50*(0.7 + 0.3*0.5) = 42.5
    # c: r = (9-5)/(9-5) = 1    -> 50*(0.7 + 0.3*1)   = 50
    s = scored(indicator("gdp", 50), a=5.0, b=7.0, c=9.0)
    assert points(s, "gdp") == pytest.approx({"a": 35.0, "b": 42.5, "c": 50.0})


def test_lower_is_better_takes_min_as_best_and_max_as_worst() -> None:
    # best = min = 30, worst = max = 60, W = 50
    # a: r = (30-60)/(30-60) = 1     -> 50
    # b: r = (45-60)/(30-60) = 0.5   -> 50*(0.7 + 0.15) = 42.5
    # c: r = (60-60)/(30-60) = 0     -> 35
    s = scored(indicator("pm25", 50, "lower"), a=30.0, b=45.0, c=60.0)
    assert points(s, "pm25") == pytest.approx({"a": 50.0, "b": 42.5, "c": 35.0})
    a = explained(s, "a", "pm25")
    assert (a.best, a.worst, a.ratio) == (30.0, 60.0, 1.0)


def test_negative_growth_needs_no_special_case() -> None:
    # best = 5, worst = -3, span 8, W = 40
    # a: r = (-3+3)/8 = 0    -> 40*0.7              = 28
    # b: r = (-1+3)/8 = 0.25 -> 40*(0.7 + 0.3*0.25) = 40*0.775 = 31
    # c: r = (5+3)/8  = 1    -> 40
    s = scored(indicator("growth", 40), a=-3.0, b=-1.0, c=5.0)
    assert points(s, "growth") == pytest.approx({"a": 28.0, "b": 31.0, "c": 40.0})


def test_base_share_comes_from_the_plan() -> None:
    # b = 0.60: 5 -> 50*0.6 = 30, 7 -> 50*(0.6 + 0.4*0.5) = 40, 9 -> 50
    s = scored(indicator("gdp", 50), {"base_share": 0.6}, a=5.0, b=7.0, c=9.0)
    assert points(s, "gdp") == pytest.approx({"a": 30.0, "b": 40.0, "c": 50.0})


def test_best_and_worst_come_from_the_towns_only() -> None:
    # The department has no development block; best = 9, worst = 5 from the two towns.
    plan = make_plan(development=development(indicator("gdp", 50)))
    s = score(plan, [town("a"), town("c"), department("d")], column("gdp", a=5.0, c=9.0))
    a = explained(s, "a", "gdp")
    assert (a.best, a.worst, a.points) == (9.0, 5.0, 35.0)
    assert s.result("d").development == 0.0
    assert s.explain("d").indicators == ()


def test_block_total_is_the_sum_over_indicators() -> None:
    # gdp (W 50): a r=0 -> 35, b r=1 -> 50
    # pm25 (W 30, lower): a 20 is best -> 30, b 40 is worst -> 30*0.7 = 21
    # a: 35 + 30 = 65; b: 50 + 21 = 71
    plan = make_plan(development=development(indicator("gdp", 50), indicator("pm25", 30, "lower")))
    v = values({"a": {"gdp": 5.0, "pm25": 20.0}, "b": {"gdp": 9.0, "pm25": 40.0}})
    s = score(plan, [town("a"), town("b")], v)
    assert s.result("a").development == pytest.approx(65.0)
    assert s.result("b").development == pytest.approx(71.0)


# --- fixed bounds -----------------------------------------------------------------------------


def test_fixed_bounds_with_clamp_give_full_points_beyond_satisfactory_and_flag_it() -> None:
    # energy intensity, lower, satisfactory 0.4, unacceptable 0.9, W = 50, clamp true
    # a 0.30: r = (0.30-0.9)/(0.4-0.9) = -0.6/-0.5 = 1.2 -> clamped to 1 -> 50, flag clamped
    # b 0.65: r = (0.65-0.9)/(-0.5) = 0.5 -> 50*(0.7 + 0.15) = 42.5
    # c 1.00: r = (1.00-0.9)/(-0.5) = -0.2 -> clamped to 0 -> 35, flag clamped
    ind = indicator("energy", 50, "lower", bounds=(0.4, 0.9), clamp=True)
    s = scored(ind, a=0.30, b=0.65, c=1.00)
    assert points(s, "energy") == pytest.approx({"a": 50.0, "b": 42.5, "c": 35.0})
    a, b, c = (explained(s, u, "energy") for u in "abc")
    assert (a.best, a.worst) == (0.4, 0.9)
    assert a.ratio == pytest.approx(1.0)
    assert a.flags == ("clamped",)
    assert b.flags == ()
    assert c.flags == ("clamped",)
    assert a.fixed_bounds


def test_fixed_bounds_without_clamp_score_under_the_base_below_unacceptable() -> None:
    # higher, satisfactory 10, unacceptable 0, W = 50, clamp false
    # a -2: r = (-2-0)/(10-0) = -0.2 -> 50*(0.7 - 0.06) = 32 < b*W = 35, flag out_of_bounds
    # b 12: r = 1.2 -> 50*(0.7 + 0.36) = 53 > W, flag out_of_bounds
    # c  5: r = 0.5 -> 42.5, no flag
    ind = indicator("gdp", 50, bounds=(10.0, 0.0), clamp=False)
    s = scored(ind, a=-2.0, b=12.0, c=5.0)
    assert points(s, "gdp") == pytest.approx({"a": 32.0, "b": 53.0, "c": 42.5})
    assert explained(s, "a", "gdp").flags == ("out_of_bounds",)
    assert explained(s, "b", "gdp").flags == ("out_of_bounds",)
    assert explained(s, "c", "gdp").flags == ()


def test_fixed_bounds_ignore_the_observed_extremes() -> None:
    # With bounds 10/0, a single town at 5 scores r = 0.5 -> 42.5, not the all-equal full 50.
    s = scored(indicator("gdp", 50, bounds=(10.0, 0.0)), a=5.0)
    assert points(s, "gdp") == pytest.approx({"a": 42.5})
    assert explained(s, "a", "gdp").flags == ()


# --- all values equal -------------------------------------------------------------------------


def test_all_equal_values_score_full_points_by_default() -> None:
    # best == worst == 4: when_all_equal full -> r = 1 -> 50 for both
    s = scored(indicator("gdp", 50), a=4.0, b=4.0)
    assert points(s, "gdp") == {"a": 50.0, "b": 50.0}
    assert "all_equal" in explained(s, "a", "gdp").flags


def test_all_equal_values_score_the_base_under_the_base_policy() -> None:
    # when_all_equal base -> r = 0 -> 50*0.7 = 35
    s = scored(indicator("gdp", 50), {"when_all_equal": "base"}, a=4.0, b=4.0)
    assert points(s, "gdp") == pytest.approx({"a": 35.0, "b": 35.0})


@pytest.mark.parametrize(("policy", "expected"), [("full", 50.0), ("base", 35.0)])
def test_a_town_alone_counts_as_all_equal(policy: str, expected: float) -> None:
    # One town: best == worst == its value. full -> 50, base -> 50*0.7 = 35
    s = scored(indicator("gdp", 50), {"when_all_equal": policy}, a=6.5)
    assert points(s, "gdp") == pytest.approx({"a": expected})
    assert "all_equal" in explained(s, "a", "gdp").flags


# --- missing values ---------------------------------------------------------------------------


def test_a_missing_value_scores_zero_and_takes_no_part_in_best_and_worst() -> None:
    # b missing: best 9, worst 5 from a and c only (b taken as 0 would make a's r = 5/9).
    # a -> 35, c -> 50, b -> 0 with flag missing
    s = scored(indicator("gdp", 50), a=5.0, b=None, c=9.0)
    assert points(s, "gdp") == pytest.approx({"a": 35.0, "b": 0.0, "c": 50.0})
    b = explained(s, "b", "gdp")
    assert b.value is None
    assert b.ratio is None
    assert b.flags == ("missing",)
    assert (b.best, b.worst) == (9.0, 5.0)
    assert "missing_values" in s.result("b").flags


def test_a_missing_value_scores_the_base_under_the_base_policy() -> None:
    # missing_value base: b -> 50*0.7 = 35, still flagged missing
    s = scored(indicator("gdp", 50), {"missing_value": "base"}, a=5.0, b=None, c=9.0)
    assert points(s, "gdp") == pytest.approx({"a": 35.0, "b": 35.0, "c": 50.0})
    assert explained(s, "b", "gdp").flags == ("missing",)


def test_a_town_absent_from_the_values_is_missing_everywhere() -> None:
    plan = make_plan(development=development(indicator("gdp", 50)))
    s = score(plan, [town("a"), town("b")], column("gdp", a=5.0))
    b = explained(s, "b", "gdp")
    assert (b.value, b.points) == (None, 0.0)
    assert "missing" in b.flags
    # a is alone among those with a value: all equal, full points
    assert explained(s, "a", "gdp").points == 50.0


def test_the_all_equal_flag_stays_off_a_missing_value() -> None:
    # a and b are equal (full points, flag all_equal); c gave no figure: it scored 0, not by
    # the all-equal rule, so its only flag is missing.
    s = scored(indicator("gdp", 50), a=4.0, b=4.0, c=None)
    assert explained(s, "a", "gdp").flags == ("all_equal",)
    assert explained(s, "c", "gdp").flags == ("missing",)


def test_an_indicator_nobody_reported_has_no_best_or_worst() -> None:
    s = scored(indicator("gdp", 50), a=None, b=None)
    a = explained(s, "a", "gdp")
    assert (a.best, a.worst, a.ratio, a.points) == (None, None, None, 0.0)


# --- the matrix function directly -------------------------------------------------------------


def test_efficacy_scores_work_column_by_column() -> None:
    # Column 0 (gdp, W 50, higher): 5, 9, NaN -> 35, 50, 0 (missing)
    # Column 1 (pm25, W 30, lower): 20, 40, 30 -> r 1, 0, 0.5 -> 30, 21, 30*(0.7+0.15) = 25.5
    plan = make_plan(development=development(indicator("gdp", 50), indicator("pm25", 30, "lower")))
    x = np.array([[5.0, 20.0], [9.0, 40.0], [np.nan, 30.0]])
    e = efficacy_scores(x, plan.development.indicators, 0.7)
    np.testing.assert_allclose(e.points, [[35.0, 30.0], [50.0, 21.0], [0.0, 25.5]])
    assert e.totals.tolist() == pytest.approx([65.0, 71.0, 25.5])
    assert e.best.tolist() == [9.0, 20.0]
    assert e.worst.tolist() == [5.0, 40.0]
    assert e.missing.tolist() == [[False, False], [False, False], [True, False]]


def test_efficacy_scores_of_no_towns_are_empty() -> None:
    plan = make_plan()
    e = efficacy_scores(np.empty((0, 12)), plan.development.indicators, 0.7)
    assert e.points.shape == (0, 12)
    assert e.totals.shape == (0,)


def test_efficacy_scores_policies_are_arguments() -> None:
    plan = make_plan(development=development(indicator("gdp", 50)))
    x = np.array([[4.0], [4.0], [np.nan]])
    e = efficacy_scores(
        x, plan.development.indicators, 0.7, AllEqualPolicy.BASE, MissingPolicy.BASE
    )
    # all equal, base policy -> 35; missing, base policy -> 35
    assert e.points[:, 0].tolist() == pytest.approx([35.0, 35.0, 35.0])


# --- published textbook examples (b = 0.6: d = 60 + 40 * r on a 100-point scale) ----------------


def test_textbook_single_indicator_below_the_unacceptable_value() -> None:
    # Source: 统计师 exam question, question bank page
    # http://222.198.130.40:8081/view/Subject/showsubject.aspx?id=1c13cd4fae1f452c8701976b21b4b93f
    # 工业总资产贡献率 5.81 %, 满意值 12 %, 不允许值 6 %;
    # answer C: d = (5.81-6)/(12-6)*40+60 = 58.73.
    # By hand: r = -0.19/6 = -0.0316667; 60 + 40*r = 60 - 1.26667 = 58.73333
    ind = indicator("asset_return", 100, bounds=(12.0, 6.0), clamp=False)
    s = scored(ind, {"base_share": 0.6}, a=5.81)
    d = explained(s, "a", "asset_return")
    assert d.points == pytest.approx(60 + 40 * (5.81 - 6) / (12 - 6), abs=1e-12)
    assert round(d.points, 2) == 58.73
    assert d.flags == ("out_of_bounds",)


def test_textbook_two_regions_weighted_efficacy_coefficients() -> None:
    # Source: 统计师 exam question, 表2-9 / 表2-10, "已知甲乙两个地区的经济效益指标及相关资料",
    # https://app.ixiawen.com/question/26698109/9fedab9581f8001e612b27ca5859d74e.html
    # (also https://www.ppkao.com/shiti/5674490/); answer A: 83.47 and 76.08.
    #
    # indicator              满意值  不允许值 权数   甲         乙
    # 总资产贡献率 %            12      6      33    9.60       6.92
    # 资本保值增值率 %          150    100      26  120.67     113.23
    # 流动资产周转率 次/年        2      1      25    1.76       1.59
    # 工业全员劳动生产率 元/人  50000  15000     16  34956.03   44551.24
    #
    # d = (x - 不允许值) / (满意值 - 不允许值) * 40 + 60 (表2-10):
    # 甲: 3.6/6*40+60 = 84.00; 20.67/50*40+60 = 76.536; 0.76*40+60 = 90.40;
    #     19956.03/35000*40+60 = 82.8069
    # 乙: 0.92/6*40+60 = 66.1333; 13.23/50*40+60 = 70.584; 0.59*40+60 = 83.60;
    #     29551.24/35000*40+60 = 93.7728
    # 甲 = 84*0.33 + 76.536*0.26 + 90.40*0.25 + 82.8069*0.16 = 83.4685 -> 83.47
    # 乙 = 66.1333*0.33 + 70.584*0.26 + 83.60*0.25 + 93.7728*0.16 = 76.0795 -> 76.08
    # A plan with weights 33/26/25/16 (sum 100) and b = 0.6 gives W*(0.6 + 0.4r) = W/100 * d, so
    # the development block is the weighted mean on the 100-point scale.
    plan = make_plan(
        development=development(
            indicator("asset_return", 33, bounds=(12, 6), clamp=False),
            indicator("capital_growth", 26, bounds=(150, 100), clamp=False),
            indicator("current_turnover", 25, bounds=(2, 1), clamp=False),
            indicator("labour_productivity", 16, bounds=(50000, 15000), clamp=False),
            base_share=0.6,
        )
    )
    v = values(
        {
            "jia": {
                "asset_return": 9.60,
                "capital_growth": 120.67,
                "current_turnover": 1.76,
                "labour_productivity": 34956.03,
            },
            "yi": {
                "asset_return": 6.92,
                "capital_growth": 113.23,
                "current_turnover": 1.59,
                "labour_productivity": 44551.24,
            },
        }
    )
    s = score(plan, [town("jia", "甲"), town("yi", "乙")], v)
    table_2_10 = {
        "jia": [84.00, 76.54, 90.40, 82.81],
        "yi": [66.13, 70.58, 83.60, 93.77],
    }
    for unit, printed in table_2_10.items():
        d = [i.points / i.weight * 100 for i in s.explain(unit).indicators]
        assert [round(x, 2) for x in d] == printed
    assert s.result("jia").development == pytest.approx(83.4685, abs=1e-4)
    assert s.result("yi").development == pytest.approx(76.0795, abs=1e-4)
    assert round(s.result("jia").development, 2) == 83.47
    assert round(s.result("yi").development, 2) == 76.08
    assert [r.code for r in s.group(s.units[0].group)] == ["jia", "yi"]


def test_textbook_improved_method_takes_the_observed_extremes() -> None:
    # Source: "改进功效系数法举例" (某地区四个公司经济效益指标), e.g.
    # https://777doc.com/doc-4138128.html and https://m.jinchutou.com/shtml/view-500449281.html.
    # The improved method takes 满意值 = the best and 不允许值 = the worst observed value, which is
    # the seed's rule without targets; d = (x - x_s)/(x_h - x_s)*40 + 60.
    #
    #                                  甲     乙     丙     丁
    # 全员劳动生产率 元/人·年          5733   3575   3929   4404
    # 百元固定资产净产值 元            60.5   52.2   71.2   69.7
    # 百元总产值销售收入 元            91.5   93.2   84.9   88.0
    # 百元销售收入利税额 元            16.7    7.3   10.7   12.8
    #
    # Worked in the source for 丁: d4 = (12.8-7.3)/(16.7-7.3)*40+60 = 5.5/9.4*40+60 = 83.404.
    # Its table (r rounded to 4 decimals before *40, so the last digit can differ by 0.002):
    # 甲 100.000 77.472 91.808 100.000 (rank 1); 乙 60.000 60.000 100.000 60.000 (rank 4);
    # 丙 66.560 100.000 60.000 74.468 (rank 3); 丁 75.368 96.844 74.940 83.404 (rank 2).
    # Exact: 丁 d1 = 829/2158*40+60 = 75.3661; 丙 d1 = 354/2158*40+60 = 66.5616;
    #        甲 d2 = 8.3/19*40+60 = 77.4737; 丁 d2 = 17.5/19*40+60 = 96.8421.
    # The source combines by a geometric mean; with equal weights (case 1) the weighted sum here
    # ranks the companies the same way (甲 92.32, 丁 82.64, 丙 75.26, 乙 70.00).
    plan = make_plan(
        development=development(
            indicator("productivity", 100),
            indicator("fixed_asset_yield", 100),
            indicator("sales_ratio", 100),
            indicator("profit_tax_ratio", 100),
            base_share=0.6,
        )
    )
    data = {
        "jia": (5733, 60.5, 91.5, 16.7),
        "yi": (3575, 52.2, 93.2, 7.3),
        "bing": (3929, 71.2, 84.9, 10.7),
        "ding": (4404, 69.7, 88.0, 12.8),
    }
    codes = ["productivity", "fixed_asset_yield", "sales_ratio", "profit_tax_ratio"]
    v = values({u: dict(zip(codes, row, strict=True)) for u, row in data.items()}, codes)
    s = score(plan, [town(u) for u in data], v)
    printed = {
        "jia": [100.000, 77.472, 91.808, 100.000],
        "yi": [60.000, 60.000, 100.000, 60.000],
        "bing": [66.560, 100.000, 60.000, 74.468],
        "ding": [75.368, 96.844, 74.940, 83.404],
    }
    for unit, row in printed.items():
        d = [i.points for i in s.explain(unit).indicators]
        assert d == pytest.approx(row, abs=0.0025)
    assert explained(s, "ding", "profit_tax_ratio").points == pytest.approx(
        5.5 / 9.4 * 40 + 60, abs=1e-9
    )
    assert explained(s, "ding", "productivity").points == pytest.approx(
        829 / 2158 * 40 + 60, abs=1e-9
    )
    ranks = {u: s.result(u).rank for u in data}
    assert ranks == {"jia": 1, "yi": 4, "bing": 3, "ding": 2}
