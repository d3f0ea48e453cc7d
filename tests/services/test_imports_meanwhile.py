"""Imports do their slow work before a short write, and check inside it what may have changed
meanwhile: a values set is invisible until published and leaves nothing when it fails; a newer
version, a changed unit, a grade, a task or a bonus decision recorded meanwhile makes the import
prepare again (or refuse, clearly) instead of overwriting it; all stays audited and chained."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import select

from scoring import BonusItem, Grade, GradeRecord, Group, InputError, Unit
from services import people, tasks, year_data
from services.access import Actor, Role
from services.errors import Invalid, Refused
from services.files.plan_file import default_plan_text
from services.people import register_units
from services.plans import load_plan
from services.tasks import TaskInput, import_tasks, tasks_of_year
from services.year_data import (
    add_bonus,
    decide_bonus,
    import_bonus,
    import_grades,
    import_values,
    list_bonus,
    record_grade,
    value_versions,
    values_in_force,
)
from storage import bulk
from storage.clock import FixedClock
from storage.models import AuditEntry, GradeRow, IndicatorValue, UnitRow, ValueSet
from storage.repositories.year_data import ValueSets
from tests.services.district import OPERATOR, UOW, YEAR, audit_actions, count, gdp, plan_and_units

COORDINATOR = Actor(person_id=None, role=Role.COORDINATOR, name="发改局王")


@pytest.fixture
def ids(uow: UOW, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """The default plan and three units (their ids by code); values written one cell a chunk,
    so that an import of two cells has a moment between its chunks."""
    monkeypatch.setattr(bulk, "FIRST_CHUNK", 1)
    monkeypatch.setattr(bulk, "MAX_CHUNK", 1)
    monkeypatch.setattr(bulk, "POSTGRES_CHUNK", 1)
    monkeypatch.setattr(bulk, "SQLITE_PAUSE", 0.0)
    return plan_and_units(uow)


def meanwhile(
    monkeypatch: pytest.MonkeyPatch, module: ModuleType, action: Callable[[], Any], times: int = 1
) -> list[int]:
    """Run `action` after each of the first `times` preparations of the next import of
    `module` (between its snapshot and its write); the list grows by one per preparation."""
    real = module.prepared_import
    prepared: list[int] = []
    watching: list[bool] = []

    def wrapped(kind: str, prepare: Callable[[], Any], write: Callable[[Any], Any]) -> Any:
        if watching:  # the action's own import (of the same kind) runs as usual
            return real(kind, prepare, write)
        watching.append(True)

        def prepare_then_change() -> Any:
            ready = prepare()
            prepared.append(1)
            if len(prepared) <= times:
                action()
            return ready

        return real(kind, prepare_then_change, write)

    monkeypatch.setattr(module, "prepared_import", wrapped)
    return prepared


# --- values ----------------------------------------------------------------------------------


def test_a_values_set_is_seen_by_nobody_until_it_is_published(
    uow: UOW, ids: dict[str, int]
) -> None:
    import_values(uow(), COORDINATOR, YEAR, gdp(1.0, 2.0), "v1.xlsx")
    seen: list[tuple[int | None, int]] = []

    def look(done: int, total: int) -> None:
        in_force = values_in_force(uow(), YEAR)
        seen.append((in_force.version if in_force else None, len(value_versions(uow(), YEAR))))

    summary = import_values(uow(), COORDINATOR, YEAR, gdp(3.0, 4.0), "v2.xlsx", progress=look)
    assert summary.version == 2 and summary.replaced_version == 1 and summary.changed == 2
    assert seen == [(1, 1), (1, 1), (1, 1)]  # before writing, after each of the two chunks
    assert values_in_force(uow(), YEAR).version == 2  # type: ignore[union-attr]
    assert audit_actions(uow)[-2:] == ["values.import", "values.import"]


def test_a_values_import_that_fails_half_way_leaves_nothing(uow: UOW, ids: dict[str, int]) -> None:
    before = audit_actions(uow)

    def fail(done: int, total: int) -> None:
        if done == 1:
            raise RuntimeError("the process is stopped")

    with pytest.raises(RuntimeError):
        import_values(uow(), COORDINATOR, YEAR, gdp(1.0, 2.0), "v.xlsx", progress=fail)
    assert (count(uow, ValueSet), count(uow, IndicatorValue)) == (0, 0)
    assert audit_actions(uow) == before


def test_a_newer_version_published_meanwhile_makes_this_import_the_next_one(
    uow: UOW, ids: dict[str, int]
) -> None:
    def other_import(done: int, total: int) -> None:
        if done == total:  # written, not yet published: a colleague's import comes first
            import_values(uow(), OPERATOR, YEAR, gdp(1.0, 9.0), "other.xlsx")

    summary = import_values(
        uow(), COORDINATOR, YEAR, gdp(1.0, 2.0), "mine.xlsx", progress=other_import
    )
    assert (summary.version, summary.replaced_version, summary.changed) == (2, 1, 1)
    assert [(v.version, v.source) for v in value_versions(uow(), YEAR)] == [
        (1, "other.xlsx"),
        (2, "mine.xlsx"),
    ]
    with uow() as u:
        latest = u.repository(ValueSets).latest(YEAR)
        assert latest is not None
        stored = sorted(v or 0.0 for _, _, v in u.repository(ValueSets).values(latest.id))
    assert stored == [1.0, 2.0]
    entry_changes = []
    with uow() as u:
        for after in u.session.execute(
            select(AuditEntry.after).where(AuditEntry.action == "values.import")
        ).scalars():
            assert after is not None
            entry_changes.append((after["version"], after["replaces"], after["changed"]))
    assert entry_changes == [(1, None, 2), (2, 1, 1)]


def test_a_town_turned_department_meanwhile_refuses_the_values_and_stores_nothing(
    uow: UOW, ids: dict[str, int]
) -> None:
    def regroup(done: int, total: int) -> None:
        if done == total:
            register_units(uow(), OPERATOR, [Unit("xiji", "西集镇", Group.ZONE_OR_DEPARTMENT)])

    with pytest.raises(InputError) as caught:
        import_values(uow(), COORDINATOR, YEAR, gdp(1.0, 2.0), "v.xlsx", progress=regroup)
    assert [p.code for p in caught.value.problems] == ["value_for_non_town"]
    assert (count(uow, ValueSet), count(uow, IndicatorValue)) == (0, 0)
    assert "values.import" not in audit_actions(uow)


def test_a_set_a_stopped_process_left_is_removed_a_day_later(
    uow: UOW, ids: dict[str, int], clock: FixedClock
) -> None:
    with uow() as u:  # what a process stopped half-way through its writing leaves
        left = u.repository(ValueSets).stage(YEAR, "crashed.xlsx", u.now(), None)
        u.repository(ValueSets).insert_values([(left, ids["dianzi"], "gdp_growth", 1.0)])
        u.commit()
    import_values(uow(), COORDINATOR, YEAR, gdp(1.0, 2.0), "a.xlsx")
    assert count(uow, ValueSet) == 2  # still young: it may be another import being written
    clock.advance(days=1, seconds=1)
    import_values(uow(), COORDINATOR, YEAR, gdp(1.0, 2.0), "b.xlsx")
    with uow() as u:
        sets = u.session.execute(select(ValueSet.source, ValueSet.version)).all()
    assert sorted(tuple(s) for s in sets) == [("a.xlsx", 1), ("b.xlsx", 2)]
    assert count(uow, IndicatorValue) == 4


# --- grades ----------------------------------------------------------------------------------


def grades(given: Grade) -> list[GradeRecord]:
    """The statistics bureau's Q1 key-work grades of both towns."""
    return [GradeRecord(u, "key_work", "Q1", "统计局", given) for u in ("dianzi", "xiji")]


def in_force(uow: UOW) -> list[tuple[int, str]]:
    """(unit_id, grade) of the grades in force."""
    with uow() as u:
        rows = u.session.execute(
            select(GradeRow.unit_id, GradeRow.grade).where(GradeRow.replaced_at.is_(None))
        ).all()
    return sorted((r[0], r[1]) for r in rows)


def test_a_grade_recorded_while_grades_are_prepared_is_replaced_not_doubled(
    uow: UOW, ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared = meanwhile(
        monkeypatch,
        year_data,
        lambda: record_grade(
            uow(), COORDINATOR, YEAR, ids["xiji"], "key_work", "Q1", "poor", "统计局"
        ),
    )
    summary = import_grades(uow(), COORDINATOR, YEAR, grades(Grade.GOOD), "g.xlsx")
    assert len(prepared) == 2  # prepared again after the grade recorded meanwhile
    assert (summary.added, summary.changed, summary.unchanged) == (1, 1, 0)
    assert in_force(uow) == [(ids["dianzi"], "good"), (ids["xiji"], "good")]
    assert count(uow, GradeRow) == 3  # the grade recorded meanwhile is kept, replaced
    assert audit_actions(uow)[-2:] == ["grade.record", "grades.import"]


def test_grades_that_keep_changing_are_refused_clearly(
    uow: UOW, ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    grades_given = iter(["poor", "fair", "good", "poor"])
    meanwhile(
        monkeypatch,
        year_data,
        lambda: record_grade(
            uow(), COORDINATOR, YEAR, ids["xiji"], "key_work", "Q1", next(grades_given), "统计局"
        ),
        times=3,
    )
    with pytest.raises(Refused) as caught:
        import_grades(uow(), COORDINATOR, YEAR, grades(Grade.EXCELLENT), "g.xlsx")
    assert caught.value.code == "import_changed_meanwhile"
    assert dict(caught.value.params) == {"kind": "grades", "what": "grades"}
    assert in_force(uow) == [(ids["xiji"], "good")]
    assert "grades.import" not in audit_actions(uow)


def test_a_plan_loaded_while_grades_are_prepared_is_the_one_they_are_checked_against(
    uow: UOW, ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    renamed = default_plan_text(YEAR).replace("key_work", "core_work")
    prepared = meanwhile(
        monkeypatch, year_data, lambda: load_plan(uow(), OPERATOR, renamed, "plan2.yaml")
    )
    with pytest.raises(InputError) as caught:
        import_grades(uow(), COORDINATOR, YEAR, grades(Grade.GOOD), "g.xlsx")
    assert len(prepared) == 1  # the second preparation, against the new plan, refused them
    assert {p.code for p in caught.value.problems} == {"unknown_item"}
    assert count(uow, GradeRow) == 0


# --- tasks, units, bonus ---------------------------------------------------------------------


def test_a_task_changed_while_tasks_are_prepared_is_compared_again(
    uow: UOW, ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = [TaskInput("dianzi", "T1", "旧标题", work_item="key_work")]
    import_tasks(uow(), OPERATOR, YEAR, first)
    prepared = meanwhile(
        monkeypatch,
        tasks,
        lambda: import_tasks(
            uow(), OPERATOR, YEAR, [TaskInput("dianzi", "T1", "新标题", work_item="key_work")]
        ),
    )
    done = import_tasks(
        uow(),
        COORDINATOR,
        YEAR,
        [
            TaskInput("dianzi", "T1", "新标题", work_item="key_work"),
            TaskInput("xiji", "T1", "西集任务", work_item="basic_work"),
        ],
    )
    assert len(prepared) == 2
    assert (done.added, done.updated, done.unchanged) == (1, 0, 1)  # against the new title
    titles = sorted((t.unit_code, t.title) for t in tasks_of_year(uow(), COORDINATOR, YEAR))
    assert titles == [("dianzi", "新标题"), ("xiji", "西集任务")]
    with uow() as u:
        rows = u.session.execute(
            select(AuditEntry.action, AuditEntry.entity_id)
            .where(AuditEntry.entity == "task")
            .order_by(AuditEntry.id)
        ).all()
    xiji = next(t.id for t in tasks_of_year(uow(), COORDINATOR, YEAR) if t.unit_code == "xiji")
    assert [tuple(r) for r in rows][-3:] == [
        ("task.add", str(rows[0][1])),  # the first import's T1 of dianzi
        ("task.update", str(rows[0][1])),  # changed meanwhile, by the other import
        ("task.add", str(xiji)),  # this import: only what was still to do
    ]


def test_a_unit_renamed_while_units_are_prepared_is_compared_again(
    uow: UOW, ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared = meanwhile(
        monkeypatch,
        people,
        lambda: register_units(uow(), OPERATOR, [Unit("xiji", "西集镇人民政府", Group.TOWN)]),
    )
    summary = register_units(
        uow(),
        COORDINATOR,
        [Unit("xiji", "西集镇", Group.TOWN), Unit("sangcun", "桑村镇", Group.TOWN)],
    )
    assert len(prepared) == 2
    assert [u.code for u in summary.added] == ["sangcun"]
    assert [(c.before.name, c.after.name) for c in summary.updated] == [
        ("西集镇人民政府", "西集镇")
    ]
    with uow() as u:
        units = {r[0]: (r[1], r[2]) for r in u.session.execute(
            select(UnitRow.code, UnitRow.id, UnitRow.name)
        )}  # fmt: skip
        added = list(
            u.session.execute(
                select(AuditEntry.entity_id).where(AuditEntry.action == "unit.add")
            ).scalars()
        )
    assert units["xiji"][1] == "西集镇" and units["sangcun"][1] == "桑村镇"
    assert added[-1] == str(units["sangcun"][0])


def test_a_bonus_decided_meanwhile_against_the_file_refuses_it(
    uow: UOW, ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    pending = add_bonus(uow(), COORDINATOR, YEAR, ids["dianzi"], "改革试点")
    meanwhile(monkeypatch, year_data, lambda: decide_bonus(uow(), COORDINATOR, pending.id, False))
    with pytest.raises(Invalid) as caught:
        import_bonus(
            uow(),
            COORDINATOR,
            YEAR,
            [BonusItem("dianzi", "改革试点", True, ""), BonusItem("xiji", "招商", True, "")],
            "b.xlsx",
        )
    assert caught.value.code == "bonus_import_conflicts"
    assert [(b.unit, b.status) for b in list_bonus(uow(), YEAR)] == [("dianzi", "rejected")]
    assert "bonus.import" not in audit_actions(uow)


def test_bulk_imports_chain_their_audit_entries_with_everyone_elses(
    uow: UOW, ids: dict[str, int]
) -> None:
    record_grade(uow(), COORDINATOR, YEAR, ids["xiji"], "key_work", "Q2", "good", "统计局")
    import_tasks(
        uow(), COORDINATOR, YEAR, [TaskInput(u, "T1", "任务", work_item="key_work") for u in ids]
    )
    import_bonus(uow(), COORDINATOR, YEAR, [BonusItem("xiji", "招商", False, "")], "b.xlsx")
    register_units(uow(), COORDINATOR, [Unit("sangcun", "桑村镇", Group.TOWN)])
    record_grade(uow(), COORDINATOR, YEAR, ids["xiji"], "key_work", "Q2", "poor", "统计局")
    assert audit_actions(uow)[-7:] == [
        "grade.record",
        "task.add",
        "task.add",
        "task.add",
        "bonus.import",
        "unit.add",
        "grade.record",
    ]
