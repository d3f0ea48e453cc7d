"""What a year's data still lacks: no values, indicators nobody reported, items not graded."""

from __future__ import annotations

from scoring import GradeRecord, IndicatorValues, score
from scoring.completeness import DEVELOPMENT, find_gaps
from scoring.plan import Grade
from services.sample_district import sample_grades, sample_plan, sample_units, sample_values


def _values(drop_towns: int = 0, blank_indicator: str | None = None) -> IndicatorValues:
    plan = sample_plan()
    codes = [i.code for i in plan.development.indicators]
    rows = {str(r[0]): dict(zip(codes, r[1:], strict=True)) for r in sample_values(plan)}
    for code in list(rows)[:drop_towns]:
        del rows[code]
    if blank_indicator is not None:
        for row in rows.values():
            row[blank_indicator] = None
    return IndicatorValues.from_rows(rows, codes)  # type: ignore[arg-type]


def _grades(skip_item: str | None = None, skip_unit: str | None = None) -> list[GradeRecord]:
    return [
        GradeRecord(str(u), str(i), str(p), str(r), Grade(str(g)))
        for u, i, p, r, g in sample_grades(sample_plan())
        if i != skip_item and u != skip_unit
    ]


def test_a_year_with_nothing_imported_lacks_every_block() -> None:
    plan, units = sample_plan(), sample_units()
    gaps = find_gaps(score(plan, units))
    towns = [u for u in units if u.group.value == "town"]
    assert gaps.no_values and len(gaps.towns_without_values) == len(towns)
    assert gaps.indicators_without_values == ()  # said once, by the block
    assert [i.code for i in gaps.items_without_grades] == [i.code for i in plan.work.items]
    assert gaps.blocks_without_data == (DEVELOPMENT, *(i.code for i in plan.work.items))
    assert not gaps.complete
    doc = gaps.to_json()
    assert doc["complete"] is False and doc["blocks_without_data"][0] == DEVELOPMENT


def test_the_sample_lacks_one_value_and_nothing_else() -> None:
    gaps = find_gaps(score(sample_plan(), sample_units(), _values(), _grades()))
    assert [u.code for u in gaps.towns_missing_some_values] == ["shuiquan"]
    assert gaps.towns_without_values == () and gaps.blocks_without_data == ()
    assert gaps.items_without_grades == () and gaps.items_partly_graded == ()


def test_towns_without_values_an_indicator_nobody_reported_and_partial_grades() -> None:
    plan = sample_plan()
    first, second = (i.code for i in plan.work.items[:2])
    indicator = plan.development.indicators[0].code
    standings = score(
        plan,
        sample_units(),
        _values(drop_towns=2, blank_indicator=indicator),
        _grades(skip_item=first, skip_unit="dianzi"),
    )
    gaps = find_gaps(standings)
    assert len(gaps.towns_without_values) == 2 and not gaps.no_values
    assert [i.code for i in gaps.indicators_without_values] == [indicator]
    assert [i.code for i in gaps.items_without_grades] == [first]
    assert [(p.item.code, [u.code for u in p.units]) for p in gaps.items_partly_graded] == [
        (second, ["dianzi"])
    ]
    assert gaps.blocks_without_data == (first,)


def test_only_a_block_town_or_indicator_without_any_data_is_severe() -> None:
    assert find_gaps(score(sample_plan(), sample_units())).severe
    assert not find_gaps(score(sample_plan(), sample_units(), _values(), _grades())).severe
    partly = score(sample_plan(), sample_units(), _values(), _grades(skip_unit="dianzi"))
    assert not find_gaps(partly).severe and not find_gaps(partly).complete
