"""Small builders of plans, units and scoring input, shared by the tests."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import yaml

from scoring import (
    BonusItem,
    EventCount,
    EventKind,
    Grade,
    GradeRecord,
    Group,
    IndicatorValues,
    Plan,
    Unit,
    parse_plan,
)
from services.files.plan_file import default_plan_text

YEAR = 2025

# Put this as an override value to delete the key from the default plan data.
REMOVE: Any = object()


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `base` with `overrides` merged in: mappings merge, anything else replaces."""
    out = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if value is REMOVE:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def plan_data(year: int = YEAR, /, **overrides: Any) -> dict[str, Any]:
    """The default plan as plain YAML data, with `overrides` deep-merged in."""
    return deep_merge(yaml.safe_load(default_plan_text(year)), overrides)


def make_plan(year: int = YEAR, /, **overrides: Any) -> Plan:
    """The default plan of `year` with `overrides` deep-merged into its YAML data."""
    return parse_plan(plan_data(year, **overrides))


def indicator(
    code: str,
    points: float,
    direction: str = "higher",
    bounds: tuple[float, float] | None = None,
    clamp: bool | None = None,
) -> dict[str, Any]:
    """The YAML data of one indicator; `bounds` is (satisfactory, unacceptable)."""
    data: dict[str, Any] = {"code": code, "name": code, "points": points, "direction": direction}
    if bounds is not None:
        data["bounds"] = {"satisfactory": bounds[0], "unacceptable": bounds[1]}
    if clamp is not None:
        data["clamp"] = clamp
    return data


def development(*indicators: dict[str, Any], **settings: Any) -> dict[str, Any]:
    """A `development` override with one category holding `indicators`; points are their sum."""
    return {
        "points": sum(ind["points"] for ind in indicators),
        "categories": [{"code": "only", "name": "唯一类别", "indicators": list(indicators)}],
        **settings,
    }


def town(code: str, name: str | None = None) -> Unit:
    """A town (镇街) named after its code unless told."""
    return Unit(code, name or f"{code}镇", Group.TOWN)


def department(code: str, name: str | None = None) -> Unit:
    """A zone or department (部门) named after its code unless told."""
    return Unit(code, name or f"{code}局", Group.ZONE_OR_DEPARTMENT)


def values(
    rows: Mapping[str, Mapping[str, float | None]], indicators: list[str] | None = None
) -> IndicatorValues:
    """Indicator values from `{unit: {indicator: value or None}}`; columns in first-seen order."""
    if indicators is None:
        indicators = list(dict.fromkeys(code for row in rows.values() for code in row))
    return IndicatorValues.from_rows(rows, indicators)


def column(indicator_code: str, **by_unit: float | None) -> IndicatorValues:
    """Values of one indicator: `column("gdp", a=5.0, b=None)`."""
    return values({unit: {indicator_code: v} for unit, v in by_unit.items()}, [indicator_code])


def grades(unit: str, item: str, period: str, *given: Grade | str) -> list[GradeRecord]:
    """One grade per rater (r1, r2, …) of one unit's item for one period."""
    return [
        GradeRecord(unit, item, period, f"r{i}", Grade(g)) for i, g in enumerate(given, start=1)
    ]


def approved(unit: str, count: int) -> list[BonusItem]:
    """`count` approved bonus items of a unit."""
    return [BonusItem(unit, f"{unit}创新{i}", True) for i in range(count)]


def events(unit: str, kind: EventKind | str, count: int) -> EventCount:
    """An event count of a unit."""
    return EventCount(unit, EventKind(kind), count)
