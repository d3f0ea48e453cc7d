"""`kaohe supervision-plan template|import|list|done` end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl

from services.sample_district import SampleFiles
from storage.database import Database
from templates import render
from tests.e2e.cli import kaohe_cli
from tests.e2e.test_cli_year import year_of


def test_template_import_list_and_done(
    sample: SampleFiles, kaohe: Database, tmp_path: Path
) -> None:
    year = int(year_of(sample))
    path = tmp_path / "plan.xlsx"
    written = kaohe_cli("supervision-plan", "template", "-o", str(path))
    assert written.exit_code == 0, written.output
    book = openpyxl.load_workbook(path)
    book["activities"].append([date(year, 4, 8), "实地检查", "项目建设进度", "店子镇"])
    book["activities"].append([date(year, 9, 1), "全面督导", "下半年综合督导", ""])
    book.save(path)
    loaded = kaohe_cli("supervision-plan", "import", str(path))
    assert loaded.exit_code == 0, loaded.output
    assert render(
        "supervision.cli_imported", file=str(path), year=year, added=2, unchanged=0
    ) in " ".join(loaded.output.split())
    listed = kaohe_cli("supervision-plan", "list")
    assert render("supervision.cli_header", year=year, planned=2, done=0) in listed.output
    assert "#1" in listed.output and "店子镇" in listed.output
    done = kaohe_cli("supervision-plan", "done", "1", "--on", f"{year}-04-08")
    assert done.exit_code == 0, done.output
    assert (
        render("supervision.cli_header", year=year, planned=2, done=1)
        in kaohe_cli("supervision-plan", "list").output
    )
    again = kaohe_cli("supervision-plan", "done", "1")
    assert again.exit_code == 2


def test_a_bad_plan_file_stores_nothing(sample: SampleFiles, tmp_path: Path) -> None:
    path = tmp_path / "bad.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "activities"
    sheet.append(["date", "kind", "focus", "units"])
    sheet.append(["someday", "实地检查", "x", ""])
    book.save(path)
    refused = kaohe_cli("supervision-plan", "import", str(path))
    assert refused.exit_code == 2
    assert "someday" in refused.output
    assert (
        render("supervision.cli_none", year=int(year_of(sample)))
        in kaohe_cli("supervision-plan", "list").output
    )
