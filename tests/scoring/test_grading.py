"""Work items by grades (等级评价法): coefficients, raters, trimming, daily/year-end, deductions.

scoring.md section 2:
coef = daily_weight * mean(quarterly means) + (1 - daily_weight) * year_end
item_points = max(0, points * coef - deductions)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from scoring import EventCount, GradeColumns, GradeRecord, InputError, Standings, score
from scoring.explanation import ItemExplanation
from scoring.grading import grades_frame, item_coefficients, period_means
from scoring.plan import EventKind, Grade
from tests.factories import department, events, grades, make_plan

E, G, F, P = Grade.EXCELLENT, Grade.GOOD, Grade.FAIR, Grade.POOR


def scored(
    records: Sequence[GradeRecord] | GradeColumns,
    event_counts: Sequence[EventCount] = (),
    **plan_overrides: Any,
) -> Standings:
    """Score one department `d` under the default plan with overrides."""
    plan = make_plan(**plan_overrides)
    return score(plan, [department("d")], grades=records, events=event_counts)


def item(standings: Standings, code: str) -> ItemExplanation:
    """The explanation of one work item of `d`."""
    return next(i for i in standings.explain("d").items if i.code == code)


@pytest.mark.parametrize(
    ("grade", "expected"),
    [(E, 200.0), (G, 160.0), (F, 120.0), (P, 80.0)],
)
def test_each_grade_has_its_coefficient(grade: Grade, expected: float) -> None:
    # 好 1.0, 较好 0.8, 一般 0.6, 差 0.4 of 200 points
    s = scored(grades("d", "key_work", "year", grade))
    assert s.result("d").items["key_work"] == pytest.approx(expected)


def test_grade_coefficients_come_from_the_plan() -> None:
    # good 0.9 in the plan: 200 * 0.9 = 180
    s = scored(
        grades("d", "key_work", "year", G),
        work={"grades": {"excellent": 1.0, "good": 0.9, "fair": 0.6, "poor": 0.4}},
    )
    assert s.result("d").items["key_work"] == pytest.approx(180.0)


def test_the_coefficient_is_the_mean_over_raters() -> None:
    # (1.0 + 0.8 + 0.6) / 3 = 0.8 -> 160
    s = scored(grades("d", "key_work", "year", E, G, F))
    assert item(s, "key_work").coef == pytest.approx(0.8)
    assert s.result("d").items["key_work"] == pytest.approx(160.0)


def test_six_raters_drop_one_highest_and_one_lowest() -> None:
    # coefs 1.0 1.0 0.8 0.8 0.6 0.4; 6 > trim_above 5: drop one 1.0 and the 0.4
    # (1.0 + 0.8 + 0.8 + 0.6) / 4 = 3.2 / 4 = 0.8 -> 160  (untrimmed: 4.6 / 6 = 0.7667)
    s = scored(grades("d", "key_work", "year", E, E, G, G, F, P))
    explained = item(s, "key_work")
    assert explained.coef == pytest.approx(0.8)
    assert explained.points == pytest.approx(160.0)
    assert explained.flags == ("trimmed",)


def test_five_raters_are_not_trimmed() -> None:
    # coefs 1.0 0.8 0.8 0.6 0.4: 5 raters, no trim -> 3.6 / 5 = 0.72 -> 144
    # (trimmed it would be 2.2 / 3 = 0.7333)
    s = scored(grades("d", "key_work", "year", E, G, G, F, P))
    explained = item(s, "key_work")
    assert explained.coef == pytest.approx(0.72)
    assert explained.points == pytest.approx(144.0)
    assert explained.flags == ()


def test_trim_above_comes_from_the_plan() -> None:
    # trim_above 3: 4 raters 1.0 0.8 0.6 0.4 -> drop 1.0 and 0.4 -> (0.8 + 0.6) / 2 = 0.7 -> 140
    s = scored(grades("d", "key_work", "year", E, G, F, P), work={"trim_above": 3})
    assert s.result("d").items["key_work"] == pytest.approx(140.0)


def test_daily_and_year_end_are_weighted_four_to_six() -> None:
    # daily = mean(Q1 1.0, Q2 0.8, Q3 0.4) = 2.2 / 3 = 0.73333; year-end 一般 0.6
    # coef = 0.4 * 0.73333 + 0.6 * 0.6 = 0.29333 + 0.36 = 0.65333 -> 200 * 0.65333 = 130.667
    records = [
        *grades("d", "key_work", "Q1", E),
        *grades("d", "key_work", "Q2", G),
        *grades("d", "key_work", "Q3", P),
        *grades("d", "key_work", "year", F),
    ]
    explained = item(scored(records), "key_work")
    assert explained.daily == pytest.approx(2.2 / 3)
    assert explained.year_end == pytest.approx(0.6)
    assert explained.coef == pytest.approx(0.4 * 2.2 / 3 + 0.6 * 0.6)
    assert explained.points == pytest.approx(130.6666667)
    assert explained.flags == ()


def test_daily_is_the_mean_of_quarterly_means_not_of_all_grades() -> None:
    # Q1: two raters 1.0 and 0.8 -> 0.9; Q2: one rater 0.4 -> 0.4
    # daily = (0.9 + 0.4) / 2 = 0.65 (pooling all three grades would give 2.2 / 3 = 0.7333)
    records = [*grades("d", "key_work", "Q1", E, G), *grades("d", "key_work", "Q2", P)]
    explained = item(scored(records), "key_work")
    assert explained.daily == pytest.approx(0.65)
    assert [(p.period, p.raters) for p in explained.periods] == [("Q1", 2), ("Q2", 1)]
    assert [p.mean for p in explained.periods] == pytest.approx([0.9, 0.4])


def test_the_daily_weight_comes_from_the_plan() -> None:
    # daily_weight 0.5: 0.5 * 1.0 + 0.5 * 0.4 = 0.7 -> 140
    records = [*grades("d", "key_work", "Q1", E), *grades("d", "key_work", "year", P)]
    s = scored(records, work={"daily_weight": 0.5})
    assert s.result("d").items["key_work"] == pytest.approx(140.0)


def test_the_year_end_grade_stands_alone_without_quarterly_grades() -> None:
    # year-end 较好 only: coef 0.8 -> 160, no flag
    explained = item(scored(grades("d", "key_work", "year", G)), "key_work")
    assert explained.daily is None
    assert explained.coef == pytest.approx(0.8)
    assert explained.points == pytest.approx(160.0)
    assert explained.flags == ()


def test_quarterly_grades_stand_alone_without_year_end_and_are_flagged() -> None:
    # Q1 1.0, Q2 0.8 -> daily 0.9; no year-end: coef 0.9 -> 180, flag no_year_end
    records = [*grades("d", "key_work", "Q1", E), *grades("d", "key_work", "Q2", G)]
    explained = item(scored(records), "key_work")
    assert explained.year_end is None
    assert explained.coef == pytest.approx(0.9)
    assert explained.points == pytest.approx(180.0)
    assert explained.flags == ("no_year_end",)


def test_an_item_without_any_grade_scores_zero_and_is_flagged() -> None:
    s = scored(grades("d", "key_work", "year", E))
    explained = item(s, "basic_work")
    assert (explained.coef, explained.points, explained.flags) == (None, 0.0, ("no_grade",))
    assert "no_grade" in s.result("d").flags
    entry = s.to_json()["groups"]["zone_or_department"][0]
    assert entry["items"]["basic_work"] == {
        "coef": None,
        "points": 0.0,
        "year_end_sources": {},
        "flags": ["no_grade"],
    }
    assert entry["items"]["key_work"] == {
        "coef": 1.0,
        "points": 200.0,
        "year_end_sources": {"panel": 1.0},
        "flags": [],
    }


# --- deductions -------------------------------------------------------------------------------


def test_each_event_costs_its_points_from_the_named_item() -> None:
    # key_work 较好 160 - rectification_overdue 1 x 2 = 158
    # basic_work 较好 160 - report_late 3 x 1 - report_missing 2 x 2 - false_report 1 x 10
    #          = 160 - 3 - 4 - 10 = 143
    records = [*grades("d", "key_work", "year", G), *grades("d", "basic_work", "year", G)]
    counts = [
        events("d", "report_late", 3),
        events("d", "report_missing", 2),
        events("d", "rectification_overdue", 1),
        events("d", "false_report", 1),
    ]
    s = scored(records, counts)
    r = s.result("d")
    assert r.items == pytest.approx({"key_work": 158.0, "basic_work": 143.0})
    assert r.deductions == pytest.approx(19.0)
    assert r.total == pytest.approx(301.0)
    basic = item(s, "basic_work")
    assert basic.raw_points == pytest.approx(160.0)
    assert basic.deducted == pytest.approx(17.0)
    assert [(d.event, d.count, d.points_each, d.total) for d in basic.deductions] == [
        (EventKind.REPORT_LATE, 3, 1.0, 3.0),
        (EventKind.REPORT_MISSING, 2, 2.0, 4.0),
        (EventKind.FALSE_REPORT, 1, 10.0, 10.0),
    ]
    key = item(s, "key_work")
    assert [(d.event, d.count, d.total) for d in key.deductions] == [
        (EventKind.RECTIFICATION_OVERDUE, 1, 2.0)
    ]


def test_event_counts_of_the_same_kind_add_up() -> None:
    # two rows of report_late, 2 + 1 = 3 events -> 3 points: 200 - 3 = 197
    counts = [events("d", "report_late", 2), events("d", "report_late", 1)]
    s = scored(grades("d", "basic_work", "year", E), counts)
    assert s.result("d").items["basic_work"] == pytest.approx(197.0)


def test_deductions_follow_the_plan() -> None:
    # report_late moved to key_work at 5 points: key 200 - 2 x 5 = 190, basic untouched 200
    records = [*grades("d", "key_work", "year", E), *grades("d", "basic_work", "year", E)]
    s = scored(
        records,
        [events("d", "report_late", 2)],
        work={"deductions": {"report_late": {"item": "key_work", "points": 5}}},
    )
    assert s.result("d").items == pytest.approx({"key_work": 190.0, "basic_work": 200.0})


def test_an_item_never_goes_below_zero_and_is_flagged_floored() -> None:
    # basic 差 0.4 -> 80; false_report 9 x 10 = 90 -> max(0, 80 - 90) = 0, flag floored
    s = scored(grades("d", "basic_work", "year", P), [events("d", "false_report", 9)])
    basic = item(s, "basic_work")
    assert basic.points == 0.0
    assert basic.deducted == pytest.approx(90.0)
    assert basic.flags == ("floored",)


def test_a_deduction_that_exactly_uses_up_the_item_is_not_floored() -> None:
    # basic 差 80 - false_report 8 x 10 = 0 exactly: nothing was cut off
    s = scored(grades("d", "basic_work", "year", P), [events("d", "false_report", 8)])
    assert item(s, "basic_work").points == 0.0
    assert item(s, "basic_work").flags == ()


def test_an_ungraded_item_with_a_deduction_stays_at_zero() -> None:
    s = scored((), [events("d", "report_late", 1)])
    basic = item(s, "basic_work")
    assert basic.points == 0.0
    assert basic.flags == ("no_grade", "floored")


# --- explanations of the grades used ----------------------------------------------------------


def test_explain_marks_the_grades_trimming_dropped() -> None:
    # raters r1..r6: 1.0 1.0 0.8 0.8 0.6 0.4 -> r1 (the first highest) and r6 (lowest) dropped
    s = scored(grades("d", "key_work", "year", E, E, G, G, F, P))
    explained = item(s, "key_work")
    assert [(g.rater, g.grade, g.coefficient, g.dropped) for g in explained.grades] == [
        ("r1", "excellent", 1.0, True),
        ("r2", "excellent", 1.0, False),
        ("r3", "good", 0.8, False),
        ("r4", "good", 0.8, False),
        ("r5", "fair", 0.6, False),
        ("r6", "poor", 0.4, True),
    ]
    (year,) = explained.periods
    assert (year.period, year.raters, year.trimmed) == ("year", 6, True)
    assert year.mean == pytest.approx(0.8)
    assert explained.weight == 200.0
    assert explained.daily_weight == 0.4


def test_explain_drops_two_different_raters_when_all_agree() -> None:
    # six raters all 好: one is dropped as highest, another as lowest; the mean stays 1.0
    s = scored(grades("d", "key_work", "year", E, E, E, E, E, E))
    explained = item(s, "key_work")
    assert [g.dropped for g in explained.grades] == [True, True, False, False, False, False]
    assert explained.coef == pytest.approx(1.0)


# --- the frame functions directly -------------------------------------------------------------


def test_period_means_trim_per_unit_item_and_period() -> None:
    plan = make_plan()
    records = [
        *grades("d", "key_work", "Q1", E, E, G, G, F, P),  # 6 raters: (1 + .8 + .8 + .6)/4 = 0.8
        *grades("d", "key_work", "Q2", E, P),  # 2 raters: 0.7
    ]
    means = period_means(grades_frame(records), plan.work)
    assert means.loc[("d", "key_work", "Q1"), "mean"] == pytest.approx(0.8)
    assert bool(means.loc[("d", "key_work", "Q1"), "trimmed"])
    assert means.loc[("d", "key_work", "Q2"), "mean"] == pytest.approx(0.7)
    assert not bool(means.loc[("d", "key_work", "Q2"), "trimmed"])


def test_item_coefficients_of_no_grades_are_all_missing() -> None:
    plan = make_plan()
    coefs = item_coefficients(grades_frame([]), plan.work, ["a", "b"])
    assert coefs.coef.shape == (2, 2)
    assert all(c != c for c in coefs.coef.ravel())  # NaN everywhere
    assert coefs.quarters.tolist() == [[0, 0], [0, 0]]
    assert not coefs.trimmed.any()


def _columns(records: Sequence[GradeRecord]) -> GradeColumns:
    return GradeColumns(
        unit=[r.unit for r in records],
        item=[r.item for r in records],
        period=[r.period for r in records],
        rater=[r.rater for r in records],
        grade=[r.grade.value for r in records],
        source=[r.source.value for r in records],
    )


def test_grade_columns_score_as_the_records_do() -> None:
    records = [
        *grades("d", "key_work", "Q1", E, G, G, F, P),
        *grades("d", "key_work", "year", G, F),
        *grades("d", "basic_work", "Q2", P),
    ]
    assert grades_frame(_columns(records)).equals(grades_frame(records))
    assert scored(_columns(records)).to_json() == scored(records).to_json()
    assert grades_frame(_columns([])).equals(grades_frame([]))


def test_grade_columns_are_checked_as_the_records_are() -> None:
    records = [*grades("d", "key_work", "Q1", E), *grades("d", "key_work", "Q1", E)]
    with pytest.raises(InputError) as by_records:
        scored(records)
    with pytest.raises(InputError) as by_columns:
        scored(_columns(records))
    assert by_columns.value.problems == by_records.value.problems
