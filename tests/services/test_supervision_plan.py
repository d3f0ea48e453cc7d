"""The annual supervision plan (督导计划): the template with drop-down lists, reading it back
(all or nothing, every bad cell named), loading and adding activities, findings naming their
activity, the half-year report's plan against done, and the coordinators' reminders; on SQLite
and PostgreSQL."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from scoring import InputError
from services.access import Actor
from services.errors import ServiceError
from services.files.activity_reader import (
    ActivityInput,
    read_activities,
    write_activities_template,
)
from services.findings import record_finding
from services.reminders import ACTIVITY_UPCOMING, due_reminders, plan_reminders
from services.results import close_year, decide_result, freeze_result, publish_result
from services.supervision_plan import (
    add_activity,
    import_activities,
    mark_activity_done,
    upcoming_activities,
    year_activities,
)
from services.supervision_report import supervision_report, write_supervision_report
from storage.clock import FixedClock
from storage.statuses import SupervisionKind
from storage.unit_of_work import UnitOfWork
from templates import render
from tests.fixtures_workbooks import write_sheet
from tests.services.district import SHANGHAI, UNITS, YEAR
from tests.services.test_publications import People, people
from tests.services.test_results import approver, counts

__all__ = ["people"]  # the fixture these tests use

UOW = Callable[[], UnitOfWork]
HEADER = ["日期", "督导方式", "督导重点", "对象单位"]


def plan_file(tmp_path: Path, rows: list[list[object]]) -> Path:
    """A filled-in supervision plan workbook."""
    return write_sheet(tmp_path / "plan.xlsx", "督导计划", [HEADER, *rows])


def test_the_template_has_drop_downs_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "template.xlsx"
    write_activities_template(YEAR, path, UNITS, "zh")
    with zipfile.ZipFile(path) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert sheet.count("<dataValidation ") == 3  # kinds, dates, units
    assert render("supervision.kind_on_site_inspection", "zh") in sheet
    book = openpyxl.load_workbook(path)
    ws = book["activities"]
    ws.append([date(YEAR, 4, 8), "实地检查", "项目建设进度", "店子镇、xiji"])
    ws.append(["2025年7月10日", "会议调度", "半年调度", ""])
    ws.append([date(YEAR, 9, 1), "ledger monitoring", "台账", "全部"])
    book.save(path)
    assert read_activities(path, UNITS) == [
        ActivityInput(date(YEAR, 4, 8), SupervisionKind.ON_SITE_INSPECTION, "项目建设进度",
                      ("dianzi", "xiji")),
        ActivityInput(date(YEAR, 7, 10), SupervisionKind.DISPATCH_MEETING, "半年调度", ()),
        ActivityInput(date(YEAR, 9, 1), SupervisionKind.LEDGER_MONITORING, "台账", ()),
    ]  # fmt: skip


def test_a_bad_workbook_names_every_bad_cell(tmp_path: Path) -> None:
    path = plan_file(
        tmp_path,
        [
            ["2025-13-01", "实地检查", "一", ""],
            [date(YEAR, 5, 1), "开会", "二", ""],
            [date(YEAR, 5, 2), "专项督导", "三", "店子镇、不存在镇"],
            [date(YEAR, 5, 3), "专项督导", "", ""],
        ],
    )
    with pytest.raises(InputError) as error:
        read_activities(path, UNITS)
    codes = [(p.row, p.code) for p in error.value.problems]
    assert codes == [
        (2, "activity_bad_date"),
        (3, "activity_unknown_kind"),
        (4, "unknown_unit"),
        (5, "empty_cell"),
    ]
    for problem in error.value.problems:
        assert render(f"workbook.{problem.code}", "en", **dict(problem.params))


def test_loading_adds_once_and_a_finding_marks_its_activity_done(
    uow: UOW, people: People, tmp_path: Path
) -> None:
    path = plan_file(
        tmp_path,
        [
            [date(YEAR, 3, 5), "实地检查", "项目建设", "店子镇"],
            [date(YEAR, 8, 20), "全面督导", "半年综合督导", ""],
        ],
    )
    activities = read_activities(path, UNITS)
    first = import_activities(uow(), people.coordinator, YEAR, activities, "plan.xlsx")
    again = import_activities(uow(), people.coordinator, YEAR, activities, "plan.xlsx")
    assert (first.added, first.unchanged, again.added, again.unchanged) == (2, 0, 0, 2)
    inspection, comprehensive = year_activities(uow(), YEAR)
    assert inspection.units == (("dianzi", "店子镇"),) and comprehensive.units == ()
    assert not inspection.done

    finding = record_finding(
        uow(), people.coordinator, people.units["dianzi"], "台账不全", "on_site_inspection",
        date(YEAR, 3, 6), date(YEAR, 3, 30), activity_id=inspection.id,
    )  # fmt: skip
    assert finding.activity_id == inspection.id
    inspection, _ = year_activities(uow(), YEAR)
    assert inspection.done_on == date(YEAR, 3, 6)
    assert [(f.unit_name, f.description) for f in inspection.findings] == [("店子镇", "台账不全")]
    with pytest.raises(ServiceError) as error:
        mark_activity_done(uow(), people.coordinator, inspection.id, date(YEAR, 3, 7))
    assert error.value.code == "activity_already_done"


def test_the_half_year_report_lists_planned_against_done(
    uow: UOW, people: People, tmp_path: Path, clock: FixedClock
) -> None:
    def add(day: date, kind: SupervisionKind, focus: str) -> int:
        activity = ActivityInput(day, kind, focus, ())
        return add_activity(uow(), people.coordinator, YEAR, activity).id

    visited = add(date(YEAR, 2, 10), SupervisionKind.VISIT, "走访企业")
    add(date(YEAR, 3, 1), SupervisionKind.SPECIAL, "专项督导")
    add(date(YEAR, 6, 20), SupervisionKind.DISPATCH_MEETING, "调度会")
    add(date(YEAR, 9, 1), SupervisionKind.COMPREHENSIVE, "下半年")
    record_finding(
        uow(), people.coordinator, people.units["xiji"], "进度滞后", "visit",
        date(YEAR, 2, 10), date(YEAR, 3, 1), activity_id=visited,
    )  # fmt: skip
    report = supervision_report(uow(), people.coordinator, YEAR, 1)
    assert [(a.focus, a.done_on) for a in report.activities] == [
        ("走访企业", date(YEAR, 2, 10)),
        ("专项督导", None),
        ("调度会", None),
    ]
    assert report.activities[0].findings == (("西集镇", "进度滞后", "open"),)
    path = tmp_path / "report.xlsx"
    write_supervision_report(uow(), people.coordinator, YEAR, 1, path, "zh")
    sheet = openpyxl.load_workbook(path)[render("coord.supervision_sheet_activities", "zh")]
    text = "\n".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row if v)
    assert render("coord.supervision_activities_note", "zh", planned=3, done=1) in text
    assert render("coord.supervision_activity_missed", "zh") in text  # 1 March, not done
    assert render("coord.supervision_activity_planned", "zh") in text  # 20 June
    assert "西集镇：进度滞后" in text


def test_coordinators_are_reminded_the_day_before(
    uow: UOW, people: People, clock: FixedClock
) -> None:
    activity = ActivityInput(date(YEAR, 3, 12), SupervisionKind.ON_SITE_INSPECTION, "检查", ())
    view = add_activity(uow(), people.coordinator, YEAR, activity)
    later = ActivityInput(date(YEAR, 3, 20), SupervisionKind.VISIT, "走访", ())
    add_activity(uow(), people.coordinator, YEAR, later)
    assert [a.focus for a in upcoming_activities(uow(), date(YEAR, 3, 10), 14)] == ["检查", "走访"]
    clock.set(datetime(YEAR, 3, 11, 10, tzinfo=SHANGHAI))
    plan_reminders(uow())
    sent = [o for o in due_reminders(uow(), "s") if o.kind == ACTIVITY_UPCOMING]
    assert [(o.telegram_user_id, o.params["focus"]) for o in sent] == [(1001, "检查")]
    assert render(f"remind.{ACTIVITY_UPCOMING}", "zh", **sent[0].params)
    mark_activity_done(uow(), people.coordinator, view.id, date(YEAR, 3, 11))
    assert [a.focus for a in upcoming_activities(uow(), date(YEAR, 3, 11), 14)] == ["走访"]


def test_refusals_change_nothing(uow: UOW, people: People) -> None:
    def refused(code: str, call: Callable[[], object]) -> None:
        before = counts(uow)
        with pytest.raises(ServiceError) as error:
            call()
        assert error.value.code == code
        assert render(f"errors.{code}", "en", **dict(error.value.params))
        assert counts(uow) == before

    kind = SupervisionKind.VISIT
    refused(
        "activity_outside_year",
        lambda: add_activity(
            uow(), people.coordinator, YEAR, ActivityInput(date(2026, 1, 5), kind, "x", ())
        ),
    )
    refused(
        "role_not_allowed",
        lambda: add_activity(
            uow(), people.liaison, YEAR, ActivityInput(date(YEAR, 5, 5), kind, "x", ())
        ),
    )
    refused(
        "activity_not_found",
        lambda: record_finding(
            uow(),
            people.coordinator,
            people.units["xiji"],
            "问题",
            "visit",
            date(YEAR, 3, 1),
            date(YEAR, 3, 31),
            activity_id=999,
        ),
    )
    leader = approver(uow, people)
    freeze_result(uow(), people.coordinator, YEAR)
    decide_result(uow(), leader, YEAR, approve=True)
    publish_result(uow(), people.coordinator, YEAR)
    close_year(uow(), Actor.operator(), YEAR)
    refused(
        "year_closed",
        lambda: import_activities(
            uow(), people.coordinator, YEAR, [ActivityInput(date(YEAR, 5, 5), kind, "x", ())], "f"
        ),
    )
