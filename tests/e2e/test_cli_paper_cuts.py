"""The command line's paper cuts (issue 10): output paths that cannot be written, usage errors
in the configured language, help at 80 columns, what a backup's count counts, progress."""

from __future__ import annotations

import json
import os
import pty
import re
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer
from openpyxl import load_workbook
from rich.cells import cell_len
from typer.core import TyperGroup

from bot.dialogs.standings_view import group_words_offered, parse_standings_args
from cli.app import app
from scoring import Group
from scoring.groups import SHORT_NAMES, group_words, parse_group
from scoring.plan import GROUP_LABELS
from services.files.plan_file import load_plan_file
from services.files.reader import read_units
from services.sample_district import SampleFiles, write_sample
from storage.database import Database
from templates import LANGUAGES, render
from tests.e2e.cli import kaohe_cli, runner
from tests.fixtures_workbooks import write_sheet
from tests.texts import text_of


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


# --- usage errors and help ----------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("args", "key", "params"),
    [
        (
            ["standings", "--year", "abc"],
            "cli.usage_bad_option",
            {"name": "--year", "value": "abc", "expected": "应为 2000 到 2100 之间的整数"},
        ),
        (
            ["standings", "--year", "1999"],
            "cli.usage_bad_option",
            {"name": "--year", "value": "1999", "expected": "应为 2000 到 2100 之间的整数"},
        ),
        (
            ["standings", "--bogus"],
            "cli.usage_no_such_option",
            {"name": "--bogus", "possibilities": []},
        ),
        (
            ["standings", "--yeer", "2025"],
            "cli.usage_no_such_option",
            {"name": "--yeer", "possibilities": ["--year"]},
        ),
        (
            ["report"],
            "cli.usage_missing",
            {"name": "--output", "expected": "应为路径"},
        ),
        (["standings", "--year"], "cli.usage_needs_value", {"name": "--year"}),
        (
            ["standings", "--year", "2025", "--json=yes"],
            "cli.usage_takes_no_value",
            {"name": "--json"},
        ),
        (["standings", "--year", "2025", "extra"], "cli.usage_extra_arguments", {"args": "extra"}),
        (["people", "deactivate", "x"], "cli.usage_bad_argument", {"name": "PERSON_ID"}),
    ],
)
def test_usage_errors_are_chinese_messages_with_status_2(
    args: list[str], key: str, params: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    if key == "cli.usage_bad_argument":
        params["expected"] = render("cli.usage_expected", "zh", kind="整数")
    result = runner.invoke(app, args, prog_name="kaohe")
    assert result.exit_code == 2, result.output
    expected = render("cli.usage_error", "zh", message=render(key, "zh", **params))
    assert flat(expected) in flat(result.output)
    assert (
        flat(render("cli.usage_see_help", "zh", command="kaohe " + args[0])) in flat(result.output)
        or args[0] == "people"
    )
    for english in ("Usage:", "Error", "Try ", "Invalid value", "No such option", "╭"):
        assert english not in result.output, english


def test_an_unknown_command_lists_the_commands() -> None:
    result = runner.invoke(app, ["bogus"], prog_name="kaohe")
    assert result.exit_code == 2
    assert flat(render("cli.usage_no_such_command", "zh", name="bogus", commands=[])) in flat(
        result.output
    )
    assert "standings" in result.output and "No such command" not in result.output


def _commands(
    command: Any, ctx: typer._click.Context, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], Any, typer._click.Context]]:
    """Every command of the tree (lazy groups load theirs) with its path and context."""
    found = [(path, command, ctx)]
    if isinstance(command, TyperGroup):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            sub_ctx = typer._click.Context(sub, parent=ctx, info_name=name)
            found += _commands(sub, sub_ctx, (*path, name))
    return found


def test_every_help_reads_fully_at_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    root = typer.main.get_command(app)
    commands = _commands(root, typer._click.Context(root, info_name="kaohe"))
    assert len(commands) > 30
    for path, command, ctx in commands:
        result = runner.invoke(app, [*path, "--help"], prog_name="kaohe")
        assert result.exit_code == 0, (path, result.output)
        text = result.output
        assert "…" not in text and "<bool>" not in text and "╭" not in text, path
        assert all(cell_len(line) <= 80 for line in text.splitlines()), path
        assert render("cli.usage_help_option", "zh") in text
        described = flat(text)
        if command.help:
            assert flat(command.help) in described, path
        for param in command.params:
            if getattr(param, "help", None):
                assert flat(param.help) in described, (path, param.name)
            elif param.name != "help":
                pytest.fail(f"{' '.join(path)} {param.name} has no description")
        for name in command.list_commands(ctx) if isinstance(command, TyperGroup) else []:
            assert flat(command.get_command(ctx, name).help or "") in described, (path, name)


def _kaohe_process(*args: str, language: str = "zh") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KAOHE_LANGUAGE": language, "COLUMNS": "80"}
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "kaohe"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_usage_errors_and_help_follow_kaohe_language() -> None:
    english = _kaohe_process("standings", "--year", "abc", language="en")
    assert english.returncode == 2
    message = render(
        "cli.usage_bad_option",
        "en",
        name="--year",
        value="abc",
        expected=render("cli.usage_expected_range", "en", kind="INTEGER", low=2000, high=2100),
    )
    assert message in english.stderr
    helped = _kaohe_process("--help", language="en")
    assert helped.returncode == 0
    assert render("cli.usage_help_option", "en") in helped.stdout
    chinese = _kaohe_process("standings", "--year", "abc")
    assert chinese.returncode == 2
    assert "Usage" not in chinese.stderr and render("cli.usage_line", "zh") + "kaohe" in (
        chinese.stderr
    )


def test_run_sh_with_an_unknown_option_says_so_in_chinese() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAOHE_")}
    done = subprocess.run(
        [str(ROOT / "run.sh"), "--bogus"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 2, done.stderr
    assert render("cli.usage_no_such_option", "zh", name="--bogus", possibilities=[]) in (
        done.stderr
    )
    assert "No such option" not in done.stderr


def test_kaohe_publish_before_the_period_ends_says_so(sample: SampleFiles) -> None:
    early = kaohe_cli("publish", "--year", "2025", "--period", "Q1", "--as-of", "2025-03-10")
    assert early.exit_code == 0, early.output
    note = render(
        "cli.publish_early", "zh", year=2025, period="一季度", last="2025-03-31", days=21
    )
    assert flat(note) in flat(early.output)
    ended = kaohe_cli("publish", "--year", "2025", "--period", "Q1", "--as-of", "2025-03-31")
    assert ended.exit_code == 0, ended.output
    assert "还没有结束" not in ended.output


# --- a year with missing data -------------------------------------------------------------------


def test_standings_and_report_of_a_year_with_nothing_imported_say_what_is_missing(
    sample: SampleFiles, tmp_path: Path
) -> None:
    plan = load_plan_file(sample.plan)
    towns = sum(1 for u in read_units(sample.units) if u.group is Group.TOWN)
    title = render("year.gaps_title", "zh")
    no_values = render("year.gaps_no_values", "zh", count=towns)
    mark = render("year.gaps_no_data_mark", "zh")
    table = kaohe_cli("standings", "--year", "2025")
    assert table.exit_code == 0, table.output
    assert table.output.startswith(title)
    assert no_values in table.output
    assert table.output.index(no_values) < table.output.index("镇街排名")
    for item in plan.work.items:
        assert render("year.gaps_item_without_grades", "zh", item=item.name) in table.output
        assert flat(item.name + mark) in flat(table.output)  # the column says it has no data
    as_json = kaohe_cli("standings", "--year", "2025", "--json")
    gaps = json.loads(as_json.stdout)["gaps"]
    assert gaps["complete"] is False
    assert gaps["blocks_without_data"] == ["development", *(i.code for i in plan.work.items)]
    report = tmp_path / "r.xlsx"
    assert kaohe_cli("report", "--year", "2025", "-o", str(report)).exit_code == 0
    book = load_workbook(report)
    first = book.worksheets[0]
    assert first.title == render("year.gaps_sheet", "zh")
    assert first["A1"].value == title and first["A2"].value == no_values
    ranking = book[render("report.sheet_ranking_town", "zh")]
    headers = [c.value for c in ranking[2]]
    assert render("report.col_development", "zh") + mark in headers
    assert plan.work.items[0].name + mark in headers
    assert text_of("year.gaps_see_sheet", sheet=text_of("year.gaps_sheet")) in str(
        ranking["A1"].value
    )


def test_a_fully_imported_year_names_its_one_missing_value_without_marks(
    sample: SampleFiles, tmp_path: Path
) -> None:
    for kind, path in (("values", sample.values), ("grades", sample.grades)):
        assert kaohe_cli(kind, "import", str(path), "--year", "2025").exit_code == 0
    gaps = json.loads(kaohe_cli("standings", "--year", "2025", "--json").stdout)["gaps"]
    assert gaps["blocks_without_data"] == [] and gaps["towns_missing_some_values"] == ["shuiquan"]
    table = kaohe_cli("standings", "--year", "2025")
    assert render("year.gaps_title", "zh") not in table.output
    assert render("year.gaps_no_data_mark", "zh") not in table.output
    report = tmp_path / "r.xlsx"
    assert kaohe_cli("report", "--year", "2025", "-o", str(report)).exit_code == 0
    # One missing figure is marked on the indicators sheet: no gaps sheet, no note.
    first = load_workbook(report).worksheets[0]
    assert first.title == render("report.sheet_ranking_town", "zh")
    assert "数据不完整" not in str(first["A1"].value)


# --- progress of long imports -------------------------------------------------------------------


def _in_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run `kaohe` with a pseudo-terminal as its stdout and stderr; its status and output."""
    command = str(ROOT / ".venv" / "bin" / "kaohe")
    pid, fd = pty.fork()
    if pid == 0:  # the child: nothing may run here but the command
        os.execve(command, [command, *args], env)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # the terminal closed with the child
            break
        if not data:
            break
        chunks.append(data)
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode("utf-8", "replace")


def test_an_import_shows_a_progress_bar_on_a_terminal_and_nothing_extra_otherwise(
    sample: SampleFiles, kaohe: Database
) -> None:
    env = {
        **os.environ,
        "KAOHE_DATABASE_URL": kaohe.url,
        "KAOHE_LANGUAGE": "zh",
        "COLUMNS": "100",
        "TERM": "xterm-256color",
    }
    env.pop("NO_COLOR", None)
    status, shown = _in_terminal(["values", "import", str(sample.values), "--year", "2025"], env)
    assert status == 0, shown
    assert render("year.storing", "zh") in shown
    assert "━" in shown  # Rich's bar
    assert "\x1b[" in shown  # drawn, then taken away (transient)
    command = [str(ROOT / ".venv" / "bin" / "kaohe"), "values", "import", str(sample.values)]
    piped = subprocess.run(
        [*command, "--year", "2025"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == ""  # no progress, no escape codes in a log
    assert "\x1b" not in piped.stdout and "━" not in piped.stdout
    assert render("year.storing", "zh") not in piped.stdout
