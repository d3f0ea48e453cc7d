"""The command line's paper cuts (issue 10): output paths that cannot be written, usage errors
in the configured language, help at 80 columns, what a backup's count counts, progress."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner, Result

from bot.dialogs.standings_view import group_words_offered, parse_standings_args
from cli.app import app
from scoring import Group
from scoring.groups import SHORT_NAMES, group_words, parse_group
from scoring.plan import GROUP_LABELS
from services import wiring
from services.access import Actor
from services.files.reader import read_units
from services.people import register_units
from services.plans import load_plan
from services.sample_district import SampleFiles, write_sample
from services.settings import get_settings
from storage.database import Database
from storage.unit_of_work import UnitOfWork
from templates import LANGUAGES, render
from tests.fixtures_workbooks import write_sheet

runner = CliRunner()


def _clear_caches() -> None:
    get_settings.cache_clear()
    wiring.database.cache_clear()


@pytest.fixture
def kaohe(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Database]:
    """The `kaohe` command pointed at the test database (of each kind), in Chinese."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KAOHE_DATABASE_URL", database.url)
    monkeypatch.setenv("KAOHE_LANGUAGE", "zh")
    _clear_caches()
    yield database
    wiring.database().dispose()
    _clear_caches()


@pytest.fixture
def sample(kaohe: Database, tmp_path: Path) -> SampleFiles:
    """The sample district's files; its plan and units stored in the database."""
    files = write_sample(tmp_path / "sample")
    load_plan(UnitOfWork(kaohe), Actor.operator(), files.plan.read_text(encoding="utf-8"), "plan")
    register_units(UnitOfWork(kaohe), Actor.operator(), read_units(files.units))
    return files


def kaohe_cli(*args: str) -> Result:
    """Run `kaohe` with these arguments."""
    return runner.invoke(app, list(args))


def flat(text: str) -> str:
    """Output without line breaks and repeated spaces (the terminal may wrap long lines)."""
    return "".join(text.split())


def _output_commands(files: SampleFiles, target: Path) -> list[list[str]]:
    return [
        ["report", "--year", "2025", "-o", str(target)],
        ["report", "--year", "2025", "--unit", "dianzi", "-o", str(target)],
        ["backup", "-o", str(target)],
        ["plan", "init", "--year", "2026", "-o", str(target)],
        ["template", "values", "--plan", str(files.plan), "-o", str(target)],
        [
            "score",
            *("--plan", str(files.plan), "--units", str(files.units)),
            *("--values", str(files.values), "--xlsx", str(target)),
        ],
    ]


def test_every_output_in_a_missing_folder_is_bad_input_with_a_message(
    sample: SampleFiles, tmp_path: Path
) -> None:
    target = tmp_path / "nonexistent" / "dir" / "x.xlsx"
    expected = render("cli.output_no_folder", "zh", file=str(target), folder=str(target.parent))
    for args in _output_commands(sample, target):
        result = kaohe_cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), args
        assert flat(expected) in flat(result.output), args
        assert "Traceback" not in result.output
    assert not (tmp_path / "nonexistent").exists()


def test_an_output_that_is_a_folder_or_in_a_read_only_folder_is_bad_input(
    sample: SampleFiles, tmp_path: Path
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    for args in _output_commands(sample, folder):
        result = kaohe_cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert flat(render("cli.output_is_folder", "zh", file=str(folder))) in flat(result.output)
    if os.geteuid() == 0:  # root writes in any folder: nothing to refuse
        return
    folder.chmod(0o500)
    try:
        target = folder / "x.xlsx"
        for args in _output_commands(sample, target):
            result = kaohe_cli(*args)
            assert result.exit_code == 2, (args, result.output)
            text = render("cli.output_not_writable", "zh", file=str(target), folder=str(folder))
            assert flat(text) in flat(result.output), args
    finally:
        folder.chmod(0o700)


def test_sample_into_a_folder_that_cannot_be_created_is_bad_input(
    kaohe: Database, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    result = kaohe_cli("sample", "-o", str(blocker / "sub"))
    assert result.exit_code == 2, result.output
    assert str(blocker / "sub") in flat(result.output)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a full disk)")
def test_a_write_that_fails_midway_is_a_message_and_bad_input(tmp_path: Path) -> None:
    result = kaohe_cli("plan", "init", "--year", "2026", "-o", "/dev/full", "--force")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    assert flat(render("cli.output_failed", "zh", file="/dev/full", reason="X")).split("X")[
        0
    ] in flat(result.output)


def test_backup_says_how_many_tables_and_rows_it_copied(
    sample: SampleFiles, tmp_path: Path
) -> None:
    target = tmp_path / "backup.db"
    result = kaohe_cli("backup", "-o", str(target))
    assert result.exit_code == 0, result.output
    with sqlite3.connect(target) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'"
            )
        ]
        rows = sum(conn.execute(f'select count(*) from "{n}"').fetchone()[0] for n in names)
    assert rows > 20  # the sample's units, the plan, the audit log
    size = target.stat().st_size / 1048576
    expected = render(
        "db.backup_written",
        "zh",
        file=str(target),
        tables=len(names),
        rows=rows,
        size=size * 1048576,
    )
    assert flat(expected) in flat(result.output)
    assert f"{len(names)}张表" in flat(result.output)


def test_every_group_word_works_in_the_units_import_the_bot_and_the_command_line(
    sample: SampleFiles, tmp_path: Path
) -> None:
    year = "2025"
    for group in Group:
        for n, word in enumerate(group_words(group)):
            rows = [["code", "name", "group"], [f"u{n}", f"单位{n}", word]]
            (unit,) = read_units(write_sheet(tmp_path / f"{group.value}{n}.xlsx", "units", rows))
            assert unit.group is group, word
            assert parse_standings_args([word]).group is group, word
        # The command line parses with the same function: its label, short name and value.
        for word in group_words(group)[:3]:
            result = kaohe_cli("standings", "--year", year, "--group", word.upper(), "--json")
            assert result.exit_code == 0, (word, result.output)
            assert list(json.loads(result.output)["groups"]) == [group.value], word
    bad = kaohe_cli("standings", "--year", year, "--group", "乡")
    assert bad.exit_code == 2
    choices = [f"{GROUP_LABELS[g]}/{SHORT_NAMES[g]}" for g in Group]
    assert flat(render("year.bad_group", "zh", got="乡", choices=choices)) in flat(bad.output)


def test_the_help_texts_offer_the_words_every_reader_accepts() -> None:
    offered = group_words_offered()
    usage = render("coord.standings_usage", "zh", **offered)
    for word in offered.values():
        assert word in usage
        assert parse_group(word) is not None
    for choice in [f"{GROUP_LABELS[g]}/{SHORT_NAMES[g]}" for g in Group]:
        for word in choice.split("/"):
            assert parse_group(word) is not None


def test_every_catalog_names_the_groups_alike() -> None:
    for language in LANGUAGES:
        for group in Group:
            names = {
                render(f"{namespace}.group_{group.value}", language)
                for namespace in ("cli", "year", "report", "people", "broadcast")
            }
            assert len(names) == 1, (language, group, names)


def test_a_plan_without_measurement_units_is_checked_templated_and_scored(tmp_path: Path) -> None:
    files = write_sample(tmp_path / "sample")
    text = files.plan.read_text(encoding="utf-8")
    unitless = re.sub(r'unit: "[^"]*", ', 'unit: "", ', text)
    assert unitless != text and 'unit: "%"' not in unitless
    files.plan.write_text(unitless, encoding="utf-8")
    checked = kaohe_cli("plan", "check", str(files.plan))
    assert checked.exit_code == 0, checked.output
    template = kaohe_cli(
        "template", "values", "--plan", str(files.plan), "-o", str(tmp_path / "v.xlsx")
    )
    assert template.exit_code == 0, template.output
    report = tmp_path / "r.xlsx"
    scored = kaohe_cli(
        "score",
        *("--plan", str(files.plan), "--units", str(files.units)),
        *("--values", str(files.values), "--xlsx", str(report)),
    )
    assert scored.exit_code == 0, scored.output
    cells = {str(c.value) for row in load_workbook(report)["指标得分"].iter_rows() for c in row}
    assert "地区生产总值增速" in cells and "地区生产总值增速（）" not in cells
