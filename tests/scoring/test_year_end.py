"""Year-end sources (scoring.md §2b): panel, peer (互评) and rectification, hand-worked.

year_end = Σ wₛ·cₛ ÷ Σ wₛ over the sources that apply to the item and have data;
coef = daily_weight * daily + (1 - daily_weight) * year_end (daily: the panel's quarters).
Grade coefficients: 好 1.0, 较好 0.8, 一般 0.6, 差 0.4. Rectification bands: ≥ 0.95 好,
≥ 0.80 较好, ≥ 0.60 一般, else 差.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from scoring import Grade, GradeRecord, InputError, Standings, Unit, parse_plan, score
from scoring.explanation import ItemExplanation, PeerSummary, RectificationSummary, SourceUsed
from scoring.inputs import RectificationCount
from scoring.plan import Plan, YearEndSource
from tests.factories import department, grades, make_plan, plan_data, town

E, G, F, P = Grade.EXCELLENT, Grade.GOOD, Grade.FAIR, Grade.POOR
PANEL, PEER, RECT = YearEndSource.PANEL, YearEndSource.PEER, YearEndSource.RECTIFICATION

ALL_THREE = {"sources": {"panel": 0.6, "peer": 0.3, "rectification": 0.1}}


def plan_with(year_end: dict[str, Any], **work: Any) -> Plan:
    """The default plan with this `work.year_end` block in place of its own (and `work`
    settings merged in)."""
    data = plan_data(work=work)
    data["work"]["year_end"] = year_end
    return parse_plan(data)


def peer(unit: str, item: str, *votes: tuple[str, Grade]) -> list[GradeRecord]:
    """Peer votes on one unit's item: (rating unit, grade) each, year-end."""
    return [GradeRecord(unit, item, "year", rater, g, PEER) for rater, g in votes]


def rect(unit: str, due: int, on_time: int) -> RectificationCount:
    """A unit's findings due and rectified on time."""
    return RectificationCount(unit, due, on_time)


TOWNS = [town("a"), town("b"), town("c"), town("d")]


def scored(
    plan: Plan,
    records: Sequence[GradeRecord],
    counts: Sequence[RectificationCount] = (),
    units: Sequence[Unit] = TOWNS,
) -> Standings:
    """Score the units under `plan`."""
    return score(plan, list(units), grades=records, rectification=counts)


def item(standings: Standings, unit: str, code: str) -> ItemExplanation:
    """The explanation of one work item of a unit."""
    return next(i for i in standings.explain(unit).items if i.code == code)


def json_item(standings: Standings, unit: str, code: str) -> dict[str, Any]:
    """One item of a unit in the JSON of the contract."""
    entries = [e for g in standings.to_json()["groups"].values() for e in g]
    entry: dict[str, Any] = next(e for e in entries if e["unit"] == unit)["items"][code]
    return entry


# --- all three sources ------------------------------------------------------------------------


def test_all_three_sources_are_weighed_on_key_work() -> None:
    # panel: 好, 较好 -> 0.9; peer: 较好, 较好, 一般 -> 2.2 / 3; rectification: 3 of 4 = 0.75 ->
    # 一般 0.6. year_end = (0.6 * 0.9 + 0.3 * 2.2/3 + 0.1 * 0.6) / 1.0 = 0.54 + 0.22 + 0.06
    # = 0.82; no quarter: coef 0.82, 164 points.
    records = [
        *grades("a", "key_work", "year", E, G),
        *peer("a", "key_work", ("b", G), ("c", G), ("d", F)),
    ]
    s = scored(plan_with(ALL_THREE), records, [rect("a", 4, 3)])
    key = json_item(s, "a", "key_work")
    assert key["coef"] == pytest.approx(0.82)
    assert key["points"] == pytest.approx(164.0)
    assert key["year_end_sources"] == {
        "panel": pytest.approx(0.9),
        "peer": pytest.approx(2.2 / 3),
        "rectification": pytest.approx(0.6),
    }
    assert key["flags"] == []


def test_peers_do_not_rate_basic_work_so_panel_and_rectification_are_reweighed() -> None:
    # basic_work: panel 好 1.0, rectification 3 of 4 -> 0.6; peer does not apply.
    # year_end = (0.6 * 1.0 + 0.1 * 0.6) / (0.6 + 0.1) = 0.66 / 0.7 = 0.942857…
    records = [*grades("a", "basic_work", "year", E)]
    s = scored(plan_with(ALL_THREE), records, [rect("a", 4, 3)])
    basic = json_item(s, "a", "basic_work")
    assert basic["coef"] == pytest.approx(0.66 / 0.7)
    assert basic["points"] == pytest.approx(200 * 0.66 / 0.7)
    assert basic["year_end_sources"] == {"panel": 1.0, "rectification": pytest.approx(0.6)}
    assert "no_peer" not in basic["flags"]


def test_quarterly_grades_stay_the_daily_part_and_the_sources_make_the_year_end_part() -> None:
    # daily: Q1 一般 0.6, Q2 较好 0.8 -> 0.7 (peers never grade quarters);
    # year_end = (0.6 * 0.8 + 0.3 * 1.0 + 0.1 * 1.0) / 1.0 = 0.88 (panel 较好, peer 好 好,
    # rectification 2 of 2 = 1.0 -> 好); coef = 0.4 * 0.7 + 0.6 * 0.88 = 0.808 -> 161.6.
    records = [
        *grades("a", "key_work", "Q1", F),
        *grades("a", "key_work", "Q2", G),
        *grades("a", "key_work", "year", G),
        *peer("a", "key_work", ("b", E), ("c", E)),
    ]
    explained = item(scored(plan_with(ALL_THREE), records, [rect("a", 2, 2)]), "a", "key_work")
    assert explained.daily == pytest.approx(0.7)
    assert explained.year_end == pytest.approx(0.88)
    assert explained.coef == pytest.approx(0.808)
    assert explained.points == pytest.approx(161.6)


# --- a source without data drops out, with a flag ---------------------------------------------


def test_no_peer_votes_drop_peer_out_with_a_flag() -> None:
    # panel 较好 0.8, rectification 1 of 1 -> 1.0; no votes:
    # year_end = (0.6 * 0.8 + 0.1 * 1.0) / 0.7 = 0.58 / 0.7 = 0.828571…
    s = scored(plan_with(ALL_THREE), grades("b", "key_work", "year", G), [rect("b", 1, 1)])
    key = json_item(s, "b", "key_work")
    assert key["coef"] == pytest.approx(0.58 / 0.7)
    assert key["year_end_sources"] == {"panel": 0.8, "rectification": 1.0}
    assert key["flags"] == ["no_peer"]


def test_no_finding_due_drops_rectification_out_with_a_flag() -> None:
    # panel 一般 0.6, peer 好 1.0; nothing due: year_end = (0.6 * 0.6 + 0.3 * 1.0) / 0.9
    # = 0.66 / 0.9 = 0.7333…; both items carry no_findings, basic_work has the panel alone.
    records = [
        *grades("c", "key_work", "year", F),
        *grades("c", "basic_work", "year", F),
        *peer("c", "key_work", ("a", E)),
    ]
    s = scored(plan_with(ALL_THREE), records, [rect("c", 0, 0)])
    key = json_item(s, "c", "key_work")
    assert key["coef"] == pytest.approx(0.66 / 0.9)
    assert key["year_end_sources"] == {"panel": 0.6, "peer": 1.0}
    assert key["flags"] == ["no_findings"]
    basic = json_item(s, "c", "basic_work")
    assert basic["coef"] == 0.6  # one source alone is taken exactly
    assert basic["flags"] == ["no_findings"]


def test_with_only_the_panel_left_the_year_end_is_exactly_the_panels_mean() -> None:
    s = scored(plan_with(ALL_THREE), grades("d", "key_work", "year", G, F, F))
    key = json_item(s, "d", "key_work")
    assert key["coef"] == (0.8 + 0.6 + 0.6) / 3
    assert key["year_end_sources"] == {"panel": (0.8 + 0.6 + 0.6) / 3}
    assert key["flags"] == ["no_peer", "no_findings"]


def test_peer_and_rectification_without_a_panel_grade_still_make_a_year_end() -> None:
    # No panel grade: the sources with data stand: (0.3 * 0.6 + 0.1 * 0.4) / 0.4 = 0.55;
    # rectification 1 of 3 = 0.333 -> 差 0.4; peer 一般 0.6.
    records = peer("a", "key_work", ("b", F), ("c", F))
    s = scored(plan_with(ALL_THREE), records, [rect("a", 3, 1)])
    key = json_item(s, "a", "key_work")
    assert key["coef"] == pytest.approx(0.55)
    assert key["year_end_sources"] == {"peer": pytest.approx(0.6), "rectification": 0.4}
    assert key["flags"] == []


def test_rectification_alone_with_quarterly_grades() -> None:
    # sources {panel: 0.5, rectification: 0.5}; no year-end grade yet, Q1 一般 0.6;
    # rectification 2 of 2 -> 好 1.0: year_end 1.0, coef = 0.4 * 0.6 + 0.6 * 1.0 = 0.84.
    plan = plan_with({"sources": {"panel": 0.5, "rectification": 0.5}})
    s = scored(plan, grades("a", "key_work", "Q1", F), [rect("a", 2, 2)])
    key = json_item(s, "a", "key_work")
    assert key["coef"] == pytest.approx(0.84)
    assert key["year_end_sources"] == {"rectification": 1.0}
    assert key["flags"] == []


def test_an_item_with_no_source_at_all_keeps_the_no_grade_flag() -> None:
    s = scored(plan_with(ALL_THREE), [])
    key = json_item(s, "a", "key_work")
    assert (key["coef"], key["points"], key["year_end_sources"]) == (None, 0.0, {})
    assert key["flags"] == ["no_grade", "no_peer", "no_findings"]


# --- peers: mean, trimming, never themselves -------------------------------------------------


def test_peer_votes_past_trim_above_drop_one_highest_and_one_lowest() -> None:
    # Seven towns; a is rated by the six others: 好 好 较好 较好 一般 差 -> drop one 好 (1.0)
    # and the 差 (0.4): (1.0 + 0.8 + 0.8 + 0.6) / 4 = 0.8. sources {peer: 1.0}.
    units = [town(c) for c in "abcdefg"]
    votes = peer("a", "key_work", ("b", E), ("c", E), ("d", G), ("e", G), ("f", F), ("g", P))
    plan = plan_with({"sources": {"panel": 1.0, "peer": 1.0}})
    s = scored(plan, votes, units=units)
    explained = item(s, "a", "key_work")
    assert explained.year_end == pytest.approx(0.8)
    assert explained.peer == PeerSummary(votes=6, mean=pytest.approx(0.8), trimmed=True)
    assert "trimmed" in explained.flags


def test_five_peer_votes_are_not_trimmed() -> None:
    # 好 好 较好 一般 差 -> (1.0 + 1.0 + 0.8 + 0.6 + 0.4) / 5 = 0.76
    units = [town(c) for c in "abcdef"]
    votes = peer("a", "key_work", ("b", E), ("c", E), ("d", G), ("e", F), ("f", P))
    s = scored(plan_with({"sources": {"peer": 1.0, "panel": 1.0}}), votes, units=units)
    explained = item(s, "a", "key_work")
    assert explained.year_end == pytest.approx(0.76)
    assert explained.peer is not None and not explained.peer.trimmed


def test_peer_votes_never_count_as_panel_grades_nor_in_the_daily_part() -> None:
    records = [*grades("a", "key_work", "Q1", P), *peer("a", "key_work", ("b", E))]
    explained = item(scored(plan_with(ALL_THREE), records), "a", "key_work")
    assert [g.rater for g in explained.grades] == ["r1"]  # the panel's only
    assert explained.daily == pytest.approx(0.4)
    assert explained.year_end == 1.0  # peer alone (no panel year grade, nothing due)


# --- rectification bands ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "on_time", "grade", "coefficient"),
    [
        (20, 19, E, 1.0),  # 0.95: the excellent band's boundary itself
        (20, 18, G, 0.8),  # 0.90
        (5, 4, G, 0.8),  # 0.80
        (5, 3, F, 0.6),  # 0.60
        (100, 59, P, 0.4),  # 0.59
        (3, 0, P, 0.4),  # 0
    ],
)
def test_the_rectification_ratio_gives_the_grade_of_the_first_band_it_reaches(
    due: int, on_time: int, grade: Grade, coefficient: float
) -> None:
    plan = plan_with({"sources": {"rectification": 1.0}})
    s = scored(plan, [], [rect("a", due, on_time)])
    assert s.explain("a").rectification == RectificationSummary(
        due=due,
        on_time=on_time,
        ratio=pytest.approx(on_time / due),
        grade=grade,
        coefficient=coefficient,
        weight=1.0,
    )
    assert json_item(s, "a", "key_work")["coef"] == coefficient


def test_a_plans_own_bands_and_grade_coefficients_apply() -> None:
    # bands: 好 from 0.9, 差 below; grades 好 0.95, 差 0.5: 9 of 10 -> 好 0.95
    plan = plan_with(
        {
            "sources": {"rectification": 1.0},
            "rectification_bands": [
                {"grade": "excellent", "at_least": 0.9},
                {"grade": "poor", "at_least": 0.0},
            ],
        },
        grades={"excellent": 0.95, "good": 0.8, "fair": 0.6, "poor": 0.5},
    )
    s = scored(plan, [], [rect("a", 10, 9), rect("b", 10, 8)])
    assert json_item(s, "a", "key_work")["coef"] == 0.95
    assert json_item(s, "b", "key_work")["coef"] == 0.5


def test_rectification_applies_only_to_its_items() -> None:
    plan = plan_with(
        {"sources": {"panel": 0.5, "rectification": 0.5}, "rectification_items": ["key_work"]}
    )
    s = scored(plan, grades("a", "basic_work", "year", F), [rect("a", 1, 1)])
    assert json_item(s, "a", "basic_work")["year_end_sources"] == {"panel": 0.6}
    assert json_item(s, "a", "basic_work")["flags"] == []
    assert json_item(s, "a", "key_work")["year_end_sources"] == {"rectification": 1.0}


# --- explanations ------------------------------------------------------------------------------


def test_the_explanation_says_how_the_year_end_coefficient_was_made() -> None:
    records = [
        *grades("a", "key_work", "year", E, G),
        *peer("a", "key_work", ("b", G), ("c", G), ("d", F)),
    ]
    s = scored(plan_with(ALL_THREE), records, [rect("a", 4, 3)])
    key = item(s, "a", "key_work")
    assert key.sources == (
        SourceUsed(PANEL, 0.6, pytest.approx(0.9)),
        SourceUsed(PEER, 0.3, pytest.approx(2.2 / 3)),
        SourceUsed(RECT, 0.1, 0.6),
    )
    assert key.peer == PeerSummary(3, pytest.approx(2.2 / 3), False)
    basic = item(s, "a", "basic_work")
    assert basic.sources == (SourceUsed(PANEL, 0.6, None), SourceUsed(RECT, 0.1, 0.6))
    assert basic.peer is None
    assert s.explain("a").rectification == RectificationSummary(4, 3, 0.75, F, 0.6, 0.1)


def test_with_the_default_plan_the_explanation_names_the_panel_alone() -> None:
    s = scored(make_plan(), grades("a", "key_work", "year", G))
    key = item(s, "a", "key_work")
    assert key.sources == (SourceUsed(PANEL, 1.0, 0.8),)
    assert key.peer is None
    # Nothing due, and not counted: the evaluation is there, weighing nothing.
    assert s.explain("a").rectification == RectificationSummary(0, 0, None, None, None, 0.0)
    assert json_item(s, "a", "key_work")["year_end_sources"] == {"panel": 0.8}


def test_the_default_plan_computes_the_rectification_evaluation_without_counting_it() -> None:
    plain = scored(make_plan(), grades("a", "key_work", "year", G))
    counted = scored(make_plan(), grades("a", "key_work", "year", G), [rect("a", 5, 1)])
    assert counted.to_json() == plain.to_json()
    assert counted.explain("a").rectification == RectificationSummary(5, 1, 0.2, P, 0.4, 0.0)


# --- bad input ---------------------------------------------------------------------------------


def codes(
    plan: Plan,
    records: Sequence[GradeRecord],
    counts: Sequence[RectificationCount] = (),
    units: Sequence[Unit] = TOWNS,
) -> list[str]:
    """The problem codes the engine refuses the input with."""
    with pytest.raises(InputError) as excinfo:
        score(plan, list(units), grades=records, rectification=counts)
    return [p.code for p in excinfo.value.problems]


def test_a_unit_never_rates_itself() -> None:
    assert codes(plan_with(ALL_THREE), peer("a", "key_work", ("a", E))) == ["peer_own_unit"]


def test_a_unit_of_another_group_does_not_rate() -> None:
    units = [*TOWNS, department("x")]
    records = peer("a", "key_work", ("x", E))
    assert codes(plan_with(ALL_THREE), records, units=units) == ["peer_other_group"]


def test_a_peer_rater_must_be_a_unit() -> None:
    assert codes(plan_with(ALL_THREE), peer("a", "key_work", ("统计局", E))) == [
        "unknown_rater_unit"
    ]


def test_peers_rate_only_their_items_and_only_at_year_end() -> None:
    records = [
        *peer("a", "basic_work", ("b", E)),
        GradeRecord("a", "key_work", "Q2", "c", E, PEER),
    ]
    assert codes(plan_with(ALL_THREE), records) == ["peer_item_not_rated", "peer_not_year_end"]


def test_peer_votes_under_a_plan_without_peers_are_refused() -> None:
    assert codes(make_plan(), peer("a", "key_work", ("b", E))) == ["peer_not_in_plan"]


def test_the_same_unit_voting_twice_on_an_item_is_a_duplicate() -> None:
    records = peer("a", "key_work", ("b", E), ("b", G))
    assert codes(plan_with(ALL_THREE), records) == ["duplicate_grade"]


def test_a_panel_rater_named_like_a_unit_is_not_a_duplicate_of_its_vote() -> None:
    records = [GradeRecord("a", "key_work", "year", "b", G), *peer("a", "key_work", ("b", E))]
    s = scored(plan_with(ALL_THREE), records)
    assert json_item(s, "a", "key_work")["year_end_sources"] == {"panel": 0.8, "peer": 1.0}


def test_rectification_counts_must_add_up() -> None:
    assert codes(plan_with(ALL_THREE), [], [rect("a", 2, 3)]) == ["rectified_more_than_due"]
    assert codes(plan_with(ALL_THREE), [], [rect("a", -1, 0)]) == ["negative_count"]
    assert codes(plan_with(ALL_THREE), [], [rect("zz", 1, 0)]) == ["unknown_unit"]
