"""The half-year comprehensive supervision report: task progress, findings and their
rectification, good practices, per unit, as of the end of the half (or now while it runs)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from services.access import Actor, Role
from services.errors import NotFound, Refused
from services.files.plan_file import default_plan_text
from services.findings import (
    ACCEPTED,
    OVERDUE,
    accept_rectification,
    record_finding,
    submit_rectification,
)
from services.people import register_person, register_units
from services.plans import load_plan
from services.practices import record_good_practice
from services.reports import ReportEntryInput, submit_report
from services.supervision_report import (
    SupervisionReport,
    SupervisionUnit,
    half_days,
    half_of,
    supervision_report,
    write_supervision_report,
)
from services.tasks import TaskInput, import_tasks, tasks_of_unit
from storage.clock import FixedClock
from storage.models import UnitRow
from storage.repositories.year_data import YearUnits
from tests.services.district import SHANGHAI, UNITS, UOW, YEAR, at

OPERATOR = Actor.operator("test")
COORDINATOR = Actor(person_id=None, role=Role.COORDINATOR, name="发改局")
KEY = "key_work"
VIEWER = Actor(person_id=None, role=Role.VIEWER, name="区领导")


@pytest.fixture
def year(uow: UOW, clock: FixedClock) -> dict[str, int]:
    """A year of supervision, on the clock:
    - 店子镇 reports T1 on track (Feb), T2 done (Feb), T1 behind (May, in H1) and T1 done
      (June's report, sent in July: after H1);
    - finding #1 of 店子镇 (Feb) rectified and accepted in March; finding #2 of 西集镇 (May)
      never rectified, overdue from 11 June; finding #3 of 店子镇 found in August;
    - a good practice of 店子镇 in April, one of 西集镇 in September;
    - 区财政局 has nothing at all.
    The clock ends on 1 October. The units' ids by code."""
    clock.set(at(1, 2))
    load_plan(uow(), COORDINATOR, default_plan_text(YEAR), "plan.yaml")
    register_units(uow(), COORDINATOR, UNITS)
    with uow() as u:
        ids = {r.code: r.id for r in u.repository(YearUnits).rows()}
    liaison_view = register_person(uow(), OPERATOR, 5001, "张三", Role.LIAISON, "dianzi")
    liaison = Actor(liaison_view.id, Role.LIAISON, ids["dianzi"], "张三")
    import_tasks(
        uow(),
        COORDINATOR,
        YEAR,
        [
            TaskInput("dianzi", "T1", "新建标准化厂房", "", "5 万平方米", date(2025, 6, 30), KEY),
            TaskInput("dianzi", "T2", "招引项目落地", "", "", date(2025, 3, 31), KEY),
            TaskInput("xiji", "T1", "园区道路", "", "", date(2025, 12, 31), "basic_work"),
        ],
    )
    t1, t2 = (t.id for t in tasks_of_unit(uow(), COORDINATOR, ids["dianzi"], YEAR))

    def report(month: int, *entries: ReportEntryInput) -> None:
        submit_report(uow(), liaison, ids["dianzi"], YEAR, month, list(entries))

    clock.set(at(2, 20))
    report(2, ReportEntryInput(t1, "on_track", "40%"), ReportEntryInput(t2, "done", "已签约"))
    finding1 = record_finding(
        uow(), COORDINATOR, ids["dianzi"], "台账不全", "on_site_inspection",
        date(2025, 2, 20), date(2025, 3, 20),
    )  # fmt: skip
    clock.set(at(3, 5))
    receipt = submit_rectification(uow(), liaison, finding1.id, "已补齐台账")
    accept_rectification(uow(), COORDINATOR, receipt.rectification_id)
    clock.set(at(4, 1))
    record_good_practice(uow(), COORDINATOR, ids["dianzi"], YEAR, "厂房代建模式", "先建后租")
    clock.set(at(5, 20))
    record_finding(
        uow(), COORDINATOR, ids["xiji"], "道路进度滞后", "half_year_comprehensive",
        date(2025, 5, 20), date(2025, 6, 10),
    )  # fmt: skip
    clock.set(at(6, 3))
    report(5, ReportEntryInput(t1, "behind", "55%", "雨季停工"))
    clock.set(at(7, 4))
    report(6, ReportEntryInput(t1, "done", "100%"))
    clock.set(at(8, 1))
    record_finding(
        uow(), COORDINATOR, ids["dianzi"], "安全隐患", "visit", date(2025, 8, 1), date(2025, 9, 30)
    )
    clock.set(at(9, 1))
    record_good_practice(uow(), COORDINATOR, ids["xiji"], YEAR, "园区共建", "")
    clock.set(at(10, 1))
    return ids


def unit(report: SupervisionReport, code: str) -> SupervisionUnit:
    """One unit's part of the report."""
    return next(u for u in report.units if u.code == code)


def test_a_half_year_is_january_to_june_or_july_to_december() -> None:
    assert half_days(2025, 1) == (date(2025, 1, 1), date(2025, 6, 30))
    assert half_days(2025, 2) == (date(2025, 7, 1), date(2025, 12, 31))
    assert (half_of(date(2025, 6, 30)), half_of(date(2025, 7, 1))) == (1, 2)
    with pytest.raises(ValueError):
        half_days(2025, 3)


def test_task_progress_is_the_latest_report_by_the_end_of_the_half(
    uow: UOW, year: dict[str, int]
) -> None:
    first = supervision_report(uow(), COORDINATOR, YEAR, 1)
    tasks = {t.code: t for t in unit(first, "dianzi").tasks}
    assert (tasks["T1"].status, tasks["T1"].month, tasks["T1"].figure) == ("behind", 5, "55%")
    assert tasks["T1"].note == "雨季停工"
    assert tasks["T2"].status == "done"
    second = supervision_report(uow(), COORDINATOR, YEAR, 2)
    assert {t.code: t.status for t in unit(second, "dianzi").tasks}["T1"] == "done"
    assert [t.status for t in unit(second, "xiji").tasks] == [None]


def test_findings_are_those_of_the_half_and_older_ones_not_yet_accepted(
    uow: UOW, year: dict[str, int]
) -> None:
    first = supervision_report(uow(), COORDINATOR, YEAR, 1)
    assert [(f.description, f.status) for f in unit(first, "dianzi").findings] == [
        ("台账不全", ACCEPTED)
    ]
    assert [(f.description, f.status) for f in unit(first, "xiji").findings] == [
        ("道路进度滞后", OVERDUE)
    ]
    accepted = unit(first, "dianzi").findings[0]
    assert [r.decision for r in accepted.rectifications] == [ACCEPTED]
    second = supervision_report(uow(), COORDINATOR, YEAR, 2)
    # The accepted finding of H1 is settled; the overdue one is still the unit's business.
    assert [f.description for f in unit(second, "dianzi").findings] == ["安全隐患"]
    assert [f.description for f in unit(second, "xiji").findings] == ["道路进度滞后"]
    assert (first.finding_count, second.finding_count) == (2, 2)


def test_good_practices_are_those_recorded_in_the_half(uow: UOW, year: dict[str, int]) -> None:
    first = supervision_report(uow(), COORDINATOR, YEAR, 1)
    second = supervision_report(uow(), COORDINATOR, YEAR, 2)
    assert [p.title for p in unit(first, "dianzi").practices] == ["厂房代建模式"]
    assert unit(first, "xiji").practices == ()
    assert [p.title for p in unit(second, "xiji").practices] == ["园区共建"]
    assert (first.practice_count, second.practice_count) == (1, 1)


def test_every_active_unit_has_its_place_even_with_nothing_to_report(
    uow: UOW, year: dict[str, int]
) -> None:
    report = supervision_report(uow(), COORDINATOR, YEAR, 1)
    assert [u.code for u in report.units] == ["dianzi", "xiji", "finance"]
    finance = unit(report, "finance")
    assert (finance.tasks, finance.findings, finance.practices) == ((), (), ())


def test_a_deactivated_unit_appears_only_with_findings_or_practices_in_the_report(
    uow: UOW, year: dict[str, int]
) -> None:
    with uow() as u:
        for code in ("xiji", "finance"):
            row = u.session.get(UnitRow, year[code])
            assert row is not None
            row.active = False
        u.commit()
    report = supervision_report(uow(), COORDINATOR, YEAR, 1)
    assert [(u.code, u.active) for u in report.units] == [("dianzi", True), ("xiji", False)]


def test_the_report_is_as_of_the_end_of_the_half_or_now_while_it_runs(
    uow: UOW, clock: FixedClock, year: dict[str, int]
) -> None:
    first = supervision_report(uow(), COORDINATOR, YEAR, 1)
    assert first.as_of == datetime(2025, 7, 1, tzinfo=SHANGHAI)
    assert (first.first_day, first.last_day) == (date(2025, 1, 1), date(2025, 6, 30))
    second = supervision_report(uow(), COORDINATOR, YEAR, 2)
    assert second.as_of == at(10, 1)


def test_a_leader_may_read_it_and_a_liaison_or_a_rater_may_not(
    uow: UOW, year: dict[str, int]
) -> None:
    assert supervision_report(uow(), VIEWER, YEAR, 1).finding_count == 2
    for role in (Role.LIAISON, Role.RATER):
        actor = Actor(person_id=None, role=role, unit_id=year["dianzi"], name="x")
        with pytest.raises(Refused):
            supervision_report(uow(), actor, YEAR, 1)


def test_a_year_without_a_plan_is_not_found(uow: UOW, year: dict[str, int]) -> None:
    with pytest.raises(NotFound) as caught:
        supervision_report(uow(), COORDINATOR, 2031, 1)
    assert caught.value.code == "no_plan"


def cells(sheet: object) -> list[list[object]]:
    """Every row's values of a worksheet."""
    return [list(row) for row in sheet.iter_rows(values_only=True)]  # type: ignore[attr-defined]


def test_the_workbook_has_the_summary_tasks_findings_and_practices(
    uow: UOW, year: dict[str, int], tmp_path: Path
) -> None:
    path = tmp_path / "h1.xlsx"
    write_supervision_report(uow(), COORDINATOR, YEAR, 1, path, "zh")
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        assert book.sheetnames == ["概况", "任务进展", "问题整改", "典型经验", "督导计划执行"]
        summary = cells(book["概况"])
        assert summary[0][0] == "2025 年上半年综合督导报告"
        header = summary[4]
        dianzi = next(r for r in summary if r[0] == "店子镇")
        row = dict(zip(header, dianzi, strict=True))
        assert (row["目标任务"], row["已完成"], row["滞后"]) == (2, 1, 1)
        assert (row["督导问题"], row["整改通过"], row["典型经验"]) == (1, 1, 1)
        xiji = dict(zip(header, next(r for r in summary if r[0] == "西集镇"), strict=True))
        assert (xiji["逾期未整改"], xiji["未报进展"]) == (1, 1)
        totals = dict(zip(header, summary[-1], strict=True))
        assert (totals["单位"], totals["督导问题"]) == ("合计", 2)
        tasks = cells(book["任务进展"])
        assert tasks[5][:3] == ["店子镇", "T1", "新建标准化厂房"]
        assert "滞后" in tasks[5]
        findings = cells(book["问题整改"])
        overdue = next(r for r in findings if r[0] == "西集镇")
        assert "道路进度滞后" in overdue and "逾期未整改" in overdue and "半年综合督导" in overdue
        assert overdue[2] == datetime(2025, 5, 20)
        practices = cells(book["典型经验"])
        assert practices[5][:3] == ["店子镇", "厂房代建模式", "先建后租"]
    finally:
        book.close()


def test_the_workbook_speaks_english_too(uow: UOW, year: dict[str, int], tmp_path: Path) -> None:
    path = tmp_path / "h2.xlsx"
    write_supervision_report(uow(), COORDINATOR, YEAR, 2, path, "en")
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        assert book.sheetnames == [
            "Summary",
            "Task progress",
            "Findings",
            "Good practices",
            "Plan vs done",
        ]
        findings = cells(book["Findings"])
        assert any("安全隐患" in r for r in findings)
    finally:
        book.close()
