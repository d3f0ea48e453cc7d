"""A received workbook as services.uploads sees it: what it holds, what importing it would do,
and the import, with plain values in and out (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from scoring import InputProblem
from services.access import Actor, Role
from services.errors import NotFound
from services.files.received import received_workbook
from services.tasks import tasks_of_year
from services.uploads import (
    BonusSummary,
    CheckedUpload,
    GradesSummary,
    ReceivedWorkbook,
    RecordsImported,
    TasksImported,
    TasksSummary,
    UnitsImported,
    UnitsSummary,
    UploadCheck,
    ValuesImported,
    ValuesInForce,
    ValuesSummary,
    check_and_archive,
    check_upload,
    import_upload,
    import_workbook,
    inspect_upload,
    problem_data,
    problem_of,
    summary_data,
    values_in_force,
    years_with_plan,
)
from services.year_data import list_bonus
from storage.archive import EvidenceArchive
from storage.models import EvidenceRow
from tests.bot.workbooks import INDICATORS, workbook
from tests.services.district import OPERATOR, UOW, YEAR, count, plan_and_units

ZONE = "Asia/Shanghai"
COORDINATOR = Actor(person_id=None, role=Role.COORDINATOR, name="发改局王")
UNITS_HEADER = ["代码", "名称", "组别"]
# 店子镇 as stored, 西集镇 renamed, and a new town.
UNITS_ROWS = [
    ["dianzi", "店子镇", "镇街"],
    ["xiji", "西集街道", "镇街"],
    ["newtown", "新城", "镇街"],
]


@pytest.fixture
def district(uow: UOW) -> None:
    """The default plan of YEAR and three units (店子镇, 西集镇, 区财政局)."""
    plan_and_units(uow)


def values_book(dianzi: float | None = 7.5) -> bytes:
    """Values for 店子镇 only: every indicator, gdp_growth `dianzi` (None leaves it empty)."""
    row: list[object] = ["dianzi", dianzi, *[5.0 + j for j in range(len(INDICATORS) - 1)]]
    return workbook("values", ["unit", *INDICATORS], [row])


def import_bytes(uow: UOW, content: bytes, kind: str, name: str) -> object:
    """Import received bytes as `kind` for YEAR, as the dialog does from the archived copy."""
    with received_workbook(content, name) as path:
        year = None if kind == "units" else YEAR
        return import_workbook(uow, uow, OPERATOR, path, kind, year, name, f"{name} #1")


# -- what a workbook holds --------------------------------------------------------------------


def test_a_workbook_states_its_year_in_the_title_of_its_instructions_sheet() -> None:
    content = workbook("values", ["unit"], [["dianzi"]], title="2024 年度考核数据模板")
    info = inspect_upload(content, "指标值.xlsx")
    assert (info.kinds, info.stated_year, info.year_from, info.problems) == (
        ("values",),
        2024,
        "title",
        (),
    )


def test_a_workbook_without_a_title_states_the_year_of_its_file_name() -> None:
    info = inspect_upload(workbook("units", UNITS_HEADER, []), "2023年单位.xlsx")
    assert (info.kinds, info.stated_year, info.year_from) == (("units",), 2023, "file_name")


def test_bytes_that_are_no_workbook_are_one_problem_naming_the_file() -> None:
    info = inspect_upload(b"not a workbook at all", "notes.xlsx")
    assert info.kinds == ()
    assert [p.params.get("file") for p in info.problems] == ["notes.xlsx"]


def test_a_received_workbook_is_on_disk_only_for_the_read() -> None:
    with received_workbook(b"PK", "数据.XLSM") as path:
        assert (path.read_bytes(), path.suffix) == (b"PK", ".xlsm")
    assert not path.exists() and not path.parent.exists()
    with received_workbook(b"PK", "数据.csv") as other:
        assert other.suffix == ".xlsx"


# -- what importing it would do ----------------------------------------------------------------


def test_a_units_workbook_is_summarised_as_new_changed_and_unchanged(
    uow: UOW, district: None
) -> None:
    result = check_upload(
        uow, workbook("单位", UNITS_HEADER, UNITS_ROWS), "units", None, "u.xlsx", ZONE
    )
    assert result == UploadCheck(
        summary=UnitsSummary(units=3, towns=3, new=("新城",), changed=("西集街道",), unchanged=1)
    )


def test_a_values_workbook_says_what_it_covers_and_that_it_is_the_first_version(
    uow: UOW, district: None
) -> None:
    result = check_upload(uow, values_book(None), "values", YEAR, "v.xlsx", ZONE)
    assert result.problems == ()
    assert result.summary == ValuesSummary(
        year=YEAR,
        towns=1,
        all_towns=2,
        towns_without_row=("西集镇",),
        indicators=len(INDICATORS),
        plan_indicators=len(INDICATORS),
        values=len(INDICATORS),
        missing=1,
        replaces=None,
        warnings=(),
    )


def test_a_values_workbook_names_the_version_it_replaces(uow: UOW, district: None) -> None:
    first = import_bytes(uow, values_book(), "values", "first.xlsx")
    assert first == ValuesImported(YEAR, 1, None, len(INDICATORS), 0, changed=len(INDICATORS))
    in_force = ValuesInForce(1, date(2025, 3, 1), "first.xlsx #1")
    assert values_in_force(uow(), YEAR, ZONE) == in_force
    result = check_upload(uow, values_book(8.0), "values", YEAR, "second.xlsx", ZONE)
    assert isinstance(result.summary, ValuesSummary)
    assert result.summary.replaces == in_force
    second = import_bytes(uow, values_book(8.0), "values", "second.xlsx")
    assert second == ValuesImported(YEAR, 2, 1, len(INDICATORS), 0, 1)


def test_bad_rows_are_every_problem_and_no_summary(uow: UOW, district: None) -> None:
    rows = [["nowhere", 1.0], ["dianzi", "many"]]
    content = workbook("values", ["unit", "gdp_growth"], rows)
    result = check_upload(uow, content, "values", YEAR, "bad.xlsx", ZONE)
    assert result.summary is None
    assert len(result.problems) >= 2
    assert {p.source for p in result.problems} == {"bad.xlsx"}


def test_a_year_without_a_plan_is_refused(uow: UOW, district: None) -> None:
    with pytest.raises(NotFound):
        check_upload(uow, values_book(), "values", YEAR - 1, "v.xlsx", ZONE)
    assert years_with_plan(uow, (YEAR - 1, YEAR)) == [YEAR]
    assert years_with_plan(uow, (YEAR + 1,)) == []


def test_grades_bonus_and_tasks_are_summarised_then_imported(uow: UOW, district: None) -> None:
    grades = workbook(
        "等次",
        ["unit", "item", "period", "rater", "grade"],
        [
            ["dianzi", "重点工作", "Q1", "区统计局", "好"],
            ["xiji", "基础工作", "年度", "区统计局", "较好"],
        ],
    )
    checked = check_upload(uow, grades, "grades", YEAR, "g.xlsx", ZONE)
    assert checked.summary == GradesSummary(YEAR, 2, 2, ("区统计局",), ("Q1", "year"), 0)
    assert import_bytes(uow, grades, "grades", "g.xlsx") == RecordsImported(YEAR, 2, 0, 0, 0)

    bonus = workbook(
        "加分项",
        ["unit", "title", "evidence", "approved"],
        [["dianzi", "省级试点", "文件", "是"], ["xiji", "市级表彰", "", "否"]],
    )
    checked = check_upload(uow, bonus, "bonus", YEAR, "b.xlsx", ZONE)
    assert checked.summary == BonusSummary(YEAR, items=2, approved=1, units=2)
    assert import_bytes(uow, bonus, "bonus", "b.xlsx") == RecordsImported(YEAR, 2, 0, 0, 0)
    assert sorted(b.status for b in list_bonus(uow(), YEAR)) == ["approved", "pending"]

    tasks = workbook(
        "tasks",
        ["unit", "code", "title", "source_document", "target", "due_date", "work_item"],
        [["dianzi", "T1", "新建标准厂房", "", "5万平方米", "2025-06-30", "重点工作"]],
    )
    checked = check_upload(uow, tasks, "tasks", YEAR, "t.xlsx", ZONE)
    assert checked.summary == TasksSummary(YEAR, tasks=1, units=1, dated=1)
    assert import_bytes(uow, tasks, "tasks", "t.xlsx") == TasksImported(YEAR, 1, 0, 0)
    assert [t.title for t in tasks_of_year(uow(), OPERATOR, YEAR)] == ["新建标准厂房"]


def test_a_units_import_says_what_it_added_updated_and_left(uow: UOW, district: None) -> None:
    done = import_bytes(uow, workbook("单位", UNITS_HEADER, UNITS_ROWS), "units", "u.xlsx")
    assert done == UnitsImported(added=1, updated=1, unchanged=1)


# -- the import of a checked, archived workbook --------------------------------------------------


def archived(uow: UOW, archive: EvidenceArchive, content: bytes, name: str) -> CheckedUpload:
    """A values workbook for YEAR checked and archived, as the dialog's check leaves it."""
    received = ReceivedWorkbook(name, content, "file-1", "unique-1", None)
    result = check_and_archive(uow, uow, archive, COORDINATOR, received, "values", YEAR, ZONE)
    assert result.upload is not None, result.problems
    return result.upload


def test_a_workbook_is_archived_once_it_is_checked_without_problems(
    uow: UOW, district: None, tmp_path: Path
) -> None:
    archive = EvidenceArchive(tmp_path / "archive")
    upload = archived(uow, archive, values_book(), "指标值.xlsx")
    assert (upload.file_name, upload.kind, upload.year) == ("指标值.xlsx", "values", YEAR)
    copy = archive.check(upload.sha256)
    assert copy is not None and copy.path.read_bytes() == values_book()
    bad = ReceivedWorkbook("bad.xlsx", workbook("values", ["unit"], [["nowhere"]]))
    result = check_and_archive(uow, uow, archive, COORDINATOR, bad, "values", YEAR, ZONE)
    assert (result.summary, result.upload) == (None, None) and result.problems
    assert count(uow, EvidenceRow) == 1


def kept(uow: UOW, evidence_id: int) -> bool:
    """Whether the evidence file is kept for good (pruning never removes it)."""
    with uow() as u:
        row = u.session.get(EvidenceRow, evidence_id)
        assert row is not None
        return row.kept_at is not None


def test_a_checked_upload_is_imported_from_its_archived_copy_which_is_kept(
    uow: UOW, district: None, tmp_path: Path
) -> None:
    archive = EvidenceArchive(tmp_path / "archive")
    upload = archived(uow, archive, values_book(), "指标值.xlsx")
    done = import_upload(uow, uow, archive, COORDINATOR, upload)
    assert isinstance(done, ValuesImported) and done.version == 1
    in_force = values_in_force(uow(), YEAR, ZONE)
    assert in_force is not None and in_force.source == f"指标值.xlsx #{upload.evidence_id}"
    assert kept(uow, upload.evidence_id)


def test_an_upload_whose_archived_copy_is_gone_imports_nothing(
    uow: UOW, district: None, tmp_path: Path
) -> None:
    archive = EvidenceArchive(tmp_path / "archive")
    upload = archived(uow, archive, values_book(), "指标值.xlsx")
    archive.remove(upload.sha256)
    assert import_upload(uow, uow, archive, COORDINATOR, upload) is None
    assert values_in_force(uow(), YEAR, ZONE) is None
    assert not kept(uow, upload.evidence_id)


# -- a summary kept as plain data ---------------------------------------------------------------


def test_a_summary_is_kept_as_json_and_its_warnings_come_back_as_problems() -> None:
    warning = InputProblem("mixed_percent", {"column": "gdp_growth"}, "v.xlsx", "values", 3, "B")
    summary = ValuesSummary(
        year=YEAR,
        towns=1,
        all_towns=2,
        towns_without_row=("西集镇",),
        indicators=12,
        plan_indicators=12,
        values=12,
        missing=0,
        replaces=ValuesInForce(1, date(2025, 3, 1), "first.xlsx #1"),
        warnings=(warning,),
    )
    data = json.loads(json.dumps(summary_data(summary)))
    assert data["replaces"] == {"version": 1, "date": "2025-03-01", "source": "first.xlsx #1"}
    assert data["towns_without_row"] == ["西集镇"]
    assert [problem_of(w) for w in data["warnings"]] == [warning]
    assert problem_of(problem_data(warning)) == warning
