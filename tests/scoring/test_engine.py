"""The whole year: bonus, totals, ranks, the JSON of the contract, explanations, input checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scoring import BonusItem, EventCount, GradeRecord, Group, InputError, Standings, score
from scoring.plan import EventKind, Grade
from tests.factories import (
    REMOVE,
    approved,
    department,
    development,
    events,
    grades,
    indicator,
    make_plan,
    town,
    values,
)

E, G, F, P = Grade.EXCELLENT, Grade.GOOD, Grade.FAIR, Grade.POOR


def small_district() -> Standings:
    """Three towns and a department, every number worked by hand in the tests below.

    development: gdp 300 (higher), pm25 300 (lower), b = 0.70
      gdp : a 8, b 6, c 4        -> best 8, worst 4 -> a 300, b 300*(0.7+0.3*0.5) = 255, c 210
      pm25: a 30, b missing, c 50 -> best 30, worst 50 -> a 300, b 0 (missing), c 210
      development: a 600, b 255, c 420
    work:
      a: key 好 200, basic 较好 160 - report_late 2 x 1 = 158; bonus 2 x 10 = 20
         total 600 + 200 + 158 + 20 = 978, share 0.978 优秀, rank 1
      b: key 好 200, basic 好 200; 7 approved items -> 70 capped at 60
         total 255 + 400 + 60 = 715, share 0.715 一般, rank 2
      c: key Q1 较好 and year 较好 -> 0.4*0.8 + 0.6*0.8 = 0.8 -> 160; basic ungraded 0;
         one bonus item not approved -> 0; total 420 + 160 = 580, share 0.58 较差, rank 3
      d (department): key 一般 120, basic 一般 120 -> 240, share 0.6 一般, rank 1
    """
    plan = make_plan(
        development=development(indicator("gdp", 300), indicator("pm25", 300, "lower"))
    )
    units = [town("a", "甲镇"), town("b", "乙镇"), town("c", "丙镇"), department("d", "丁局")]
    v = values(
        {
            "a": {"gdp": 8.0, "pm25": 30.0},
            "b": {"gdp": 6.0, "pm25": None},
            "c": {"gdp": 4.0, "pm25": 50.0},
        }
    )
    records = [
        *grades("a", "key_work", "year", E),
        *grades("a", "basic_work", "year", G),
        *grades("b", "key_work", "year", E),
        *grades("b", "basic_work", "year", E),
        *grades("c", "key_work", "Q1", G),
        *grades("c", "key_work", "year", G),
        *grades("d", "key_work", "year", F),
        *grades("d", "basic_work", "year", F),
    ]
    bonus = [*approved("a", 2), *approved("b", 7), BonusItem("c", "未通过的创新", False)]
    return score(plan, units, v, records, bonus, [events("a", "report_late", 2)])


# --- bonus ------------------------------------------------------------------------------------


def test_each_approved_bonus_item_gives_ten_points() -> None:
    s = small_district()
    assert s.result("a").bonus == 20.0
    assert s.explain("a").bonus.approved == ("a创新0", "a创新1")


def test_bonus_items_not_approved_do_not_count() -> None:
    s = small_district()
    assert s.result("c").bonus == 0.0
    assert s.explain("c").bonus.not_approved == ("未通过的创新",)


def test_bonus_is_capped_at_sixty_and_flagged() -> None:
    # 7 approved x 10 = 70 -> 60, flag bonus_capped
    s = small_district()
    assert s.result("b").bonus == 60.0
    assert "bonus_capped" in s.result("b").flags
    assert s.explain("b").bonus.capped


def test_six_approved_items_reach_the_cap_without_passing_it() -> None:
    s = score(make_plan(), [department("d")], bonus=approved("d", 6))
    assert s.result("d").bonus == 60.0
    assert "bonus_capped" not in s.result("d").flags


def test_bonus_per_item_and_cap_come_from_the_plan() -> None:
    # 5 per item, cap 12: 3 items -> 15 -> 12
    plan = make_plan(bonus={"points_per_item": 5, "cap": 12})
    s = score(plan, [department("d")], bonus=approved("d", 3))
    assert s.result("d").bonus == 12.0


# --- totals, ranks, tiers ---------------------------------------------------------------------


def test_totals_add_development_work_and_bonus() -> None:
    s = small_district()
    got = {code: s.result(code) for code in "abcd"}
    assert {c: r.development for c, r in got.items()} == pytest.approx(
        {"a": 600.0, "b": 255.0, "c": 420.0, "d": 0.0}
    )
    assert {c: r.total for c, r in got.items()} == pytest.approx(
        {"a": 978.0, "b": 715.0, "c": 580.0, "d": 240.0}
    )
    assert got["a"].items == pytest.approx({"key_work": 200.0, "basic_work": 158.0})
    assert got["a"].deductions == 2.0


def test_ranks_and_tiers_are_within_each_group() -> None:
    s = small_district()
    towns = [(r.code, r.rank, r.tier) for r in s.group(Group.TOWN)]
    assert towns == [("a", 1, "优秀"), ("b", 2, "一般"), ("c", 3, "较差")]
    departments = [(r.code, r.rank, r.tier) for r in s.group(Group.ZONE_OR_DEPARTMENT)]
    assert departments == [("d", 1, "一般")]
    assert s.group_size(Group.TOWN) == 3


def test_units_with_equal_totals_share_a_rank() -> None:
    # d1, d2 both 好 -> 200; d3 较好 -> 160; d4 好 -> 200. Ranks 1, 1, 4, 1.
    units = [department(c) for c in ("d1", "d2", "d3", "d4")]
    records = [
        *grades("d1", "key_work", "year", E),
        *grades("d2", "key_work", "year", E),
        *grades("d3", "key_work", "year", G),
        *grades("d4", "key_work", "year", E),
    ]
    s = score(make_plan(), units, grades=records)
    ranked = [(r.code, r.rank) for r in s.group(Group.ZONE_OR_DEPARTMENT)]
    assert ranked == [("d1", 1), ("d2", 1), ("d4", 1), ("d3", 4)]


def test_unit_flags_sum_up_what_went_wrong() -> None:
    s = small_district()
    assert s.result("b").flags == ("missing_values", "bonus_capped")
    assert s.result("c").flags == ("no_grade",)
    assert s.result("a").flags == ()


def test_values_may_come_in_any_column_order_and_for_some_towns_only() -> None:
    # Same figures as small_district, columns reversed and town c absent: c is missing on both.
    # gdp: a 8, b 6 -> a 300, b 210; pm25: a 30 alone -> all equal, full 300
    plan = make_plan(
        development=development(indicator("gdp", 300), indicator("pm25", 300, "lower"))
    )
    v = values({"a": {"pm25": 30.0, "gdp": 8.0}, "b": {"pm25": None, "gdp": 6.0}})
    s = score(plan, [town("a"), town("b"), town("c")], v)
    assert s.result("a").development == pytest.approx(600.0)
    assert s.result("b").development == pytest.approx(210.0)
    assert s.result("c").development == 0.0
    assert s.result("c").flags == ("missing_values", "no_grade")


# --- JSON -------------------------------------------------------------------------------------


def test_json_has_the_shape_of_the_contract() -> None:
    doc = small_district().to_json()
    text = json.dumps(doc, ensure_ascii=False, allow_nan=False)
    assert json.loads(text) == doc
    assert list(doc) == ["year", "groups"]
    assert doc["year"] == 2025
    assert list(doc["groups"]) == ["town", "zone_or_department"]
    towns = doc["groups"]["town"]
    assert [e["unit"] for e in towns] == ["a", "b", "c"]
    assert [e["rank"] for e in towns] == [1, 2, 3]
    assert list(towns[0]) == [
        "unit",
        "name",
        "rank",
        "tier",
        "total",
        "development",
        "key_work",
        "basic_work",
        "bonus",
        "deductions",
        "indicators",
        "items",
        "flags",
    ]


def test_json_of_a_town_gives_every_number_unrounded() -> None:
    b = small_district().to_json()["groups"]["town"][1]
    assert b == {
        "unit": "b",
        "name": "乙镇",
        "rank": 2,
        "tier": "一般",
        "total": pytest.approx(715.0),
        "development": pytest.approx(255.0),
        "key_work": 200.0,
        "basic_work": 200.0,
        "bonus": 60.0,
        "deductions": 0.0,
        "indicators": {
            "gdp": {"value": 6.0, "points": pytest.approx(255.0), "flags": []},
            "pm25": {"value": None, "points": 0.0, "flags": ["missing"]},
        },
        "items": {
            "key_work": {
                "coef": 1.0,
                "points": 200.0,
                "year_end_sources": {"panel": 1.0},
                "flags": [],
            },
            "basic_work": {
                "coef": 1.0,
                "points": 200.0,
                "year_end_sources": {"panel": 1.0},
                "flags": [],
            },
        },
        "flags": ["missing_values", "bonus_capped"],
    }


def test_json_numbers_are_plain_floats_and_ints() -> None:
    doc = small_district().to_json()
    for entries in doc["groups"].values():
        for e in entries:
            assert type(e["rank"]) is int
            for key in ("total", "development", "key_work", "basic_work", "bonus", "deductions"):
                assert type(e[key]) is float


def test_json_of_a_department_has_no_indicators() -> None:
    d = small_district().to_json()["groups"]["zone_or_department"][0]
    assert d["unit"] == "d"
    assert d["development"] == 0.0
    assert d["indicators"] == {}
    assert d["items"]["key_work"] == {
        "coef": pytest.approx(0.6),
        "points": 120.0,
        "year_end_sources": {"panel": pytest.approx(0.6)},
        "flags": [],
    }


def test_json_of_an_empty_year_has_both_groups_empty() -> None:
    assert score(make_plan(), []).to_json() == {
        "year": 2025,
        "groups": {"town": [], "zone_or_department": []},
    }


# --- explanations -----------------------------------------------------------------------------


def test_explain_a_town_gives_every_indicator() -> None:
    ex = small_district().explain("b")
    assert ex.group_size == 3
    assert ex.max_without_bonus == 1000.0
    gdp, pm25 = ex.indicators
    assert (gdp.code, gdp.value, gdp.best, gdp.worst) == ("gdp", 6.0, 8.0, 4.0)
    assert gdp.ratio == pytest.approx(0.5)
    assert gdp.points == pytest.approx(255.0)
    assert (gdp.weight, gdp.base_share, gdp.fixed_bounds) == (300.0, 0.7, False)
    assert gdp.flags == ()
    assert (pm25.value, pm25.best, pm25.worst, pm25.ratio) == (None, 30.0, 50.0, None)
    assert (pm25.points, pm25.flags) == (0.0, ("missing",))


def test_explain_a_work_item_gives_grades_coefficient_and_deductions() -> None:
    basic = next(i for i in small_district().explain("a").items if i.code == "basic_work")
    assert [(g.period, g.rater, g.grade, g.coefficient, g.dropped) for g in basic.grades] == [
        ("year", "r1", "good", 0.8, False)
    ]
    assert basic.coef == pytest.approx(0.8)
    assert basic.raw_points == pytest.approx(160.0)
    assert [(d.event, d.count, d.points_each, d.total) for d in basic.deductions] == [
        (EventKind.REPORT_LATE, 2, 1.0, 2.0)
    ]
    assert basic.points == pytest.approx(158.0)


def test_explaining_an_unknown_unit_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        small_district().explain("nobody")


# --- input checks -----------------------------------------------------------------------------


def problem_codes(excinfo: pytest.ExceptionInfo[InputError]) -> list[str]:
    """The codes of the problems an `InputError` carries."""
    return [p.code for p in excinfo.value.problems]


def test_values_of_an_unknown_unit_are_refused() -> None:
    with pytest.raises(InputError) as excinfo:
        score(make_plan(), [town("a")], values({"zz": {"gdp_growth": 5.0}}))
    assert problem_codes(excinfo) == ["unknown_unit"]
    assert excinfo.value.problems[0].params == {"unit": "zz"}


def test_values_for_a_department_are_refused() -> None:
    with pytest.raises(InputError) as excinfo:
        score(make_plan(), [department("d")], values({"d": {"gdp_growth": 5.0}}))
    assert problem_codes(excinfo) == ["value_for_non_town"]


def test_values_of_an_unknown_indicator_are_refused() -> None:
    with pytest.raises(InputError) as excinfo:
        score(make_plan(), [town("a")], values({"a": {"happiness": 5.0}}))
    assert problem_codes(excinfo) == ["unknown_indicator"]
    assert excinfo.value.problems[0].params == {"indicator": "happiness"}


def test_a_grade_of_an_unknown_item_is_refused() -> None:
    with pytest.raises(InputError) as excinfo:
        score(make_plan(), [town("a")], grades=grades("a", "party_work", "year", E))
    assert problem_codes(excinfo) == ["unknown_item"]


def test_a_grade_of_an_unknown_period_is_refused() -> None:
    with pytest.raises(InputError) as excinfo:
        score(make_plan(), [town("a")], grades=grades("a", "key_work", "Q5", E))
    assert problem_codes(excinfo) == ["unknown_period"]


def test_a_rater_grading_the_same_thing_twice_is_refused() -> None:
    twice = [
        GradeRecord("a", "key_work", "year", "r1", Grade.GOOD),
        GradeRecord("a", "key_work", "year", "r1", Grade.POOR),
    ]
    with pytest.raises(InputError) as excinfo:
        score(make_plan(), [town("a")], grades=twice)
    assert problem_codes(excinfo) == ["duplicate_grade"]


def test_a_negative_event_count_is_refused() -> None:
    with pytest.raises(InputError) as excinfo:
        score(make_plan(), [town("a")], events=[EventCount("a", EventKind.REPORT_LATE, -1)])
    assert problem_codes(excinfo) == ["negative_count"]


def test_every_input_problem_is_listed_at_once() -> None:
    with pytest.raises(InputError) as excinfo:
        score(
            make_plan(),
            [town("a"), department("d")],
            values({"zz": {"gdp_growth": 1.0}, "d": {"happiness": 2.0}}),
            grades=[
                GradeRecord("ghost", "key_work", "year", "r1", Grade.GOOD),
                GradeRecord("a", "party_work", "Q9", "r1", Grade.GOOD),
            ],
            bonus=[BonusItem("ghost", "x", True)],
            events=[EventCount("ghost", EventKind.REPORT_LATE, -2)],
        )
    assert sorted(problem_codes(excinfo)) == sorted(
        [
            "unknown_unit",  # values zz
            "value_for_non_town",  # values d
            "unknown_indicator",  # happiness
            "unknown_unit",  # grades ghost
            "unknown_item",  # party_work
            "unknown_period",  # Q9
            "unknown_unit",  # bonus ghost
            "unknown_unit",  # events ghost
            "negative_count",
        ]
    )
    assert {p.source for p in excinfo.value.problems} == {"values", "grades", "bonus", "events"}


def test_a_unit_listed_twice_is_refused() -> None:
    with pytest.raises(InputError) as excinfo:
        score(make_plan(), [town("a"), town("a")])
    assert problem_codes(excinfo) == ["duplicate_unit"]


def test_a_plan_naming_only_report_late_still_charges_false_reports() -> None:
    # The bug of issue 9: three confirmed false reports cost nothing under such a plan.
    plan = make_plan(work={"deductions": {"report_late": {"item": "basic_work", "points": 1}}})
    standings = score(
        plan,
        [town("a")],
        grades=grades("a", "basic_work", "year", E),
        events=[EventCount("a", EventKind.FALSE_REPORT, 3)],
    )
    basic = next(i for i in standings.explain("a").items if i.code == "basic_work")
    assert [(d.event, d.count, d.total) for d in basic.deductions] == [
        (EventKind.FALSE_REPORT, 3, 30.0)
    ]
    assert basic.points == pytest.approx(200.0 - 30.0)


@pytest.mark.parametrize("bad", [1e308, -1e308, float("inf"), float("-inf"), 2e15])
def test_values_beyond_the_limit_or_infinite_are_refused_naming_unit_and_indicator(
    bad: float,
) -> None:
    # Two values of ±1e308 used to give a NaN total that ranked first.
    given = values({"a": {"gdp_growth": bad}, "b": {"gdp_growth": 5.0}})
    with pytest.raises(InputError) as excinfo:
        score(make_plan(), [town("a"), town("b")], given)
    [problem] = excinfo.value.problems
    assert problem.code == "value_out_of_range"
    assert (problem.params["unit"], problem.params["indicator"]) == ("a", "gdp_growth")


def test_values_at_the_limit_score_finite_numbers() -> None:
    given = values({"a": {"gdp_growth": 1e15}, "b": {"gdp_growth": -1e15}})
    standings = score(make_plan(), [town("a"), town("b")], given)
    assert np.isfinite(standings.totals).all()
    assert [standings.result(u).rank for u in ("a", "b")] == [1, 2]


def test_a_plan_whose_points_overflow_is_refused_naming_the_units() -> None:
    plan = make_plan(
        work={
            "points": REMOVE,  # optional; with it the parser refuses the sum (inf != 400)
            "items": [
                {"code": "key_work", "name": "重点工作", "points": 1e308},
                {"code": "basic_work", "name": "基础工作", "points": 1e308},
            ],
        }
    )
    everyone = grades("a", "key_work", "year", E) + grades("a", "basic_work", "year", E)
    with pytest.raises(InputError) as excinfo:
        score(plan, [town("a")], grades=everyone)
    [problem] = excinfo.value.problems
    assert problem.code == "result_not_finite"
    assert problem.params == {"unit": "a", "blocks": ["work"]}


def test_an_absurd_event_count_is_refused() -> None:
    with pytest.raises(InputError) as excinfo:
        score(make_plan(), [town("a")], events=[EventCount("a", EventKind.REPORT_LATE, 10**400)])
    assert problem_codes(excinfo) == ["count_too_large"]
