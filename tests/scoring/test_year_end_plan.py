"""The plan's `work.year_end` block (scoring.md §2b): defaults, and every broken rule listed."""

from __future__ import annotations

from typing import Any

import pytest

from scoring import Grade, PlanError, parse_plan
from scoring.plan import RectificationBand, YearEnd, YearEndSource
from tests.factories import REMOVE, plan_data


def with_year_end(year_end: Any, **work: Any) -> dict[str, Any]:
    """The default plan's data with this year_end block in place of its own."""
    data = plan_data(work=work)
    data["work"]["year_end"] = year_end
    return data


def problems(data: Any) -> set[tuple[str, str]]:
    """(path, code) of every problem the parser finds; fails if it finds none."""
    with pytest.raises(PlanError) as excinfo:
        parse_plan(data)
    return {(p.path, p.code) for p in excinfo.value.problems}


def test_the_default_plan_documents_the_block_with_the_panel_alone() -> None:
    year_end = parse_plan(plan_data()).work.year_end
    assert year_end == YearEnd()
    assert year_end.sources == {YearEndSource.PANEL: 1.0}
    assert year_end.peer_items == ("key_work",)
    assert year_end.rectification_items == ("key_work", "basic_work")
    assert year_end.rectification_bands == (
        RectificationBand(Grade.EXCELLENT, 0.95),
        RectificationBand(Grade.GOOD, 0.80),
        RectificationBand(Grade.FAIR, 0.60),
        RectificationBand(Grade.POOR, 0.0),
    )


def test_a_plan_without_the_block_gets_the_defaults() -> None:
    assert parse_plan(plan_data(work={"year_end": REMOVE})).work.year_end == YearEnd()


def test_the_contract_example_parses() -> None:
    data = with_year_end(
        {
            "sources": {"panel": 0.6, "peer": 0.3, "rectification": 0.1},
            "peer_items": ["key_work"],
            "rectification_items": ["key_work", "basic_work"],
        }
    )
    year_end = parse_plan(data).work.year_end
    assert year_end.sources == {
        YearEndSource.PANEL: 0.6,
        YearEndSource.PEER: 0.3,
        YearEndSource.RECTIFICATION: 0.1,
    }
    assert year_end.applies(YearEndSource.PEER, "key_work")
    assert not year_end.applies(YearEndSource.PEER, "basic_work")
    assert year_end.applies(YearEndSource.RECTIFICATION, "basic_work")


def test_a_source_weighed_zero_is_switched_off() -> None:
    data = with_year_end({"sources": {"panel": 1.0, "peer": 0}})
    assert parse_plan(data).work.year_end.sources == {YearEndSource.PANEL: 1.0}


def test_every_broken_rule_of_the_block_is_listed_at_once() -> None:
    data = with_year_end(
        {
            "sources": {"panel": -1, "peers": 0.3, "rectification": "much"},
            "peer_items": ["key_work", "key_work", "2bad"],
            "rectification_items": ["no_such_item"],
            "rectification_bands": [
                {"grade": "good", "at_least": 0.5},
                {"grade": "excellent", "at_least": 0.8},
                {"grade": "superb", "at_least": 1.5},
            ],
            "weights": {},
        }
    )
    assert problems(data) == {
        ("work.year_end.sources.panel", "out_of_range"),
        ("work.year_end.sources.peers", "unknown_key"),
        ("work.year_end.sources.rectification", "not_a_number"),
        ("work.year_end.peer_items[1]", "duplicate_item"),
        ("work.year_end.peer_items[2]", "bad_code"),
        ("work.year_end.rectification_bands[2].grade", "not_a_choice"),
        ("work.year_end.rectification_bands[2].at_least", "out_of_range"),
        ("work.year_end.weights", "unknown_key"),
    }


def test_bands_must_fall_end_at_zero_and_run_from_the_best_grade() -> None:
    data = with_year_end(
        {
            "rectification_bands": [
                {"grade": "fair", "at_least": 0.6},
                {"grade": "excellent", "at_least": 0.9},
                {"grade": "poor", "at_least": 0.1},
            ]
        }
    )
    assert problems(data) == {
        ("work.year_end.rectification_bands", "bands_not_descending"),
        ("work.year_end.rectification_bands", "band_grades_not_descending"),
    }
    data = with_year_end({"rectification_bands": [{"grade": "excellent", "at_least": 0.5}]})
    assert problems(data) == {
        ("work.year_end.rectification_bands[0].at_least", "last_band_not_zero")
    }


def test_the_items_of_a_source_must_exist() -> None:
    data = with_year_end(
        {"sources": {"panel": 0.5, "peer": 0.5}, "peer_items": ["key_work", "innovation"]}
    )
    assert problems(data) == {("work.year_end.peer_items[1]", "year_end_unknown_item")}


def test_no_source_at_all_is_refused() -> None:
    assert problems(with_year_end({"sources": {"panel": 0}})) == {
        ("work.year_end.sources", "no_year_end_source")
    }
    assert problems(with_year_end({"sources": "panel"})) == {
        ("work.year_end.sources", "not_a_mapping")
    }


def test_every_item_needs_a_source_that_applies_to_it() -> None:
    data = with_year_end({"sources": {"peer": 1.0}, "peer_items": ["key_work"]})
    assert problems(data) == {("work.items[1].code", "item_without_year_end_source")}


def test_default_lists_of_unused_sources_are_not_checked_against_the_items() -> None:
    # A plan whose items are not key_work/basic_work, with the panel alone, is fine.
    data = plan_data(
        work={
            "points": 400,
            "items": [
                {"code": "reform", "name": "改革", "points": 300},
                {"code": "publicity", "name": "宣传", "points": 100},
            ],
            "deductions": {
                "report_late": {"item": "publicity", "points": 1},
                "report_missing": {"item": "publicity", "points": 2},
                "rectification_overdue": {"item": "reform", "points": 2},
                "false_report": {"item": "publicity", "points": 10},
            },
            "year_end": {"sources": {"panel": 1.0}},
        }
    )
    assert parse_plan(data).work.year_end.peer_items == ("key_work",)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_problem_of_the_block_has_a_message(language: str) -> None:
    from templates import render

    params: dict[str, Any] = {
        "sources": ["panel"],
        "item": "key_work",
        "items": ["key_work"],
        "got": ["good", "excellent"],
    }
    for code in (
        "no_year_end_source",
        "duplicate_item",
        "bands_not_descending",
        "last_band_not_zero",
        "band_grades_not_descending",
        "year_end_unknown_item",
        "item_without_year_end_source",
    ):
        assert render(f"plan.{code}", language, **params)
