"""The plan file's rules: a broken plan is refused with every broken rule, its path and code."""

from __future__ import annotations

from typing import Any

import pytest

from scoring import EventKind, Grade, PlanError, parse_plan
from scoring.plan import (
    AllEqualPolicy,
    Bounds,
    Direction,
    MissingPolicy,
    TierBand,
    TierBasis,
)
from services.files.plan_file import PlanFileError, default_plan_text, load_plan_text
from tests.factories import REMOVE, plan_data


def problems(data: Any) -> set[tuple[str, str]]:
    """(path, code) of every problem the parser finds in `data`; fails if it finds none."""
    with pytest.raises(PlanError) as excinfo:
        parse_plan(data)
    return {(p.path, p.code) for p in excinfo.value.problems}


# --- the default plan -------------------------------------------------------------------------


def test_the_default_plan_parses_with_the_contract_defaults() -> None:
    plan = parse_plan(plan_data(2019))
    assert plan.year == 2019
    assert plan.timezone == "Asia/Shanghai"
    dev = plan.development
    assert dev.points == 600.0
    assert dev.base_share == 0.70
    assert dev.when_all_equal is AllEqualPolicy.FULL
    assert dev.missing_value is MissingPolicy.ZERO
    assert [c.code for c in dev.categories] == ["quality", "innovation", "opening_up", "ecology"]
    assert sum(i.points for i in dev.indicators) == 600.0
    energy = plan.indicator("energy_intensity")
    assert energy is not None
    assert energy.direction is Direction.LOWER
    assert energy.bounds == Bounds(0.4, 0.9)
    assert energy.clamp is True
    assert energy.category == "ecology"
    assert plan.indicator("地区生产总值增速") is plan.indicator("gdp_growth")
    work = plan.work
    assert [(i.code, i.points) for i in work.items] == [("key_work", 200.0), ("basic_work", 200.0)]
    assert work.grades == {Grade.EXCELLENT: 1.0, Grade.GOOD: 0.8, Grade.FAIR: 0.6, Grade.POOR: 0.4}
    assert (work.daily_weight, work.trim_above) == (0.4, 5)
    assert {k: (d.item, d.points) for k, d in work.deductions.items()} == {
        EventKind.REPORT_LATE: ("basic_work", 1.0),
        EventKind.REPORT_MISSING: ("basic_work", 2.0),
        EventKind.RECTIFICATION_OVERDUE: ("key_work", 2.0),
        EventKind.FALSE_REPORT: ("basic_work", 10.0),
    }
    assert plan.work_item("重点工作") is plan.work_item("key_work")
    assert (plan.bonus.points_per_item, plan.bonus.cap) == (10.0, 60.0)
    assert plan.tiers.by is TierBasis.SCORE_SHARE
    assert plan.tiers.bands == (
        TierBand("优秀", 0.9),
        TierBand("良好", 0.8),
        TierBand("一般", 0.6),
        TierBand("较差", 0.0),
    )
    assert plan.schedule.monthly_report_due_day == 5
    assert plan.schedule.remind_days_before == (3, 1, 0)
    assert plan.schedule.quiet_hours == ("22:00", "08:00")


def test_optional_blocks_take_their_defaults() -> None:
    plan = parse_plan(plan_data(bonus=REMOVE, tiers=REMOVE, schedule=REMOVE, title=REMOVE))
    assert (plan.bonus.points_per_item, plan.bonus.cap) == (10.0, 60.0)
    assert plan.tiers.by is TierBasis.SCORE_SHARE
    assert plan.schedule.monthly_report_due_day == 5
    assert plan.title == ""


# --- every rule at once -----------------------------------------------------------------------


def test_every_broken_rule_is_listed_at_once() -> None:
    data = plan_data()
    data["colour"] = "red"  # unknown key at the top
    data["development"]["weight"] = 3  # unknown key in a block
    cats = data["development"]["categories"]
    cats[0]["indicators"][0]["colour"] = "x"  # unknown key in an indicator
    cats[0]["indicators"][1]["points"] = 60  # quality 210 != 200, development 610 != 600
    cats[1]["indicators"][0]["code"] = "gdp_growth"  # duplicate code
    cats[1]["indicators"][1]["name"] = "地区生产总值增速"  # duplicate name
    cats[3]["indicators"][0]["bounds"] = {"satisfactory": 0.5, "unacceptable": 0.5}
    cats[3]["indicators"][1]["bounds"] = {"satisfactory": 60, "unacceptable": 30}  # lower
    data["work"]["grades"]["poor"] = None  # grade without coefficient
    data["work"]["items"][0]["points"] = 150  # work 350 != 400
    data["work"]["items"][1]["unit"] = "x"  # unknown key in a work item
    data["tiers"]["bands"][1]["at_least"] = 0.95  # 0.90 then 0.95: not descending
    data["schedule"]["monthly_report_due_day"] = 31
    data["schedule"]["quiet_hours"] = ["25:00", "08:00"]
    data["bonus"]["cap"] = "sixty"  # not a number
    assert problems(data) == {
        ("colour", "unknown_key"),
        ("development.weight", "unknown_key"),
        ("development.categories[0].indicators[0].colour", "unknown_key"),
        ("development.categories[0].points", "points_do_not_add_up"),
        ("development.points", "points_do_not_add_up"),
        ("development.categories[1].indicators[0].code", "duplicate_code"),
        ("development.categories[1].indicators[1].name", "duplicate_name"),
        ("development.categories[3].indicators[0].bounds", "bounds_equal"),
        ("development.categories[3].indicators[1].bounds", "bounds_against_direction"),
        ("work.grades.poor", "grade_without_coefficient"),
        ("work.points", "points_do_not_add_up"),
        ("work.items[1].unit", "unknown_key"),
        ("tiers.bands", "tiers_not_descending"),
        ("schedule.monthly_report_due_day", "out_of_range"),
        ("schedule.quiet_hours", "bad_quiet_hours"),
        ("bonus.cap", "not_a_number"),
    }


# --- one rule at a time -----------------------------------------------------------------------


def test_unknown_keys_are_errors_at_every_depth() -> None:
    data = plan_data()
    data["colour"] = 1
    data["development"]["categories"][2]["weight"] = 1
    data["development"]["categories"][3]["indicators"][0]["bounds"]["target"] = 0.5
    data["work"]["deductions"]["report_late"]["note"] = "x"
    data["work"]["deductions"]["late_for_lunch"] = {"item": "basic_work", "points": 1}
    data["tiers"]["bands"][0]["colour"] = "gold"
    assert problems(data) == {
        ("colour", "unknown_key"),
        ("development.categories[2].weight", "unknown_key"),
        ("development.categories[3].indicators[0].bounds.target", "unknown_key"),
        ("work.deductions.report_late.note", "unknown_key"),
        ("work.deductions.late_for_lunch", "unknown_key"),
        ("tiers.bands[0].colour", "unknown_key"),
    }


def test_points_must_add_up_in_development_a_category_and_work() -> None:
    # gdp_growth 50 -> 70: quality 220 != 200 and development 620 != 600; key_work 250: 450 != 400
    data = plan_data()
    data["development"]["categories"][0]["indicators"][0]["points"] = 70
    data["work"]["items"][0]["points"] = 250
    with pytest.raises(PlanError) as excinfo:
        parse_plan(data)
    found = {(p.path, p.code): dict(p.params) for p in excinfo.value.problems}
    assert found == {
        ("development.categories[0].points", "points_do_not_add_up"): {
            "expected": 200.0,
            "got": 220.0,
        },
        ("development.points", "points_do_not_add_up"): {"expected": 600.0, "got": 620.0},
        ("work.points", "points_do_not_add_up"): {"expected": 400.0, "got": 450.0},
    }


def test_codes_must_be_unique_across_categories_indicators_and_items() -> None:
    data = plan_data()
    cats = data["development"]["categories"]
    cats[1]["indicators"][0]["code"] = "gdp_growth"  # same as an indicator
    cats[2]["code"] = "quality"  # same as a category
    data["work"]["items"][1]["code"] = "pm25"  # same as an indicator
    # No deduction may take points from basic_work any more: switch off the ones that did.
    data["work"]["deductions"] = {
        "report_late": {"points": 0},
        "report_missing": {"points": 0},
        "false_report": {"points": 0},
    }
    assert problems(data) == {
        ("development.categories[1].indicators[0].code", "duplicate_code"),
        ("development.categories[2].code", "duplicate_code"),
        ("work.items[1].code", "duplicate_code"),
    }


def test_names_must_be_unique_too() -> None:
    data = plan_data()
    data["development"]["categories"][3]["indicators"][2]["name"] = "PM2.5平均浓度"
    data["work"]["items"][1]["name"] = "重点工作"
    assert problems(data) == {
        ("development.categories[3].indicators[2].name", "duplicate_name"),
        ("work.items[1].name", "duplicate_name"),
    }


def test_every_grade_needs_a_coefficient() -> None:
    data = plan_data()
    data["work"]["grades"] = {"excellent": 1.0, "good": 0.8, "fair": None}
    assert problems(data) == {
        ("work.grades.fair", "grade_without_coefficient"),
        ("work.grades.poor", "grade_without_coefficient"),
    }


def test_grade_coefficients_must_not_rise_as_grades_fall() -> None:
    data = plan_data()
    data["work"]["grades"] = {"excellent": 1.0, "good": 0.5, "fair": 0.6, "poor": 0.4}
    assert problems(data) == {("work.grades", "grades_not_descending")}


@pytest.mark.parametrize(
    ("direction", "satisfactory", "unacceptable", "code"),
    [
        ("lower", 0.5, 0.5, "bounds_equal"),
        ("lower", 0.9, 0.4, "bounds_against_direction"),
        ("higher", 6.0, 12.0, "bounds_against_direction"),
    ],
)
def test_bounds_must_differ_and_follow_the_direction(
    direction: str, satisfactory: float, unacceptable: float, code: str
) -> None:
    data = plan_data()
    energy = data["development"]["categories"][3]["indicators"][0]
    energy["direction"] = direction
    energy["bounds"] = {"satisfactory": satisfactory, "unacceptable": unacceptable}
    assert problems(data) == {("development.categories[3].indicators[0].bounds", code)}


def test_bounds_need_both_values() -> None:
    data = plan_data()
    data["development"]["categories"][3]["indicators"][0]["bounds"] = {"satisfactory": 0.4}
    assert problems(data) == {
        ("development.categories[3].indicators[0].bounds.unacceptable", "missing_key")
    }


@pytest.mark.parametrize(
    ("tiers", "expected"),
    [
        (
            {"bands": [{"name": "A", "at_least": 0.8}, {"name": "B", "at_least": 0.9}]},
            {("tiers.bands", "tiers_not_descending")},
        ),
        (
            {"bands": [{"name": "A", "at_least": 0.8}, {"name": "B", "at_least": 0.5}]},
            {("tiers.bands[1].at_least", "last_tier_not_zero")},
        ),
        (
            {"bands": [{"name": "A", "at_least": 0.8}, {"name": "A", "at_least": 0.0}]},
            {("tiers.bands", "duplicate_tier")},
        ),
        (
            {"bands": [{"name": "A", "at_least": -0.1}]},
            {("tiers.bands[0].at_least", "out_of_range")},
        ),
        (
            {
                "by": "rank_share",
                "bands": [{"name": "A", "up_to": 0.5}, {"name": "B", "up_to": 0.3}],
            },
            {("tiers.bands", "tiers_not_ascending")},
        ),
        (
            {
                "by": "rank_share",
                "bands": [{"name": "A", "up_to": 0.25}, {"name": "B", "up_to": 0.9}],
            },
            {("tiers.bands[1].up_to", "last_tier_not_one")},
        ),
        (
            {
                "by": "rank_share",
                "bands": [{"name": "A", "up_to": 0.0}, {"name": "B", "up_to": 1.0}],
            },
            {("tiers.bands[0].up_to", "first_tier_empty")},
        ),
        (
            {"by": "rank_share", "bands": [{"name": "A", "up_to": 1.5}]},
            {("tiers.bands[0].up_to", "out_of_range")},
        ),
        (
            {"by": "rank_share", "bands": [{"name": "A", "at_least": 0.5}]},
            {("tiers.bands[0].at_least", "unknown_key"), ("tiers.bands[0].up_to", "missing_key")},
        ),
        (
            {"by": "merit", "bands": [{"name": "A", "at_least": 0.0}]},
            {("tiers.by", "not_a_choice")},
        ),
        ({"bands": []}, {("tiers.bands", "empty_list")}),
    ],
)
def test_bad_tier_bands_are_refused(tiers: dict[str, Any], expected: set[tuple[str, str]]) -> None:
    data = plan_data()
    data["tiers"] = tiers
    assert problems(data) == expected


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ({"monthly_report_due_day": 0}, ("schedule.monthly_report_due_day", "out_of_range")),
        ({"monthly_report_due_day": 5.5}, ("schedule.monthly_report_due_day", "not_an_integer")),
        ({"remind_days_before": [3, "one"]}, ("schedule.remind_days_before", "bad_reminder_days")),
        (
            {"remind_days_before": [3, 3]},
            ("schedule.remind_days_before", "duplicate_reminder_days"),
        ),
        ({"remind_days_before": []}, ("schedule.remind_days_before", "empty_list")),
        ({"quiet_hours": ["22:00"]}, ("schedule.quiet_hours", "bad_quiet_hours")),
        ({"quiet_hours": ["22:00", "8:00"]}, ("schedule.quiet_hours", "bad_quiet_hours")),
        ({"alarm": "07:00"}, ("schedule.alarm", "unknown_key")),
    ],
)
def test_a_bad_schedule_is_refused(schedule: dict[str, Any], expected: tuple[str, str]) -> None:
    data = plan_data()
    data["schedule"] = schedule
    assert problems(data) == {expected}


@pytest.mark.parametrize("bad", ["fifty", True, None, [50], float("nan"), float("inf")])
def test_points_must_be_a_number(bad: object) -> None:
    data = plan_data()
    data["development"]["categories"][0]["indicators"][0]["points"] = bad
    assert ("development.categories[0].indicators[0].points", "not_a_number") in problems(data)


@pytest.mark.parametrize(
    ("location", "value", "code"),
    [
        (("development", "base_share"), "0.7", "not_a_number"),
        (("development", "base_share"), 1.5, "out_of_range"),
        (("development", "when_all_equal"), "half", "not_a_choice"),
        (("development", "missing_value"), "average", "not_a_choice"),
        (("work", "daily_weight"), -0.1, "out_of_range"),
        (("work", "trim_above"), 1, "out_of_range"),
        (("bonus", "points_per_item"), "ten", "not_a_number"),
        (("year",), "2019", "not_an_integer"),
        (("timezone",), "Mars/Olympus", "unknown_timezone"),
    ],
)
def test_bad_settings_are_refused(location: tuple[str, ...], value: object, code: str) -> None:
    data = plan_data()
    target = data
    for key in location[:-1]:
        target = target[key]
    target[location[-1]] = value
    assert problems(data) == {(".".join(location), code)}


def test_a_clamp_must_be_true_or_false() -> None:
    data = plan_data()
    data["development"]["categories"][3]["indicators"][0]["clamp"] = "yes"
    assert problems(data) == {("development.categories[3].indicators[0].clamp", "not_a_boolean")}


def test_codes_must_look_like_codes() -> None:
    data = plan_data()
    data["development"]["categories"][0]["indicators"][0]["code"] = "GDP growth"
    assert problems(data) == {("development.categories[0].indicators[0].code", "bad_code")}


def test_required_keys_are_missing_keys() -> None:
    assert problems(plan_data(year=REMOVE, work=REMOVE)) == {
        ("year", "missing_key"),
        ("work", "missing_key"),
    }


def test_a_deduction_must_name_a_work_item() -> None:
    data = plan_data()
    data["work"]["deductions"]["report_late"]["item"] = "party_work"
    assert problems(data) == {("work.deductions.report_late.item", "unknown_work_item")}


def deductions_of(plan: Any) -> dict[str, tuple[str, float]]:
    """The deductions in force of a parsed plan, by event name."""
    return {k.value: (d.item, d.points) for k, d in plan.work.deductions.items()}


def test_a_partial_deductions_block_keeps_the_defaults_of_the_events_it_leaves_out() -> None:
    # scoring.md section 2: a plan naming only report_late must not make false reports free.
    data = plan_data()
    data["work"]["deductions"] = {"report_late": {"item": "basic_work", "points": 3}}
    assert deductions_of(parse_plan(data)) == {
        "report_late": ("basic_work", 3.0),
        "report_missing": ("basic_work", 2.0),
        "rectification_overdue": ("key_work", 2.0),
        "false_report": ("basic_work", 10.0),
    }


def test_an_empty_deductions_block_keeps_every_default() -> None:
    data = plan_data()
    data["work"]["deductions"] = {}
    assert deductions_of(parse_plan(data)) == deductions_of(parse_plan(plan_data()))


def test_points_zero_switches_one_event_off_and_item_or_points_alone_override_half() -> None:
    data = plan_data()
    data["work"]["deductions"] = {
        "false_report": {"points": 0},
        "report_missing": {"item": "key_work"},
        "rectification_overdue": {"points": 5},
    }
    assert deductions_of(parse_plan(data)) == {
        "report_late": ("basic_work", 1.0),
        "report_missing": ("key_work", 2.0),
        "rectification_overdue": ("key_work", 5.0),
    }


def test_a_default_deduction_whose_item_the_plan_lacks_is_named_with_a_fix() -> None:
    data = plan_data()
    data["work"]["items"][1]["code"] = "routine"  # basic_work renamed
    data["work"]["deductions"] = {"report_late": {"item": "routine", "points": 1}}
    with pytest.raises(PlanError) as excinfo:
        parse_plan(data)
    found = {(p.path, p.code, p.params["event"]) for p in excinfo.value.problems}
    assert found == {
        ("work.deductions", "default_deduction_without_item", "report_missing"),
        ("work.deductions", "default_deduction_without_item", "false_report"),
    }


def test_a_plan_without_a_deductions_block_and_other_items_is_told_to_name_them() -> None:
    data = plan_data()
    data["work"]["items"][1]["code"] = "routine"
    del data["work"]["deductions"]
    assert problems(data) == {("work", "default_deduction_without_item")}


def test_a_switched_off_event_needs_no_item_of_the_plan() -> None:
    data = plan_data()
    data["work"]["items"][1]["code"] = "routine"
    data["work"]["deductions"] = {
        kind: {"points": 0} for kind in ("report_late", "report_missing", "false_report")
    }
    assert deductions_of(parse_plan(data)) == {"rectification_overdue": ("key_work", 2.0)}


@pytest.mark.parametrize("data", [None, [], "plan", 2019])
def test_a_plan_that_is_not_a_mapping_is_refused(data: object) -> None:
    assert problems(data) == {("(plan)", "not_a_mapping")}


# --- through the plan file loader: YAML errors and line numbers -------------------------------


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first line of `text` containing `needle`."""
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_the_default_plan_text_loads() -> None:
    plan = load_plan_text(default_plan_text(2025))
    assert plan.year == 2025
    assert "2025" in plan.title


def test_a_yaml_syntax_error_gives_its_line() -> None:
    text = default_plan_text(2025).replace("timezone: Asia/Shanghai", "timezone: Asia: Shanghai")
    with pytest.raises(PlanFileError) as excinfo:
        load_plan_text(text, "plan.yaml")
    err = excinfo.value
    assert err.code == "yaml_syntax"
    assert err.file == "plan.yaml"
    assert err.params["line"] == line_of(text, "timezone:")
    assert isinstance(err.params["column"], int)
    assert err.params["column"] > 0
    assert err.problems == ()


def test_plan_problems_carry_the_line_of_each_problem() -> None:
    text = default_plan_text(2025)
    text = text.replace("points: 600", "points: 610")
    text = text.replace("daily_weight: 0.4 ", "daily_weight: 1.4 ")
    with pytest.raises(PlanFileError) as excinfo:
        load_plan_text(text)
    err = excinfo.value
    assert err.code == "problems"
    assert err.params == {"count": 2}
    lines = {p.path: line for p, line in zip(err.problems, err.lines, strict=True)}
    assert lines == {
        "development.points": line_of(text, "points: 610"),
        "work.daily_weight": line_of(text, "daily_weight: 1.4"),
    }


def test_a_problem_inside_a_flow_mapping_gets_the_line_of_its_key() -> None:
    text = default_plan_text(2025).replace(
        "{code: pm25, name: PM2.5平均浓度,", "{code: pm25, colour: grey, name: PM2.5平均浓度,"
    )
    with pytest.raises(PlanFileError) as excinfo:
        load_plan_text(text)
    err = excinfo.value
    assert [p.path for p in err.problems] == ["development.categories[3].indicators[1].colour"]
    assert err.lines == (line_of(text, "colour: grey"),)


@pytest.mark.parametrize("reserved", ["total", "bonus", "rank", "development", "flags"])
def test_a_work_item_may_not_take_the_name_of_a_result_field(reserved: str) -> None:
    # Item codes are keys of each unit's entry in the results JSON (scoring.md section 6), next
    # to unit, name, rank, tier, total, development, bonus, deductions, indicators, items, flags;
    # an item called `total` would overwrite the unit's total there.
    data = plan_data()
    data["work"]["items"][0]["code"] = reserved
    data["work"]["deductions"]["rectification_overdue"]["item"] = reserved
    with pytest.raises(PlanError) as excinfo:
        parse_plan(data)
    assert [p.path for p in excinfo.value.problems] == ["work.items[0].code"]


def test_the_reminder_timing_keys_are_read() -> None:
    plan = parse_plan(
        plan_data(
            schedule={
                "overdue_notice_days": 5,
                "escalate_after_days": 2,
                "send_at": "10:30",
                "digest_at": "07:45",
                "stale_after_hours": 6,
            }
        )
    )
    s = plan.schedule
    assert (s.overdue_notice_days, s.escalate_after_days) == (5, 2)
    assert (s.send_at, s.digest_at, s.stale_after_hours) == ("10:30", "07:45", 6)


def test_the_reminder_timing_keys_have_defaults() -> None:
    s = parse_plan(plan_data(schedule=REMOVE)).schedule
    assert (s.overdue_notice_days, s.escalate_after_days) == (3, 3)
    assert (s.send_at, s.digest_at, s.stale_after_hours) == ("09:00", "08:30", 24)


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ({"send_at": "9:00"}, ("schedule.send_at", "bad_time")),
        ({"digest_at": 830}, ("schedule.digest_at", "bad_time")),
        ({"overdue_notice_days": -1}, ("schedule.overdue_notice_days", "out_of_range")),
        ({"escalate_after_days": "3"}, ("schedule.escalate_after_days", "not_an_integer")),
        ({"stale_after_hours": 0}, ("schedule.stale_after_hours", "out_of_range")),
    ],
)
def test_bad_reminder_timing_is_refused(
    schedule: dict[str, Any], expected: tuple[str, str]
) -> None:
    data = plan_data()
    data["schedule"].update(schedule)
    assert problems(data) == {expected}


# --- an indicator's measurement unit is optional ----------------------------------------------


@pytest.mark.parametrize("measure", ['unit: ""', "unit: null", "unit: ~", "", 'unit: "  "'])
def test_an_indicator_without_a_measurement_unit_is_accepted(measure: str) -> None:
    text = default_plan_text(2025).replace('unit: "%", ', f"{measure}, " if measure else "", 1)
    assert text != default_plan_text(2025)
    plan = load_plan_text(text)
    assert plan.development.indicators[0].unit == ""
    assert plan.development.indicators[1].unit == "%"


@pytest.mark.parametrize("bad", [5, ["%"], {"a": 1}, True])
def test_a_measurement_unit_that_is_not_text_is_refused(bad: object) -> None:
    data = plan_data()
    data["development"]["categories"][0]["indicators"][0]["unit"] = bad
    assert problems(data) == {("development.categories[0].indicators[0].unit", "not_a_text")}
