"""The assessment year a person means when they name none (domain.md, "The assessment year").

The year-end evaluation of year Y happens in January-March of Y+1, so the calendar year is not
the year people mean: by default it is the latest year whose plan is loaded and that has not been
closed. A plan loaded ahead for a later calendar year does not become the default before its
year begins (in December, the plan of next year is being prepared, not assessed). Pure: the
caller reads the years from storage and gives today's date in the plan's time zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

# The years a person can name (what the command line accepts too).
FIRST_YEAR = 2000
LAST_YEAR = 2100


def assessment_year(
    today: date, plan_years: Iterable[int], closed_years: Iterable[int] = ()
) -> int:
    """The default assessment year: the latest loaded, unclosed year not after today's year.

    Without such a year, the earliest loaded unclosed year after it (a plan prepared ahead on a
    new installation); without any, today's calendar year (whose missing plan is then named).
    """
    closed = set(closed_years)
    open_years = sorted({y for y in plan_years if y not in closed})
    past = [y for y in open_years if y <= today.year]
    if past:
        return past[-1]
    return open_years[0] if open_years else today.year


def parse_year(word: str) -> int | None:
    """A year as typed (four digits, 2000-2100), else None."""
    text = word.strip()
    if len(text) == 4 and text.isdigit() and FIRST_YEAR <= int(text) <= LAST_YEAR:
        return int(text)
    return None


def split_year(words: Iterable[str]) -> tuple[int | None, list[str]]:
    """The last word that is a year (None if none) and the other words, in order.

    `/unit 店子镇 2025` names the unit and the year; a unit named by digits only is rare
    enough that a trailing four-digit word is read as the year.
    """
    rest = list(words)
    for index in range(len(rest) - 1, -1, -1):
        year = parse_year(rest[index])
        if year is not None:
            return year, rest[:index] + rest[index + 1 :]
    return None, rest
