"""Turn the plain data of a plan file into a `Plan`, listing every broken rule at once."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scoring.plan import (
    AllEqualPolicy,
    Bonus,
    Bounds,
    Category,
    Deduction,
    Development,
    Direction,
    EventKind,
    Grade,
    Indicator,
    MissingPolicy,
    Plan,
    RectificationBand,
    Schedule,
    TierBand,
    TierBasis,
    Tiers,
    Work,
    WorkItem,
    YearEnd,
    YearEndSource,
)
from scoring.problems import Location, PlanError, PlanProblem

E = TypeVar("E", bound=Any)

_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_EPS = 1e-6
# Work item codes are keys of each unit's JSON result beside these fields (scoring.md §6).
RESERVED_ITEM_CODES = frozenset(
    {
        "unit",
        "name",
        "rank",
        "tier",
        "total",
        "development",
        "bonus",
        "deductions",
        "indicators",
        "items",
        "flags",
    }
)
_MISSING = object()

_PLAN_KEYS = {"year", "title", "timezone", "development", "work", "bonus", "tiers", "schedule"}
_DEV_KEYS = {"points", "base_share", "when_all_equal", "missing_value", "categories"}
_CAT_KEYS = {"code", "name", "points", "indicators"}
_IND_KEYS = {"code", "name", "unit", "points", "direction", "bounds", "clamp"}
_BOUNDS_KEYS = {"satisfactory", "unacceptable"}
_WORK_KEYS = {
    "points",
    "items",
    "grades",
    "daily_weight",
    "trim_above",
    "deductions",
    "year_end",
}
_YEAR_END_KEYS = {"sources", "peer_items", "rectification_items", "rectification_bands"}
_BAND_KEYS = {"grade", "at_least"}
_ITEM_KEYS = {"code", "name", "points"}
_DEDUCTION_KEYS = {"item", "points"}
_BONUS_KEYS = {"points_per_item", "cap"}
_TIER_KEYS = {"by", "bands"}
_SCHEDULE_KEYS = {
    "monthly_report_due_day",
    "remind_days_before",
    "quiet_hours",
    "overdue_notice_days",
    "escalate_after_days",
    "send_at",
    "digest_at",
    "stale_after_hours",
}


class _Checker:
    """Reads values out of nested mappings, recording a problem instead of raising."""

    def __init__(self) -> None:
        self.problems: list[PlanProblem] = []

    def problem(self, location: Location, code: str, /, **params: object) -> None:
        self.problems.append(PlanProblem(location, code, params))

    def mapping(
        self, value: object, location: Location, allowed: set[str], required: set[str]
    ) -> Mapping[str, Any] | None:
        if not isinstance(value, Mapping):
            self.problem(location, "not_a_mapping", got=_kind(value))
            return None
        for key in value:
            if not isinstance(key, str) or key not in allowed:
                self.problem((*location, str(key)), "unknown_key", allowed=sorted(allowed))
        for key in sorted(required):
            if key not in value:
                self.problem((*location, key), "missing_key")
        return value

    def number(
        self,
        m: Mapping[str, Any],
        key: str,
        location: Location,
        default: object = _MISSING,
        low: float | None = None,
        high: float | None = None,
        positive: bool = False,
    ) -> float | None:
        if key not in m:
            return None if default is _MISSING or default is None else float(default)  # type: ignore[arg-type]
        value = m[key]
        loc = (*location, key)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            self.problem(loc, "not_a_number", got=_shown(value))
            return None
        if positive and value <= 0:
            self.problem(loc, "not_positive", got=value)
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            self.problem(loc, "out_of_range", got=value, low=low, high=high)
            return None
        return float(value)

    def integer(
        self,
        m: Mapping[str, Any],
        key: str,
        location: Location,
        default: object = _MISSING,
        low: int | None = None,
        high: int | None = None,
    ) -> int | None:
        if key not in m:
            return None if default is _MISSING else int(default)  # type: ignore[call-overload]
        value = m[key]
        loc = (*location, key)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(loc, "not_an_integer", got=_shown(value))
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            self.problem(loc, "out_of_range", got=value, low=low, high=high)
            return None
        return value

    def text(
        self, m: Mapping[str, Any], key: str, location: Location, default: object = _MISSING
    ) -> str | None:
        if key not in m:
            return None if default is _MISSING else str(default)
        value = m[key]
        if not isinstance(value, str) or not value.strip():
            self.problem((*location, key), "not_a_text", got=_shown(value))
            return None
        return value.strip()

    def optional_text(self, m: Mapping[str, Any], key: str, location: Location) -> str:
        """A text that may be left out, null or empty (all three read as "")."""
        value = m.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.problem((*location, key), "not_a_text", got=_shown(value))
            return ""
        return value.strip()

    def code(self, m: Mapping[str, Any], key: str, location: Location) -> str | None:
        value = self.text(m, key, location)
        if value is not None and not _CODE.match(value):
            self.problem((*location, key), "bad_code", got=value)
            return None
        return value

    def choice(
        self,
        m: Mapping[str, Any],
        key: str,
        location: Location,
        enum: Callable[[str], E],
        choices: list[str],
        default: E,
    ) -> E | None:
        value = m.get(key, _MISSING)
        if value is _MISSING:
            return default
        if not isinstance(value, str) or value not in choices:
            self.problem((*location, key), "not_a_choice", got=_shown(value), choices=choices)
            return None
        return enum(value)

    def boolean(
        self, m: Mapping[str, Any], key: str, location: Location, default: bool
    ) -> bool | None:
        value = m.get(key, _MISSING)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            self.problem((*location, key), "not_a_boolean", got=_shown(value))
            return None
        return value

    def sequence(self, m: Mapping[str, Any], key: str, location: Location) -> list[Any] | None:
        value = m.get(key, _MISSING)
        if value is _MISSING:
            return None
        if not isinstance(value, list):
            self.problem((*location, key), "not_a_list", got=_kind(value))
            return None
        if not value:
            self.problem((*location, key), "empty_list")
            return None
        return value


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "list"
    if isinstance(value, Mapping):
        return "mapping"
    return type(value).__name__


def _shown(value: object) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 40 else text[:37] + "..."


def parse_plan(data: object) -> Plan:
    """Build a `Plan` from parsed YAML data, or raise `PlanError` listing every broken rule."""
    chk = _Checker()
    root = chk.mapping(data, (), _PLAN_KEYS, {"year", "development", "work"})
    if root is None:
        raise PlanError(chk.problems)
    year = chk.integer(root, "year", (), low=2000, high=2100)
    title = chk.text(root, "title", (), default="")
    timezone = chk.text(root, "timezone", (), default="Asia/Shanghai")
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            chk.problem(("timezone",), "unknown_timezone", got=timezone)
            timezone = None
    development = _development(chk, root.get("development", _MISSING))
    work = _work(chk, root.get("work", _MISSING))
    bonus = _bonus(chk, root.get("bonus", {}))
    tiers = _tiers(chk, root.get("tiers", _MISSING))
    schedule = _schedule(chk, root.get("schedule", {}))
    if development is not None and work is not None:
        _cross_checks(chk, development, work)
    if chk.problems:
        raise PlanError(chk.problems)
    assert year is not None and title is not None and timezone is not None
    assert development is not None and work is not None
    assert bonus is not None and tiers is not None and schedule is not None
    return Plan(
        year=year,
        title=title,
        timezone=timezone,
        development=development,
        work=work,
        bonus=bonus,
        tiers=tiers,
        schedule=schedule,
    )


def _development(chk: _Checker, value: object) -> Development | None:
    if value is _MISSING:
        return None
    loc: Location = ("development",)
    m = chk.mapping(value, loc, _DEV_KEYS, {"points", "categories"})
    if m is None:
        return None
    points = chk.number(m, "points", loc, positive=True)
    base_share = chk.number(m, "base_share", loc, default=0.70, low=0.0, high=1.0)
    when_all_equal = chk.choice(
        m,
        "when_all_equal",
        loc,
        AllEqualPolicy,
        [p.value for p in AllEqualPolicy],
        AllEqualPolicy.FULL,
    )
    missing_value = chk.choice(
        m,
        "missing_value",
        loc,
        MissingPolicy,
        [p.value for p in MissingPolicy],
        MissingPolicy.ZERO,
    )
    raw_categories = chk.sequence(m, "categories", loc)
    categories: list[Category] = []
    broken = raw_categories is None
    for ci, raw in enumerate(raw_categories or []):
        cat = _category(chk, raw, (*loc, "categories", ci))
        if cat is None:
            broken = True
        else:
            categories.append(cat)
    if broken:
        return None
    # A broken setting is already recorded; its default stands in so the other rules still run.
    total = sum(ind.points for cat in categories for ind in cat.indicators)
    if points is not None and abs(total - points) > _EPS:
        chk.problem((*loc, "points"), "points_do_not_add_up", expected=points, got=total)
    return Development(
        points if points is not None else total,
        tuple(categories),
        base_share if base_share is not None else 0.70,
        when_all_equal or AllEqualPolicy.FULL,
        missing_value or MissingPolicy.ZERO,
    )


def _category(chk: _Checker, raw: object, loc: Location) -> Category | None:
    m = chk.mapping(raw, loc, _CAT_KEYS, {"code", "name", "indicators"})
    if m is None:
        return None
    code = chk.code(m, "code", loc)
    name = chk.text(m, "name", loc)
    points = chk.number(m, "points", loc, default=None, positive=True) if "points" in m else None
    raw_indicators = chk.sequence(m, "indicators", loc)
    indicators: list[Indicator] = []
    broken = raw_indicators is None or code is None or name is None
    for ii, raw_ind in enumerate(raw_indicators or []):
        ind = _indicator(chk, raw_ind, (*loc, "indicators", ii), code or "")
        if ind is None:
            broken = True
        else:
            indicators.append(ind)
    if "points" in m and points is None:
        broken = True
    if broken:
        return None
    assert code is not None and name is not None
    if points is not None:
        total = sum(ind.points for ind in indicators)
        if abs(total - points) > _EPS:
            chk.problem((*loc, "points"), "points_do_not_add_up", expected=points, got=total)
    return Category(code, name, tuple(indicators), points)


def _indicator(chk: _Checker, raw: object, loc: Location, category: str) -> Indicator | None:
    m = chk.mapping(raw, loc, _IND_KEYS, {"code", "name", "points"})
    if m is None:
        return None
    code = chk.code(m, "code", loc)
    name = chk.text(m, "name", loc)
    # Many indicators have no measurement unit (an index, a ratio, a count): "", null or no
    # key at all all mean none.
    unit = chk.optional_text(m, "unit", loc)
    points = chk.number(m, "points", loc, positive=True)
    direction = chk.choice(
        m, "direction", loc, Direction, [d.value for d in Direction], Direction.HIGHER
    )
    clamp = chk.boolean(m, "clamp", loc, default=True)
    bounds: Bounds | None = None
    if "bounds" in m:
        bloc = (*loc, "bounds")
        bm = chk.mapping(m["bounds"], bloc, _BOUNDS_KEYS, _BOUNDS_KEYS)
        if bm is not None:
            sat = chk.number(bm, "satisfactory", bloc)
            una = chk.number(bm, "unacceptable", bloc)
            if sat is not None and una is not None:
                if abs(sat - una) <= 0.0:
                    chk.problem(bloc, "bounds_equal", value=sat)
                elif direction is Direction.HIGHER and sat < una:
                    chk.problem(bloc, "bounds_against_direction", direction="higher")
                elif direction is Direction.LOWER and sat > una:
                    chk.problem(bloc, "bounds_against_direction", direction="lower")
                else:
                    bounds = Bounds(sat, una)
    # Bad bounds are recorded already; keeping the indicator lets the other rules run.
    if None in (code, name, unit, points, direction, clamp):
        return None
    assert code is not None and name is not None and unit is not None
    assert points is not None and direction is not None and clamp is not None
    return Indicator(code, name, points, category, unit, direction, bounds, clamp)


def _work(chk: _Checker, value: object) -> Work | None:
    if value is _MISSING:
        return None
    loc: Location = ("work",)
    m = chk.mapping(value, loc, _WORK_KEYS, {"items"})
    if m is None:
        return None
    points = chk.number(m, "points", loc, default=None, positive=True) if "points" in m else None
    raw_items = chk.sequence(m, "items", loc)
    items: list[WorkItem] = []
    broken = raw_items is None or ("points" in m and points is None)
    for i, raw in enumerate(raw_items or []):
        iloc = (*loc, "items", i)
        im = chk.mapping(raw, iloc, _ITEM_KEYS, _ITEM_KEYS)
        if im is None:
            broken = True
            continue
        code = chk.code(im, "code", iloc)
        name = chk.text(im, "name", iloc)
        ipoints = chk.number(im, "points", iloc, positive=True)
        if code is None or name is None or ipoints is None:
            broken = True
            continue
        items.append(WorkItem(code, name, ipoints))
    grades = _grades(chk, m.get("grades", _MISSING), (*loc, "grades"))
    daily_weight = chk.number(m, "daily_weight", loc, default=0.4, low=0.0, high=1.0)
    trim_above = chk.integer(m, "trim_above", loc, default=5, low=2)
    raw_deductions = m.get("deductions", _MISSING)
    deductions = _deductions(chk, raw_deductions, (*loc, "deductions"))
    year_end = _year_end(chk, m.get("year_end", _MISSING), (*loc, "year_end"))
    if broken:
        return None
    if deductions is not None:
        _check_deduction_items(chk, deductions, raw_deductions, loc, {i.code for i in items})
    if points is not None:
        total = sum(item.points for item in items)
        if abs(total - points) > _EPS:
            chk.problem((*loc, "points"), "points_do_not_add_up", expected=points, got=total)
    # A broken setting is already recorded; its default stands in so the other rules still run.
    return Work(
        tuple(items),
        grades if grades is not None else Work(items=()).grades,
        daily_weight if daily_weight is not None else 0.4,
        trim_above if trim_above is not None else 5,
        deductions if deductions is not None else {},
        points,
        year_end if year_end is not None else YearEnd(),
    )


def _grades(chk: _Checker, value: object, loc: Location) -> dict[Grade, float] | None:
    if value is _MISSING:
        return Work(items=()).grades
    names = [g.value for g in Grade]
    m = chk.mapping(value, loc, set(names), set())
    if m is None:
        return None
    out: dict[Grade, float] = {}
    for grade in Grade:
        if m.get(grade.value) is None:
            chk.problem((*loc, grade.value), "grade_without_coefficient")
            continue
        number = chk.number(m, grade.value, loc, low=0.0, high=1.0)
        if number is not None:
            out[grade] = number
    if len(out) != len(Grade):
        return None
    ordered = [out[g] for g in Grade]
    if any(a < b for a, b in itertools.pairwise(ordered)):
        chk.problem(loc, "grades_not_descending", got=ordered)
        return None
    return out


def _deductions(chk: _Checker, value: object, loc: Location) -> dict[EventKind, Deduction] | None:
    """The deductions in force: the defaults, overridden event by event by the plan's block
    (scoring.md section 2). An event the block leaves out keeps its default; `points: 0`
    switches one off (it is then absent from the result); `item` or `points` alone overrides
    only that half of the default."""
    defaults = Work(items=()).deductions
    if value is _MISSING:
        return defaults
    kinds = {k.value for k in EventKind}
    m = chk.mapping(value, loc, kinds, set())
    if m is None:
        return None
    out: dict[EventKind, Deduction] = {}
    broken = False
    for kind in EventKind:
        default = defaults[kind]
        if kind.value not in m:
            out[kind] = default
            continue
        dloc = (*loc, kind.value)
        dm = chk.mapping(m[kind.value], dloc, _DEDUCTION_KEYS, set())
        if dm is None:
            broken = True
            continue
        item = chk.code(dm, "item", dloc) if "item" in dm else default.item
        points = chk.number(dm, "points", dloc, low=0.0) if "points" in dm else default.points
        if item is None or points is None:
            broken = True
            continue
        if points > 0:
            out[kind] = Deduction(item, points)
    return None if broken else out


def _year_end(chk: _Checker, value: object, loc: Location) -> YearEnd | None:
    """The year-end sources block (scoring.md §2b); None (problems recorded) if broken."""
    if value is _MISSING:
        return YearEnd()
    m = chk.mapping(value, loc, _YEAR_END_KEYS, set())
    if m is None:
        return None
    default = YearEnd()
    sources = _year_end_sources(chk, m.get("sources", _MISSING), (*loc, "sources"))
    peer_items = _item_codes(chk, m, "peer_items", loc, default.peer_items)
    rectification_items = _item_codes(
        chk, m, "rectification_items", loc, default.rectification_items
    )
    bands = _rectification_bands(chk, m.get("rectification_bands", _MISSING), loc)
    if sources is None or peer_items is None or rectification_items is None or bands is None:
        return None
    return YearEnd(sources, peer_items, rectification_items, bands)


def _year_end_sources(
    chk: _Checker, value: object, loc: Location
) -> dict[YearEndSource, float] | None:
    if value is _MISSING:
        return YearEnd().sources
    names = [s.value for s in YearEndSource]
    m = chk.mapping(value, loc, set(names), set())
    if m is None:
        return None
    out: dict[YearEndSource, float] = {}
    broken = False
    for source in YearEndSource:
        if source.value not in m:
            continue
        weight = chk.number(m, source.value, loc, low=0.0)
        if weight is None:
            broken = True
        elif weight > 0:  # a source weighed 0 is switched off
            out[source] = weight
    if broken:
        return None
    if not out:
        chk.problem(loc, "no_year_end_source", sources=names)
        return None
    return out


def _item_codes(
    chk: _Checker, m: Mapping[str, Any], key: str, loc: Location, default: tuple[str, ...]
) -> tuple[str, ...] | None:
    """A list of work item codes (checked against the items in `_cross_checks`)."""
    if key not in m:
        return default
    raw = chk.sequence(m, key, loc)
    if raw is None:
        return None
    codes: list[str] = []
    broken = False
    for i, code in enumerate(raw):
        if not isinstance(code, str) or not _CODE.match(code.strip()):
            chk.problem((*loc, key, i), "bad_code", got=_shown(code))
            broken = True
        elif code.strip() in codes:
            chk.problem((*loc, key, i), "duplicate_item", item=code.strip())
            broken = True
        else:
            codes.append(code.strip())
    return None if broken else tuple(codes)


def _rectification_bands(
    chk: _Checker, value: object, loc: Location
) -> tuple[RectificationBand, ...] | None:
    if value is _MISSING:
        return YearEnd().rectification_bands
    key = "rectification_bands"
    if not isinstance(value, list):
        chk.problem((*loc, key), "not_a_list", got=_kind(value))
        return None
    if not value:
        chk.problem((*loc, key), "empty_list")
        return None
    grades = [g.value for g in Grade]
    bands: list[RectificationBand] = []
    broken = False
    for i, raw in enumerate(value):
        bloc = (*loc, key, i)
        bm = chk.mapping(raw, bloc, _BAND_KEYS, _BAND_KEYS)
        if bm is None:
            broken = True
            continue
        grade = chk.choice(bm, "grade", bloc, Grade, grades, Grade.POOR)
        at_least = chk.number(bm, "at_least", bloc, low=0.0, high=1.0)
        if grade is None or at_least is None:
            broken = True
            continue
        bands.append(RectificationBand(grade, at_least))
    if broken:
        return None
    order = [grades.index(b.grade.value) for b in bands]
    thresholds = [b.at_least for b in bands]
    if any(a <= b for a, b in itertools.pairwise(thresholds)):
        chk.problem((*loc, key), "bands_not_descending")
        broken = True
    elif thresholds[-1] != 0.0:
        chk.problem((*loc, key, len(bands) - 1, "at_least"), "last_band_not_zero")
        broken = True
    if any(a >= b for a, b in itertools.pairwise(order)):
        # A better ratio must never earn a worse grade, and no grade twice.
        chk.problem((*loc, key), "band_grades_not_descending", got=[b.grade.value for b in bands])
        broken = True
    return None if broken else tuple(bands)


def _check_deduction_items(
    chk: _Checker,
    deductions: Mapping[EventKind, Deduction],
    raw: object,
    loc: Location,
    items: set[str],
) -> None:
    """Every deduction in force takes points from a work item of the plan."""
    named = raw if isinstance(raw, Mapping) else {}
    for kind, deduction in deductions.items():
        if deduction.item in items:
            continue
        given = named.get(kind.value)
        if isinstance(given, Mapping) and "item" in given:
            chk.problem(
                (*loc, "deductions", kind.value, "item"),
                "unknown_work_item",
                item=deduction.item,
                items=sorted(items),
            )
        else:
            # The default's item (or the item a points-only override keeps) is not in this plan.
            where = (*loc, "deductions", kind.value) if given is not None else (*loc, "deductions")
            chk.problem(
                where if isinstance(raw, Mapping) else loc,
                "default_deduction_without_item",
                event=kind.value,
                item=deduction.item,
                points=deduction.points,
                items=sorted(items),
            )


def _bonus(chk: _Checker, value: object) -> Bonus | None:
    loc: Location = ("bonus",)
    m = chk.mapping(value, loc, _BONUS_KEYS, set())
    if m is None:
        return None
    per_item = chk.number(m, "points_per_item", loc, default=10.0, low=0.0)
    cap = chk.number(m, "cap", loc, default=60.0, low=0.0)
    if per_item is None or cap is None:
        return None
    return Bonus(per_item, cap)


def _tiers(chk: _Checker, value: object) -> Tiers | None:
    if value is _MISSING:
        return Tiers()
    loc: Location = ("tiers",)
    m = chk.mapping(value, loc, _TIER_KEYS, {"bands"})
    if m is None:
        return None
    by = chk.choice(m, "by", loc, TierBasis, [b.value for b in TierBasis], TierBasis.SCORE_SHARE)
    raw_bands = chk.sequence(m, "bands", loc)
    if by is None or raw_bands is None:
        return None
    key = "at_least" if by is TierBasis.SCORE_SHARE else "up_to"
    bands: list[TierBand] = []
    broken = False
    for i, raw in enumerate(raw_bands):
        bloc = (*loc, "bands", i)
        bm = chk.mapping(raw, bloc, {"name", key}, {"name", key})
        if bm is None:
            broken = True
            continue
        name = chk.text(bm, "name", bloc)
        high = 1.0 if by is TierBasis.RANK_SHARE else None
        threshold = chk.number(bm, key, bloc, low=0.0, high=high)
        if name is None or threshold is None:
            broken = True
            continue
        bands.append(TierBand(name, threshold))
    if broken:
        return None
    for name, count in Counter(b.name for b in bands).items():
        if count > 1:
            chk.problem((*loc, "bands"), "duplicate_tier", name=name)
            broken = True
    thresholds = [b.threshold for b in bands]
    if by is TierBasis.SCORE_SHARE:
        if any(a <= b for a, b in itertools.pairwise(thresholds)):
            chk.problem((*loc, "bands"), "tiers_not_descending")
            broken = True
        elif thresholds[-1] != 0.0:
            chk.problem((*loc, "bands", len(bands) - 1, key), "last_tier_not_zero")
            broken = True
    else:
        if any(a >= b for a, b in itertools.pairwise(thresholds)):
            chk.problem((*loc, "bands"), "tiers_not_ascending")
            broken = True
        elif thresholds[-1] != 1.0:
            chk.problem((*loc, "bands", len(bands) - 1, key), "last_tier_not_one")
            broken = True
        elif thresholds[0] <= 0.0:
            chk.problem((*loc, "bands", 0, key), "first_tier_empty")
            broken = True
    return None if broken else Tiers(by, tuple(bands))


def _schedule(chk: _Checker, value: object) -> Schedule | None:
    loc: Location = ("schedule",)
    m = chk.mapping(value, loc, _SCHEDULE_KEYS, set())
    if m is None:
        return None
    due_day = chk.integer(m, "monthly_report_due_day", loc, default=5, low=1, high=28)
    remind: tuple[int, ...] | None = (3, 1, 0)
    if "remind_days_before" in m:
        raw = chk.sequence(m, "remind_days_before", loc)
        rloc = (*loc, "remind_days_before")
        if raw is None:
            remind = None
        elif any(isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 60 for d in raw):
            chk.problem(rloc, "bad_reminder_days", got=_shown(raw))
            remind = None
        elif len(set(raw)) != len(raw):
            chk.problem(rloc, "duplicate_reminder_days", got=_shown(raw))
            remind = None
        else:
            remind = tuple(sorted(raw, reverse=True))
    quiet: tuple[str, str] | None = ("22:00", "08:00")
    if "quiet_hours" in m:
        raw_quiet = m["quiet_hours"]
        qloc = (*loc, "quiet_hours")
        if (
            not isinstance(raw_quiet, list)
            or len(raw_quiet) != 2
            or not all(isinstance(t, str) and _HHMM.match(t) for t in raw_quiet)
        ):
            chk.problem(qloc, "bad_quiet_hours", got=_shown(raw_quiet))
            quiet = None
        else:
            quiet = (raw_quiet[0], raw_quiet[1])
    overdue_days = chk.integer(m, "overdue_notice_days", loc, default=3, low=0, high=60)
    escalate_days = chk.integer(m, "escalate_after_days", loc, default=3, low=0, high=60)
    send_at = _time_of_day(chk, m, "send_at", loc, "09:00")
    digest_at = _time_of_day(chk, m, "digest_at", loc, "08:30")
    stale_hours = chk.integer(m, "stale_after_hours", loc, default=24, low=1, high=24 * 30)
    if (
        due_day is None
        or remind is None
        or quiet is None
        or overdue_days is None
        or escalate_days is None
        or send_at is None
        or digest_at is None
        or stale_hours is None
    ):
        return None
    return Schedule(
        due_day, remind, quiet, overdue_days, escalate_days, send_at, digest_at, stale_hours
    )


def _time_of_day(
    chk: _Checker, m: Mapping[str, Any], key: str, loc: Location, default: str
) -> str | None:
    value = m.get(key, default)
    if not isinstance(value, str) or not _HHMM.match(value):
        chk.problem((*loc, key), "bad_time", got=_shown(value))
        return None
    return value


def _cross_checks(chk: _Checker, development: Development, work: Work) -> None:
    """Rules that span blocks: unique codes and names."""
    seen: dict[str, Location] = {}
    names: dict[str, Location] = {}
    for ci, cat in enumerate(development.categories):
        loc: Location = ("development", "categories", ci, "code")
        if cat.code in seen:
            chk.problem(loc, "duplicate_code", code=cat.code)
        seen.setdefault(cat.code, loc)
        for ii, ind in enumerate(cat.indicators):
            iloc: Location = ("development", "categories", ci, "indicators", ii)
            if ind.code in seen:
                chk.problem((*iloc, "code"), "duplicate_code", code=ind.code)
            seen.setdefault(ind.code, (*iloc, "code"))
            if ind.name in names:
                chk.problem((*iloc, "name"), "duplicate_name", name=ind.name)
            names.setdefault(ind.name, (*iloc, "name"))
    item_codes: set[str] = set()
    item_names: set[str] = set()
    for i, item in enumerate(work.items):
        loc = ("work", "items", i)
        if item.code in RESERVED_ITEM_CODES:
            chk.problem(
                (*loc, "code"),
                "reserved_code",
                code=item.code,
                reserved=sorted(RESERVED_ITEM_CODES),
            )
        if item.code in item_codes or item.code in seen:
            chk.problem((*loc, "code"), "duplicate_code", code=item.code)
        if item.name in item_names:
            chk.problem((*loc, "name"), "duplicate_name", name=item.name)
        item_codes.add(item.code)
        item_names.add(item.name)
    _year_end_checks(chk, work, item_codes)


def _year_end_checks(chk: _Checker, work: Work, item_codes: set[str]) -> None:
    """The items a source applies to exist, and every item has a year-end source."""
    year_end = work.year_end
    loc: Location = ("work", "year_end")
    lists = (
        (YearEndSource.PEER, "peer_items", year_end.peer_items),
        (YearEndSource.RECTIFICATION, "rectification_items", year_end.rectification_items),
    )
    for source, key, codes in lists:
        if year_end.weight(source) <= 0 and codes == getattr(YearEnd(), key):
            continue  # the default list of a source not used: nothing to check
        for i, code in enumerate(codes):
            if code not in item_codes:
                chk.problem(
                    (*loc, key, i), "year_end_unknown_item", item=code, items=sorted(item_codes)
                )
    for i, item in enumerate(work.items):
        if not any(year_end.applies(source, item.code) for source in YearEndSource):
            chk.problem(
                ("work", "items", i, "code"),
                "item_without_year_end_source",
                item=item.code,
                sources=[s.value for s in year_end.sources],
            )
