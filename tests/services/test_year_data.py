"""The year's data: versioned values, replaced grades, decided bonus, and who may record them."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from sqlalchemy import func, select

from scoring import BonusItem, Grade, GradeRecord, IndicatorValues, InputError
from services.access import Actor, Role
from services.errors import Invalid, NotFound, Refused
from services.standings import compute_standings
from services.year_data import (
    add_bonus,
    decide_bonus,
    import_bonus,
    import_grades,
    import_values,
    list_bonus,
    record_grade,
    value_versions,
)
from storage.clock import FixedClock
from storage.models import AuditEntry, BonusRow, GradeRow, IndicatorValue, ValueSet
from tests.services.district import UOW, YEAR, audit_actions, count, gdp, plan_and_units

COORDINATOR = Actor(person_id=None, role=Role.COORDINATOR, name="发改局王")
RATER = Actor(person_id=None, role=Role.RATER, name="财政局李")
LIAISON = Actor(person_id=None, role=Role.LIAISON, unit_id=1, name="联络员")
VIEWER = Actor(person_id=None, role=Role.VIEWER, name="领导")


@pytest.fixture
def ids(uow: UOW) -> dict[str, int]:
    """A year with the default plan and three units; the units' ids by code."""
    return plan_and_units(uow)


def last_audit(uow: UOW) -> AuditEntry:
    """The newest audit entry."""
    with uow() as u:
        return u.session.execute(
            select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)
        ).scalar_one()


# Values -------------------------------------------------------------------------------------


def test_values_import_stores_every_cell_as_version_one(uow: UOW, ids: dict[str, int]) -> None:
    summary = import_values(uow(), COORDINATOR, YEAR, gdp(7.5, None), "values.xlsx")
    assert (summary.version, summary.replaced_version, summary.rows) == (1, None, 2)
    assert summary.missing == 1
    with uow() as u:
        rows = u.session.execute(
            select(IndicatorValue.unit_id, IndicatorValue.value).order_by(IndicatorValue.unit_id)
        ).all()
    assert sorted(rows) == sorted([(ids["dianzi"], 7.5), (ids["xiji"], None)])


def test_second_values_import_is_version_two_in_force_and_audited(
    uow: UOW, ids: dict[str, int], clock: FixedClock
) -> None:
    import_values(uow(), COORDINATOR, YEAR, gdp(7.5, 6.0), "first.xlsx")
    clock.advance(hours=1)
    summary = import_values(uow(), COORDINATOR, YEAR, gdp(8.0, 6.0), "second.xlsx")
    assert (summary.version, summary.replaced_version, summary.changed) == (2, 1, 1)
    assert count(uow, IndicatorValue) == 4  # the first version is kept
    entry = last_audit(uow)
    assert entry.action == "values.import"
    assert entry.before == {"year": YEAR, "version": 1}
    assert entry.after is not None
    assert (entry.after["version"], entry.after["replaces"]) == (2, 1)
    assert entry.after["source"] == "second.xlsx"
    standings = compute_standings(uow(), YEAR)
    explained = standings.explain("dianzi").indicators[0]
    assert explained.value == 8.0
    assert [v.version for v in value_versions(uow(), YEAR)] == [1, 2]


def test_identical_values_import_is_still_a_new_version_with_nothing_changed(
    uow: UOW, ids: dict[str, int]
) -> None:
    first = import_values(uow(), COORDINATOR, YEAR, gdp(7.5, None), "a.xlsx")
    again = import_values(uow(), COORDINATOR, YEAR, gdp(7.5, None), "a.xlsx")
    assert (again.version, again.changed) == (2, 0)
    with uow() as u:
        hashes = u.session.execute(
            select(AuditEntry.after).where(AuditEntry.action == "values.import")
        ).scalars()
        assert len({h["sha256"] for h in hashes if h is not None}) == 1
    assert first.version == 1


def test_values_for_unknown_units_non_towns_and_unknown_indicators_store_nothing(
    uow: UOW, ids: dict[str, int]
) -> None:
    bad = IndicatorValues(
        ("dianzi", "nowhere", "finance"),
        ("gdp_growth", "made_up"),
        np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]),
    )
    with pytest.raises(InputError) as caught:
        import_values(uow(), COORDINATOR, YEAR, bad, "bad.xlsx")
    codes = sorted(p.code for p in caught.value.problems)
    assert codes == ["unknown_indicator", "unknown_unit", "value_for_non_town"]
    assert count(uow, ValueSet) == 0
    assert count(uow, IndicatorValue) == 0


def test_values_without_a_plan_are_refused(uow: UOW) -> None:
    with pytest.raises(NotFound) as caught:
        import_values(uow(), COORDINATOR, YEAR, gdp(1.0, 2.0), "v.xlsx")
    assert caught.value.code == "no_plan"


@pytest.mark.parametrize("actor", [RATER, LIAISON, VIEWER])
def test_only_coordinators_import_values(uow: UOW, ids: dict[str, int], actor: Actor) -> None:
    before = audit_actions(uow)
    with pytest.raises(Refused) as caught:
        import_values(uow(), actor, YEAR, gdp(1.0, 2.0), "v.xlsx")
    assert caught.value.code == "role_not_allowed"
    assert count(uow, ValueSet) == 0
    assert audit_actions(uow) == before


def test_values_import_reports_progress(uow: UOW, ids: dict[str, int]) -> None:
    seen: list[tuple[int, int]] = []
    import_values(
        uow(),
        COORDINATOR,
        YEAR,
        gdp(1.0, 2.0),
        "v.xlsx",
        progress=lambda d, t: seen.append((d, t)),
    )
    assert seen[-1] == (2, 2)


# Grades -------------------------------------------------------------------------------------


def test_rater_grades_as_themselves(uow: UOW, ids: dict[str, int]) -> None:
    view = record_grade(uow(), RATER, YEAR, ids["xiji"], "key_work", "Q1", "good")
    assert (view.rater, view.grade, view.previous, view.changed) == (
        "财政局李",
        Grade.GOOD,
        None,
        True,
    )
    assert audit_actions(uow)[-1] == "grade.record"


def test_rater_cannot_grade_in_another_raters_name(uow: UOW, ids: dict[str, int]) -> None:
    with pytest.raises(Refused) as caught:
        record_grade(uow(), RATER, YEAR, ids["xiji"], "key_work", "Q1", "good", "统计局")
    assert caught.value.code == "grade_as_other_rater"
    assert count(uow, GradeRow) == 0


def test_regrading_replaces_the_old_grade_and_keeps_it(
    uow: UOW, ids: dict[str, int], clock: FixedClock
) -> None:
    record_grade(uow(), COORDINATOR, YEAR, ids["xiji"], "key_work", "year", "好", "统计局")
    clock.advance(days=1)
    view = record_grade(
        uow(), COORDINATOR, YEAR, ids["xiji"], "key_work", "year", "fair", "统计局"
    )
    assert (view.grade, view.previous) == (Grade.FAIR, Grade.EXCELLENT)
    with uow() as u:
        rows = u.session.execute(
            select(GradeRow.grade, GradeRow.replaced_at).order_by(GradeRow.id)
        ).all()
    assert [r.grade for r in rows] == ["excellent", "fair"]
    assert rows[0].replaced_at is not None and rows[1].replaced_at is None
    entry = last_audit(uow)
    assert entry.before is not None and entry.before["grade"] == "excellent"
    assert entry.after is not None and entry.after["grade"] == "fair"
    coef = compute_standings(uow(), YEAR).explain("xiji").items[0].coef
    assert coef == pytest.approx(0.6)


def test_the_same_grade_again_changes_nothing(uow: UOW, ids: dict[str, int]) -> None:
    record_grade(uow(), RATER, YEAR, ids["xiji"], "key_work", "Q1", "good")
    actions = audit_actions(uow)
    view = record_grade(uow(), RATER, YEAR, ids["xiji"], "key_work", "Q1", Grade.GOOD)
    assert not view.changed
    assert count(uow, GradeRow) == 1
    assert audit_actions(uow) == actions


@pytest.mark.parametrize(
    ("item", "period", "grade", "code"),
    [
        ("made_up", "Q1", "good", "grade_unknown_item"),
        ("key_work", "Q5", "good", "grade_unknown_period"),
        ("key_work", "Q1", "superb", "grade_unknown"),
    ],
)
def test_bad_grades_are_refused(
    uow: UOW, ids: dict[str, int], item: str, period: str, grade: str, code: str
) -> None:
    with pytest.raises(Invalid) as caught:
        record_grade(uow(), RATER, YEAR, ids["xiji"], item, period, grade)
    assert caught.value.code == code
    assert count(uow, GradeRow) == 0


def test_grade_of_an_unknown_unit_is_not_found(uow: UOW, ids: dict[str, int]) -> None:
    with pytest.raises(NotFound):
        record_grade(uow(), RATER, YEAR, 9999, "key_work", "Q1", "good")


@pytest.mark.parametrize("actor", [LIAISON, VIEWER])
def test_liaisons_and_viewers_cannot_grade(uow: UOW, ids: dict[str, int], actor: Actor) -> None:
    actions = audit_actions(uow)
    with pytest.raises(Refused):
        record_grade(uow(), actor, YEAR, ids["xiji"], "key_work", "Q1", "good", actor.name)
    assert count(uow, GradeRow) == 0
    assert audit_actions(uow) == actions


def test_grades_import_adds_replaces_and_skips_identical(
    uow: UOW, ids: dict[str, int], clock: FixedClock
) -> None:
    first = [
        GradeRecord("dianzi", "key_work", "year", "r1", Grade.GOOD),
        GradeRecord("xiji", "key_work", "year", "r1", Grade.FAIR),
    ]
    summary = import_grades(uow(), COORDINATOR, YEAR, first, "g1.xlsx")
    assert (summary.added, summary.changed, summary.unchanged) == (2, 0, 0)
    clock.advance(days=1)
    second = [
        GradeRecord("dianzi", "key_work", "year", "r1", Grade.GOOD),
        GradeRecord("xiji", "key_work", "year", "r1", Grade.EXCELLENT),
        GradeRecord("finance", "basic_work", "Q1", "r2", Grade.POOR),
    ]
    summary = import_grades(uow(), COORDINATOR, YEAR, second, "g2.xlsx")
    assert (summary.added, summary.changed, summary.unchanged) == (1, 1, 1)
    assert count(uow, GradeRow) == 4
    entry = last_audit(uow)
    assert entry.action == "grades.import"
    assert entry.before == {
        "replaced": [
            {
                "unit": "xiji",
                "item": "key_work",
                "period": "year",
                "rater": "r1",
                "before": "fair",
                "after": "excellent",
            }
        ]
    }


def test_grades_import_with_any_bad_record_stores_nothing(uow: UOW, ids: dict[str, int]) -> None:
    records = [
        GradeRecord("dianzi", "key_work", "year", "r1", Grade.GOOD),
        GradeRecord("nowhere", "key_work", "year", "r1", Grade.GOOD),
        GradeRecord("xiji", "made_up", "year", "r1", Grade.GOOD),
        GradeRecord("xiji", "key_work", "Q9", "r1", Grade.GOOD),
        GradeRecord("dianzi", "key_work", "year", "r1", Grade.FAIR),
    ]
    with pytest.raises(InputError) as caught:
        import_grades(uow(), COORDINATOR, YEAR, records, "g.xlsx")
    assert sorted(p.code for p in caught.value.problems) == [
        "duplicate_grade",
        "unknown_item",
        "unknown_period",
        "unknown_unit",
    ]
    assert count(uow, GradeRow) == 0


def test_raters_cannot_import_grades(uow: UOW, ids: dict[str, int]) -> None:
    records = [GradeRecord("dianzi", "key_work", "year", "财政局李", Grade.GOOD)]
    with pytest.raises(Refused):
        import_grades(uow(), RATER, YEAR, records, "g.xlsx")
    assert count(uow, GradeRow) == 0


# Bonus --------------------------------------------------------------------------------------


def test_bonus_is_pending_until_approved_and_then_counts(uow: UOW, ids: dict[str, int]) -> None:
    view = add_bonus(uow(), COORDINATOR, YEAR, ids["xiji"], "省级创新试点", "文件一份")
    assert view.status == "pending"
    assert compute_standings(uow(), YEAR).result("xiji").bonus == 0
    decided = decide_bonus(uow(), COORDINATOR, view.id, approve=True)
    assert decided.status == "approved" and decided.decided_at is not None
    assert compute_standings(uow(), YEAR).result("xiji").bonus == 10
    assert audit_actions(uow)[-2:] == ["bonus.add", "bonus.decide"]


def test_a_bonus_decision_is_final(uow: UOW, ids: dict[str, int]) -> None:
    view = add_bonus(uow(), COORDINATOR, YEAR, ids["xiji"], "省级创新试点")
    decide_bonus(uow(), COORDINATOR, view.id, approve=False)
    with pytest.raises(Invalid) as caught:
        decide_bonus(uow(), COORDINATOR, view.id, approve=True)
    assert caught.value.code == "bonus_already_decided"
    assert [b.status for b in list_bonus(uow(), YEAR)] == ["rejected"]


def test_deciding_an_unknown_bonus_is_not_found(uow: UOW, ids: dict[str, int]) -> None:
    with pytest.raises(NotFound):
        decide_bonus(uow(), COORDINATOR, 999, approve=True)


def test_bonus_title_must_not_be_empty(uow: UOW, ids: dict[str, int]) -> None:
    with pytest.raises(Invalid):
        add_bonus(uow(), COORDINATOR, YEAR, ids["xiji"], "  ")
    assert count(uow, BonusRow) == 0


@pytest.mark.parametrize("actor", [RATER, LIAISON, VIEWER])
def test_only_coordinators_record_and_decide_bonus(
    uow: UOW, ids: dict[str, int], actor: Actor
) -> None:
    view = add_bonus(uow(), COORDINATOR, YEAR, ids["xiji"], "试点")
    actions = audit_actions(uow)
    with pytest.raises(Refused):
        add_bonus(uow(), actor, YEAR, ids["xiji"], "另一项")
    with pytest.raises(Refused):
        decide_bonus(uow(), actor, view.id, approve=True)
    with pytest.raises(Refused):
        import_bonus(uow(), actor, YEAR, [BonusItem("xiji", "又一项", True)], "b.xlsx")
    assert [b.status for b in list_bonus(uow(), YEAR)] == ["pending"]
    assert audit_actions(uow) == actions


def test_bonus_import_adds_and_approves_pending_items(uow: UOW, ids: dict[str, int]) -> None:
    pending = add_bonus(uow(), COORDINATOR, YEAR, ids["xiji"], "试点")
    items = [
        BonusItem("xiji", "试点", True, "批复"),
        BonusItem("dianzi", "集群", True),
        BonusItem("dianzi", "政策", False),
    ]
    summary = import_bonus(uow(), COORDINATOR, YEAR, items, "b.xlsx")
    assert (summary.added, summary.changed, summary.unchanged) == (2, 1, 0)
    by_title = {b.title: b for b in list_bonus(uow(), YEAR)}
    assert by_title["试点"].id == pending.id
    assert (by_title["试点"].status, by_title["试点"].evidence_text) == ("approved", "批复")
    assert by_title["集群"].status == "approved"
    assert by_title["政策"].status == "pending"
    again = import_bonus(uow(), COORDINATOR, YEAR, items, "b.xlsx")
    assert (again.added, again.changed, again.unchanged) == (0, 0, 3)


def test_bonus_import_that_contradicts_a_decision_stores_nothing(
    uow: UOW, ids: dict[str, int]
) -> None:
    view = add_bonus(uow(), COORDINATOR, YEAR, ids["xiji"], "试点")
    decide_bonus(uow(), COORDINATOR, view.id, approve=False)
    items = [BonusItem("dianzi", "集群", True), BonusItem("xiji", "试点", True)]
    with pytest.raises(Invalid) as caught:
        import_bonus(uow(), COORDINATOR, YEAR, items, "b.xlsx")
    assert caught.value.code == "bonus_import_conflicts"
    assert count(uow, BonusRow) == 1


def test_bonus_import_with_bad_rows_lists_them_all(uow: UOW, ids: dict[str, int]) -> None:
    items = [
        BonusItem("nowhere", "试点", True),
        BonusItem("xiji", "试点", True),
        BonusItem("xiji", "试点", False),
    ]
    with pytest.raises(InputError) as caught:
        import_bonus(uow(), COORDINATOR, YEAR, items, "b.xlsx")
    assert sorted(p.code for p in caught.value.problems) == ["duplicate_bonus", "unknown_unit"]
    assert count(uow, BonusRow) == 0


def test_a_bonus_title_is_recorded_once_per_unit(uow: UOW, ids: dict[str, int]) -> None:
    add_bonus(uow(), COORDINATOR, YEAR, ids["xiji"], "试点")
    with pytest.raises(Invalid) as caught:
        add_bonus(uow(), COORDINATOR, YEAR, ids["xiji"], "试点")
    assert caught.value.code == "bonus_duplicate"
    add_bonus(uow(), COORDINATOR, YEAR, ids["dianzi"], "试点")  # another unit may
    assert count(uow, BonusRow) == 2


def test_concurrent_regrades_leave_exactly_one_grade_in_force(
    uow: UOW, ids: dict[str, int]
) -> None:
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def regrade(grade: str) -> None:
        try:
            start.wait()
            record_grade(uow(), COORDINATOR, YEAR, ids["xiji"], "key_work", "Q1", grade, "统计局")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=regrade, args=(g,)) for g in ("good", "poor")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with uow() as u:
        in_force = u.session.execute(
            select(func.count()).select_from(GradeRow).where(GradeRow.replaced_at.is_(None))
        ).scalar_one()
    assert in_force == 1
    assert count(uow, GradeRow) == 2
