"""The assessment year meant when none is named (domain.md): the latest loaded, unclosed year,
never a year that has not begun while an earlier one is open."""

from __future__ import annotations

from datetime import date

import pytest

from scoring.assessment_year import assessment_year, parse_year, split_year


def test_in_january_the_year_before_is_still_assessed() -> None:
    assert assessment_year(date(2026, 1, 15), [2025]) == 2025


def test_in_march_the_year_before_until_this_years_plan_is_loaded() -> None:
    assert assessment_year(date(2026, 3, 20), [2024, 2025]) == 2025
    assert assessment_year(date(2026, 3, 20), [2025, 2026]) == 2026


def test_a_closed_year_is_passed_over() -> None:
    assert assessment_year(date(2026, 3, 20), [2025, 2026], closed_years=[2026]) == 2025
    assert assessment_year(date(2026, 3, 20), [2025], closed_years=[2025]) == 2026


def test_in_december_next_years_plan_loaded_ahead_is_not_the_default() -> None:
    assert assessment_year(date(2026, 12, 20), [2025, 2026, 2027]) == 2026
    assert assessment_year(date(2026, 12, 20), [2025, 2026, 2027], [2026]) == 2025


def test_only_a_plan_loaded_ahead_is_the_default_on_a_new_installation() -> None:
    assert assessment_year(date(2026, 12, 20), [2028, 2027]) == 2027


def test_without_any_plan_the_calendar_year() -> None:
    assert assessment_year(date(2026, 1, 1), []) == 2026


@pytest.mark.parametrize(
    ("word", "year"),
    [("2025", 2025), (" 2030 ", 2030), ("1999", None), ("25", None), ("二〇二五", None)],
)
def test_a_year_is_four_digits_in_range(word: str, year: int | None) -> None:
    assert parse_year(word) == year


def test_the_last_year_word_is_taken_out() -> None:
    assert split_year(["店子镇", "2025"]) == (2025, ["店子镇"])
    assert split_year(["2024", "店子镇"]) == (2024, ["店子镇"])
    assert split_year(["店子镇"]) == (None, ["店子镇"])
