"""A small district for the service tests: the default plan of 2025 and three units, and ways
to look into the database behind the services."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from scoring import Group, IndicatorValues, Unit
from services.access import Actor, Role
from services.errors import ServiceError
from services.files.plan_file import default_plan_text
from services.findings import FindingView, record_finding
from services.people import register_person, register_units
from services.plans import load_plan
from services.reports import ReportEntryInput, ReportReceipt, submit_report
from services.results import ResultView, decide_result, freeze_result, set_approver
from services.tasks import TaskInput, import_tasks, tasks_of_unit
from services.year_data import record_grade
from storage.audit import verify
from storage.clock import FixedClock
from storage.models import (
    AuditEntry,
    Base,
    EvidenceRow,
    ExtensionRequest,
    FalseReport,
    FindingEvidence,
    FindingRow,
    GoodPractice,
    Person,
    ProgressReport,
    Publication,
    RectificationEvidence,
    RectificationRow,
    ReportEntry,
    ReportEvidence,
    UnitRow,
    YearResult,
)
from storage.repositories.people import People as PeopleRepository
from storage.repositories.year_data import YearUnits
from storage.unit_of_work import UnitOfWork
from templates import render

YEAR = 2025
SHANGHAI = ZoneInfo("Asia/Shanghai")
UOW = Callable[[], UnitOfWork]
OPERATOR = Actor.operator()
TEST_OPERATOR = Actor.operator("test")  # the operator of the people, results and reports helpers
UowFactory = UOW
UNITS = [
    Unit("dianzi", "店子镇", Group.TOWN),
    Unit("xiji", "西集镇", Group.TOWN),
    Unit("finance", "区财政局", Group.ZONE_OR_DEPARTMENT),
]


def at(month: int, day: int, hour: int = 10) -> datetime:
    """A moment of YEAR in Shanghai."""
    return datetime(YEAR, month, day, hour, tzinfo=SHANGHAI)


def plan_and_units(uow: UOW) -> dict[str, int]:
    """The default plan of YEAR and the three UNITS stored; the units' ids by code."""
    load_plan(uow(), OPERATOR, default_plan_text(YEAR), "plan.yaml")
    register_units(uow(), OPERATOR, UNITS)
    with uow() as u:
        return {r.code: r.id for r in u.repository(YearUnits).rows()}


def gdp(dianzi: float | None, xiji: float | None) -> IndicatorValues:
    """Values of one indicator (gdp_growth) for the two towns."""
    return IndicatorValues.from_rows(
        {"dianzi": {"gdp_growth": dianzi}, "xiji": {"gdp_growth": xiji}}, ["gdp_growth"]
    )


def count(uow: UOW, model: type) -> int:
    """How many rows a table has."""
    with uow() as u:
        return int(u.session.execute(select(func.count()).select_from(model)).scalar_one())


def audit_actions(uow: UOW) -> list[str]:
    """The actions of the audit log, oldest first; the chain must verify."""
    with uow() as u:
        assert verify(u.session) == []
        return list(u.session.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars())


# --- people of every role (publications, results, year close) --------------------------------


@dataclass(frozen=True)
class People:
    """The actors of these tests and the units' ids by code."""

    coordinator: Actor
    liaison: Actor  # of dianzi
    other_liaison: Actor  # of xiji
    rater: Actor
    viewer: Actor
    units: dict[str, int]


def registered_actor(uow: UOW, telegram_id: int, name: str, role: Role, unit: str | None) -> Actor:
    """A person registered with `role` (of `unit`, by code), as an Actor."""
    person = register_person(uow(), TEST_OPERATOR, telegram_id, name, role, unit)
    with uow() as work:
        ids = {r.code: r.id for r in work.repository(YearUnits).rows()}
    return Actor(person.id, role, ids[unit] if unit else None, name)


@pytest.fixture
def people(uow: UOW, clock: FixedClock) -> People:
    """The 2025 plan, three units graded on 2 January, and people of every role."""
    clock.set(at(1, 2))
    load_plan(uow(), TEST_OPERATOR, default_plan_text(YEAR), "plan.yaml")
    register_units(uow(), TEST_OPERATOR, UNITS)
    with uow() as work:
        units = {r.code: r.id for r in work.repository(YearUnits).rows()}
    for grade, code in (("excellent", "dianzi"), ("fair", "xiji"), ("good", "finance")):
        for item in ("key_work", "basic_work"):
            record_grade(uow(), TEST_OPERATOR, YEAR, units[code], item, "year", grade, "考核组")
    clock.set(at(3, 10))
    return People(
        coordinator=registered_actor(uow, 1001, "协调员", Role.COORDINATOR, None),
        liaison=registered_actor(uow, 2001, "店子联络员", Role.LIAISON, "dianzi"),
        other_liaison=registered_actor(uow, 2101, "西集联络员", Role.LIAISON, "xiji"),
        rater=registered_actor(uow, 3001, "评价人", Role.RATER, None),
        viewer=registered_actor(uow, 4001, "查看人", Role.VIEWER, None),
        units=units,
    )


def results_counts(uow: UOW) -> tuple[int, int, int]:
    """How many results, publications and audit entries are stored."""
    with uow() as work:
        return tuple(  # type: ignore[return-value]
            work.session.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (YearResult, Publication, AuditEntry)
        )


def assert_result_refused(uow: UOW, code: str, call: Callable[[], Any]) -> None:
    """The call raises `code` (worded in both languages) and stores nothing."""
    before = results_counts(uow)
    with pytest.raises(ServiceError) as error:
        call()
    assert error.value.code == code
    for language in ("zh", "en"):
        assert render(f"errors.{code}", language, **dict(error.value.params))
    assert results_counts(uow) == before


def approver(uow: UOW, people: People) -> Actor:
    """The viewer, marked as an approver."""
    set_approver(uow(), people.coordinator, people.viewer.person_id or 0, True)
    return people.viewer


# The leader `approve_year` registers (once) and marks as an approver.
LEADER_TELEGRAM_ID = 9399
LEADER_NAME = "刘区长"


def leader(uow: UOW) -> Actor:
    """A leader of the Leading Group marked as an approver: registered the first time."""
    with uow() as work:
        found = work.repository(PeopleRepository).by_telegram_user_id(LEADER_TELEGRAM_ID)
        person_id = found.id if found is not None and found.active else None
    if person_id is None:
        person_id = register_person(
            uow(), TEST_OPERATOR, LEADER_TELEGRAM_ID, LEADER_NAME, Role.VIEWER, None
        ).id
    set_approver(uow(), TEST_OPERATOR, person_id, True)
    return Actor(person_id, Role.VIEWER, None, LEADER_NAME)


def approve_year(uow: UOW, coordinator: Actor = TEST_OPERATOR, year: int = YEAR) -> ResultView:
    """The standings of `year` as of now frozen by `coordinator` and approved by a leader,
    through the real services: publishing the year needs its approved result."""
    freeze_result(uow(), coordinator, year)
    return decide_result(uow(), leader(uow), year, approve=True)


# --- findings, rectifications, extensions, evidence ------------------------------------------


FOUND = date(2025, 2, 20)
DEADLINE = date(2025, 3, 10)
# The first instant after the deadline day in Shanghai.
DEADLINE_END = datetime(2025, 3, 11, 0, 0, tzinfo=SHANGHAI)
FINDINGS_TABLES: tuple[type[Base], ...] = (
    FindingRow,
    FindingEvidence,
    RectificationRow,
    RectificationEvidence,
    ExtensionRequest,
    FalseReport,
    GoodPractice,
    EvidenceRow,
    AuditEntry,
)


@dataclass(frozen=True)
class World:
    """Two towns with their liaisons, and one person of every other role."""

    unit_a: int
    unit_b: int
    inactive_unit: int
    coordinator: Actor
    admin: Actor
    liaison_a: Actor
    liaison_b: Actor
    rater: Actor
    viewer: Actor

    def outsiders_of_a(self) -> list[Actor]:
        """Everyone who may not act for unit A as a liaison would."""
        return [self.liaison_b, self.rater, self.viewer]


def _person(
    work: UnitOfWork,
    name: str,
    role: Role,
    telegram: int | None,
    unit: int | None,
    active: bool = True,
) -> Actor:
    person = Person(
        telegram_user_id=telegram,
        display_name=name,
        role=role.value,
        unit_id=unit,
        active=active,
        created_at=work.now(),
    )
    work.session.add(person)
    work.flush()
    return Actor(person.id, role, unit, name)


def build_world(uow: UowFactory, plan: bool = True) -> World:
    """Units A and B (towns) and an inactive unit, people of every role, and the 2025 plan."""
    with uow() as work:
        units = [
            UnitRow(code=code, name=name, group="town", active=active, created_at=work.now())
            for code, name, active in (
                ("A", "甲镇", True),
                ("B", "乙镇", True),
                ("X", "旧镇", False),
            )
        ]
        work.session.add_all(units)
        work.flush()
        a, b, x = (u.id for u in units)
        coordinator = _person(work, "协调员", Role.COORDINATOR, 1001, None)
        _person(work, "另一协调员", Role.COORDINATOR, 1002, None)
        _person(work, "离任协调员", Role.COORDINATOR, 1003, None, active=False)
        admin = _person(work, "管理员", Role.ADMIN, 1009, None)
        liaison_a = _person(work, "甲联络员", Role.LIAISON, 2001, a)
        _person(work, "甲联络员二", Role.LIAISON, 2002, a)
        _person(work, "甲离任联络员", Role.LIAISON, 2003, a, active=False)
        liaison_b = _person(work, "乙联络员", Role.LIAISON, 2101, b)
        rater = _person(work, "评分人", Role.RATER, 3001, None)
        viewer = _person(work, "查看人", Role.VIEWER, 4001, None)
        work.commit()
    if plan:
        load_plan(uow(), Actor.operator(), default_plan_text(2025), "test")
    return World(a, b, x, coordinator, admin, liaison_a, liaison_b, rater, viewer)


def findings_state(uow: UowFactory) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables of this area (and the audit log), to show nothing changed."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with uow() as work:
        for model in FINDINGS_TABLES:
            columns = list(model.__table__.columns)
            rows = work.session.execute(select(*columns).order_by(columns[0])).all()
            out[model.__tablename__] = [tuple(r) for r in rows]
    return out


def audit_entries(uow: UowFactory) -> list[tuple[str, str, dict[str, Any] | None, Any]]:
    """(action, entity, before, after) of every audit entry, oldest first."""
    with uow() as work:
        rows = work.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()
        return [(r.action, r.entity, r.before, r.after) for r in rows]


def assert_code(error: pytest.ExceptionInfo[ServiceError], code: str) -> None:
    """The error has `code`, and its message exists in both languages."""
    assert error.value.code == code
    params: dict[str, Any] = dict(error.value.params)
    for language in ("zh", "en"):
        assert render(f"errors.{code}", language, **params)


@contextmanager
def unchanged(uow: UowFactory) -> Iterator[None]:
    """Assert that the block changes no row of this area."""
    before = findings_state(uow)
    yield
    assert findings_state(uow) == before


def add_finding(
    uow: UowFactory,
    world: World,
    unit: int | None = None,
    deadline: date = DEADLINE,
    found_on: date = FOUND,
    **overrides: Any,
) -> FindingView:
    """A finding of unit A (unless told) recorded by the coordinator."""
    args: dict[str, Any] = {
        "description": "台账资料不全",
        "source": "on_site_inspection",
        **overrides,
    }
    return record_finding(
        uow(),
        world.coordinator,
        unit or world.unit_a,
        found_on=found_on,
        deadline=deadline,
        **args,
    )


def add_evidence(uow: UowFactory, unique: str) -> int:
    """An evidence file known only by its Telegram ids."""
    with uow() as work:
        row = EvidenceRow(
            telegram_file_id=f"file-{unique}",
            telegram_unique_id=unique,
            kind="photo",
            uploaded_at=work.now(),
        )
        work.session.add(row)
        work.commit()
        return row.id


def finding_row(uow: UowFactory, finding_id: int) -> FindingRow:
    """The stored finding."""
    with uow() as work:
        row = work.session.get(FindingRow, finding_id)
        assert row is not None
        return row


# --- monthly reports: two towns with two tasks each ------------------------------------------


class District:
    """Two towns a and b with two tasks each, their liaisons, and a coordinator."""

    def __init__(self, uow: UowFactory) -> None:
        self.uow = uow
        load_plan(uow(), TEST_OPERATOR, default_plan_text(YEAR), "plan.yaml")
        self.unit = {code: self._unit(code) for code in ("a", "b")}
        import_tasks(
            uow(),
            TEST_OPERATOR,
            YEAR,
            [
                TaskInput(u, c, f"{u}-{c}", work_item="key_work")
                for u in ("a", "b")
                for c in ("T1", "T2")
            ],
        )
        self.tasks = {
            code: [t.id for t in tasks_of_unit(uow(), TEST_OPERATOR, unit_id, YEAR)]
            for code, unit_id in self.unit.items()
        }
        self.liaison = {code: self.person(Role.LIAISON, uid) for code, uid in self.unit.items()}
        self.coordinator = self.person(Role.COORDINATOR)

    def _unit(self, code: str) -> int:
        with self.uow() as work:
            row = UnitRow(code=code, name=f"{code}镇", group="town", created_at=work.now())
            work.session.add(row)
            work.flush()
            work.commit()
            return row.id

    def person(self, role: Role, unit_id: int | None = None) -> Actor:
        with self.uow() as work:
            row = Person(
                display_name=f"{role.value}{unit_id or ''}",
                role=role.value,
                unit_id=unit_id,
                created_at=work.now(),
            )
            work.session.add(row)
            work.flush()
            work.commit()
            return Actor(row.id, role, unit_id, row.display_name)

    def entries(
        self, unit: str, status: str = "on_track", note: str = ""
    ) -> list[ReportEntryInput]:
        return [ReportEntryInput(t, status, "50%", note) for t in self.tasks[unit]]

    def submit(
        self,
        unit: str,
        month: int = 2,
        entries: list[ReportEntryInput] | None = None,
        evidence_ids: Sequence[int] = (),
    ) -> ReportReceipt:
        return submit_report(
            self.uow(),
            self.liaison[unit],
            self.unit[unit],
            YEAR,
            month,
            self.entries(unit) if entries is None else entries,
            evidence_ids,
        )

    def grant_extension(self, unit: str, month: int, until: date) -> None:
        with self.uow() as work:
            work.session.add(
                ExtensionRequest(
                    unit_id=self.unit[unit],
                    report_year=YEAR,
                    report_month=month,
                    reason="停电",
                    requested_date=until,
                    requested_at=work.now(),
                    decision="granted",
                    decided_at=work.now(),
                )
            )
            work.commit()

    def count(self, model: type) -> int:
        with self.uow() as work:
            return int(work.session.execute(select(func.count()).select_from(model)).scalar_one())

    def stored(self) -> tuple[int, int, int, int]:
        return (
            self.count(ProgressReport),
            self.count(ReportEntry),
            self.count(ReportEvidence),
            self.count(AuditEntry),
        )
