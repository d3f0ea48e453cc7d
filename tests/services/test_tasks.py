"""Importing target tasks and showing a unit its tasks, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import func, select

from services.access import Actor, Role
from services.errors import Invalid, NotFound, Refused, ServiceError
from services.files.plan_file import default_plan_text
from services.plans import load_plan
from services.tasks import (
    TaskInput,
    import_tasks,
    task_import_basis,
    tasks_of_unit,
    tasks_of_year,
)
from storage.models import AuditEntry, Person, TaskRow, UnitRow
from storage.unit_of_work import UnitOfWork

UowFactory = Callable[[], UnitOfWork]
YEAR = 2025
OPERATOR = Actor.operator("test")


def _unit(uow: UowFactory, code: str, group: str = "town") -> int:
    with uow() as work:
        row = UnitRow(code=code, name=f"{code}镇", group=group, created_at=work.now())
        work.session.add(row)
        work.flush()
        work.commit()
        return row.id


def _person(uow: UowFactory, role: Role, unit_id: int | None = None) -> Actor:
    with uow() as work:
        row = Person(
            display_name=f"{role.value}-{unit_id}",
            role=role.value,
            unit_id=unit_id,
            created_at=work.now(),
        )
        work.session.add(row)
        work.flush()
        work.commit()
        return Actor(row.id, role, unit_id, row.display_name)


@pytest.fixture
def units(uow: UowFactory) -> dict[str, int]:
    """A loaded plan of 2025 and two towns, a and b."""
    load_plan(uow(), OPERATOR, default_plan_text(YEAR), "plan.yaml")
    return {"a": _unit(uow, "a"), "b": _unit(uow, "b")}


def _task(unit: str = "a", code: str = "T01", **fields: object) -> TaskInput:
    base = TaskInput(
        unit, code, f"{unit} 的任务 {code}", "实施方案", "5 亿元", date(2025, 6, 30), "key_work"
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def _count(uow: UowFactory, model: type[TaskRow] | type[AuditEntry]) -> int:
    with uow() as work:
        return int(work.session.execute(select(func.count()).select_from(model)).scalar_one())


def test_an_import_adds_every_task_with_an_audit_entry_each(
    uow: UowFactory, units: dict[str, int]
) -> None:
    audits = _count(uow, AuditEntry)
    summary = import_tasks(uow(), OPERATOR, YEAR, [_task("a", "T01"), _task("b", "T01")])
    assert (summary.added, summary.updated, summary.unchanged, summary.total) == (2, 0, 0, 2)
    assert _count(uow, TaskRow) == 2
    with uow() as work:
        actions = work.session.execute(
            select(AuditEntry.action, AuditEntry.after).where(AuditEntry.id > audits)
        ).all()
    assert [a for a, _ in actions] == ["task.add", "task.add"]
    after = actions[0][1]
    assert after is not None and after["due_date"] == "2025-06-30"


def test_a_work_item_given_by_name_is_stored_by_code(
    uow: UowFactory, units: dict[str, int]
) -> None:
    import_tasks(uow(), OPERATOR, YEAR, [_task(work_item="基础工作")])
    (view,) = tasks_of_unit(uow(), OPERATOR, units["a"], YEAR)
    assert view.work_item == "basic_work"


def test_a_second_import_updates_changed_tasks_keeps_the_rest_and_audits_the_old_values(
    uow: UowFactory, units: dict[str, int]
) -> None:
    import_tasks(uow(), OPERATOR, YEAR, [_task(code="T01"), _task(code="T02")])
    audits = _count(uow, AuditEntry)
    summary = import_tasks(
        uow(), OPERATOR, YEAR, [_task(code="T01", target="8 亿元"), _task(code="T03")]
    )
    assert (summary.added, summary.updated, summary.unchanged) == (1, 1, 0)
    codes = {v.code: v for v in tasks_of_unit(uow(), OPERATOR, units["a"], YEAR)}
    assert sorted(codes) == ["T01", "T02", "T03"]  # T02 is kept though absent from the file
    assert codes["T01"].target == "8 亿元"
    with uow() as work:
        update = work.session.execute(
            select(AuditEntry).where(AuditEntry.id > audits, AuditEntry.action == "task.update")
        ).scalar_one()
    assert update.before is not None and update.after is not None
    assert (update.before["target"], update.after["target"]) == ("5 亿元", "8 亿元")


def test_importing_the_same_tasks_again_changes_nothing(
    uow: UowFactory, units: dict[str, int]
) -> None:
    import_tasks(uow(), OPERATOR, YEAR, [_task()])
    audits = _count(uow, AuditEntry)
    summary = import_tasks(uow(), OPERATOR, YEAR, [_task()])
    assert (summary.added, summary.updated, summary.unchanged) == (0, 0, 1)
    assert _count(uow, AuditEntry) == audits


@pytest.mark.parametrize("role", [Role.LIAISON, Role.RATER, Role.VIEWER])
def test_only_coordinators_import_tasks_and_a_refusal_stores_nothing(
    uow: UowFactory, units: dict[str, int], role: Role
) -> None:
    actor = _person(uow, role, units["a"] if role is Role.LIAISON else None)
    with pytest.raises(Refused) as refused:
        import_tasks(uow(), actor, YEAR, [_task()])
    assert refused.value.code == "role_not_allowed"
    assert _count(uow, TaskRow) == 0


@pytest.mark.parametrize(
    ("tasks", "error", "code"),
    [
        ([_task(), _task(unit="zz")], NotFound, "task_units_unknown"),
        ([_task(), _task(code="T02", work_item="nope")], Invalid, "task_work_items_unknown"),
        ([_task(), _task()], Invalid, "task_duplicate"),
        ([_task(), _task(code="T02", title=" ")], Invalid, "task_fields_invalid"),
        ([_task(code="x" * 65)], Invalid, "task_fields_invalid"),
        ([], Invalid, "task_import_empty"),
    ],
)
def test_a_bad_task_refuses_the_whole_import(
    uow: UowFactory,
    units: dict[str, int],
    tasks: list[TaskInput],
    error: type[ServiceError],
    code: str,
) -> None:
    with pytest.raises(error) as raised:
        import_tasks(uow(), OPERATOR, YEAR, tasks)
    assert raised.value.code == code
    assert _count(uow, TaskRow) == 0


def test_tasks_cannot_be_imported_for_a_year_without_a_plan(
    uow: UowFactory, units: dict[str, int]
) -> None:
    with pytest.raises(NotFound) as raised:
        import_tasks(uow(), OPERATOR, 2030, [_task()])
    assert raised.value.code == "no_plan"


def test_a_liaison_sees_the_tasks_of_their_own_unit_only(
    uow: UowFactory, units: dict[str, int]
) -> None:
    import_tasks(uow(), OPERATOR, YEAR, [_task("a"), _task("b")])
    liaison = _person(uow, Role.LIAISON, units["a"])
    (own,) = tasks_of_unit(uow(), liaison, units["a"], YEAR)
    assert (own.unit_code, own.code, own.due_date) == ("a", "T01", date(2025, 6, 30))
    with pytest.raises(Refused) as refused:
        tasks_of_unit(uow(), liaison, units["b"], YEAR)
    assert refused.value.code == "not_your_unit"


def test_viewers_see_any_units_tasks_and_raters_none(
    uow: UowFactory, units: dict[str, int]
) -> None:
    import_tasks(uow(), OPERATOR, YEAR, [_task("a"), _task("b")])
    viewer = _person(uow, Role.VIEWER)
    assert len(tasks_of_unit(uow(), viewer, units["b"], YEAR)) == 1
    assert [t.unit_code for t in tasks_of_year(uow(), viewer, YEAR)] == ["a", "b"]
    with pytest.raises(Refused):
        tasks_of_unit(uow(), _person(uow, Role.RATER), units["a"], YEAR)


def test_the_tasks_of_an_unknown_unit_are_not_found(
    uow: UowFactory, units: dict[str, int]
) -> None:
    with pytest.raises(NotFound):
        tasks_of_unit(uow(), OPERATOR, 999, YEAR)


def test_the_import_basis_holds_the_plan_and_the_active_units(
    uow: UowFactory, units: dict[str, int]
) -> None:
    basis = task_import_basis(uow(), YEAR)
    assert basis.plan.year == YEAR
    assert [u.code for u in basis.units] == ["a", "b"]
