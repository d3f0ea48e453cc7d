"""The `kaohe` command end to end: score files, plans, templates, the demo; bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from cli.app import app
from services.file_scoring import ScoringFiles, score_files
from services.files.plan_file import default_plan_text
from services.sample_district import SampleFiles, write_sample
from templates import render
from tests.e2e.cli import runner
from tests.texts import text_of


@pytest.fixture
def sample(tmp_path: Path) -> SampleFiles:
    return write_sample(tmp_path / "sample")


def _score_args(files: SampleFiles) -> list[str]:
    return [
        "score",
        "--plan", str(files.plan),
        "--units", str(files.units),
        "--values", str(files.values),
        "--grades", str(files.grades),
        "--bonus", str(files.bonus),
        "--events", str(files.events),
    ]  # fmt: skip


def test_score_prints_a_ranked_table_per_group(sample: SampleFiles) -> None:
    result = runner.invoke(app, _score_args(sample))
    assert result.exit_code == 0, result.output
    assert (
        text_of("cli.ranking_title", group=text_of("cli.group_town"), year=2025) in result.output
    )
    assert (
        text_of("cli.ranking_title", group=text_of("cli.group_zone_or_department"), year=2025)
        in result.output
    )
    assert "店子镇" in result.output
    assert "区财政局" in result.output


def test_score_json_is_the_engine_result_of_the_same_files(sample: SampleFiles) -> None:
    result = runner.invoke(app, [*_score_args(sample), "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    # Beside the groups, what the data lacks (scoring.completeness): one value, in the sample.
    assert printed.pop("gaps")["towns_missing_some_values"] == ["shuiquan"]
    expected = score_files(
        ScoringFiles(
            sample.plan, sample.units, sample.values, sample.grades, sample.bonus, sample.events
        )
    ).to_json()
    assert printed == expected
    towns = printed["groups"]["town"]
    assert [u["rank"] for u in towns] == sorted(u["rank"] for u in towns)
    assert set(towns[0]) >= {
        "unit",
        "name",
        "rank",
        "tier",
        "total",
        "development",
        "key_work",
        "basic_work",
        "bonus",
        "deductions",
        "indicators",
        "items",
        "flags",
    }


def test_the_sample_shows_the_bonus_cap_and_a_missing_value(sample: SampleFiles) -> None:
    result = runner.invoke(app, [*_score_args(sample), "--json"])
    towns = {u["unit"]: u for u in json.loads(result.stdout)["groups"]["town"]}
    assert towns["dianzi"]["bonus"] == 60.0
    assert "bonus_capped" in towns["dianzi"]["flags"]
    assert towns["shuiquan"]["indicators"]["foreign_capital"]["value"] is None
    assert towns["shuiquan"]["indicators"]["foreign_capital"]["flags"] == ["missing"]


def test_score_xlsx_writes_the_report_workbook(sample: SampleFiles, tmp_path: Path) -> None:
    out = tmp_path / "report.xlsx"
    result = runner.invoke(app, [*_score_args(sample), "--xlsx", str(out)])
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    assert len(book.sheetnames) >= 4


def test_json_and_xlsx_together_are_refused(sample: SampleFiles, tmp_path: Path) -> None:
    result = runner.invoke(app, [*_score_args(sample), "--json", "--xlsx", str(tmp_path / "r")])
    assert result.exit_code == 2


def test_a_plan_with_a_yaml_syntax_error_exits_2_naming_the_line(
    sample: SampleFiles, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("year: 2025\ndevelopment: [\n  points: 600\n", encoding="utf-8")
    out = tmp_path / "report.xlsx"
    args = _score_args(sample)
    args[args.index("--plan") + 1] = str(broken)
    result = runner.invoke(app, [*args, "--xlsx", str(out)])
    assert result.exit_code == 2
    assert "YAML" in result.output
    assert "行" in result.output
    assert not out.exists()


def test_a_plan_breaking_rules_lists_every_rule_and_writes_nothing(
    sample: SampleFiles, tmp_path: Path
) -> None:
    text = sample.plan.read_text(encoding="utf-8")
    text = text.replace("points: 50, direction: higher}", "points: 45, direction: higher}", 1)
    text = text.replace("fair: 0.6,", "fair: 0.6, great: 1.2,")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    out = tmp_path / "report.xlsx"
    args = _score_args(sample)
    args[args.index("--plan") + 1] = str(bad)
    result = runner.invoke(app, [*args, "--xlsx", str(out)])
    assert result.exit_code == 2
    assert "development.points" in result.output
    assert "work.grades.great" in result.output
    assert "595.00" in result.output
    assert not out.exists()


def test_a_renamed_pdf_as_values_exits_2_and_writes_nothing(
    sample: SampleFiles, tmp_path: Path
) -> None:
    sample.values.write_bytes(b"%PDF-1.4\n1 0 obj << >> endobj\n")
    out = tmp_path / "report.xlsx"
    result = runner.invoke(app, [*_score_args(sample), "--xlsx", str(out)])
    assert result.exit_code == 2
    assert "values.xlsx" in result.output
    assert not out.exists()


def test_bad_rows_in_two_workbooks_are_all_reported_at_once(
    sample: SampleFiles, tmp_path: Path
) -> None:
    from openpyxl import load_workbook as load

    book = load(sample.grades)
    book["grades"]["E2"] = "很好"
    book.save(sample.grades)
    book = load(sample.values)
    book["values"]["B3"] = "N/A"
    book.save(sample.values)
    result = runner.invoke(app, _score_args(sample))
    assert result.exit_code == 2
    assert "grades.xlsx" in result.output
    assert "values.xlsx" in result.output


def test_plan_init_writes_a_plan_that_plan_check_accepts(tmp_path: Path) -> None:
    path = tmp_path / "plan-2026.yaml"
    result = runner.invoke(app, ["plan", "init", "--year", "2026", "-o", str(path)])
    assert result.exit_code == 0, result.output
    text = path.read_text(encoding="utf-8")
    assert "year: 2026" in text
    assert "direction: lower" in text
    checked = runner.invoke(app, ["plan", "check", str(path)])
    assert checked.exit_code == 0, checked.output
    assert "600.00" in checked.output


def test_plan_check_shows_the_deductions_in_force(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    text = default_plan_text(2026)
    start = text.index("  deductions:")
    end = text.index("\n", text.index("false_report", start))
    partial = (
        "  deductions:\n"
        "    report_late: {item: basic_work, points: 3}\n"
        "    false_report: {points: 0}"
    )
    path.write_text(text[:start] + partial + text[end:], encoding="utf-8")
    result = runner.invoke(app, ["plan", "check", str(path)])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "扣分" in line]
    assert len(lines) == 1, result.output
    line = lines[0]
    # report_late as written, the two left out at their defaults, false_report switched off.
    assert render("year.event_report_late", "zh") + " 3.00 分（基础工作）" in line
    assert render("year.event_report_missing", "zh") + " 2.00 分（基础工作）" in line
    assert render("year.event_rectification_overdue", "zh") + " 2.00 分（重点工作）" in line
    assert render("year.event_false_report", "zh") + " 不扣分" in line


def test_plan_init_does_not_overwrite_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text("mine", encoding="utf-8")
    result = runner.invoke(app, ["plan", "init", "--year", "2026", "-o", str(path)])
    assert result.exit_code == 2
    assert path.read_text(encoding="utf-8") == "mine"


def test_plan_check_of_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["plan", "check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "nope.yaml" in result.output


@pytest.mark.parametrize("kind", ["units", "values", "grades", "bonus", "events"])
def test_template_writes_a_workbook_of_each_kind(
    kind: str, sample: SampleFiles, tmp_path: Path
) -> None:
    out = tmp_path / f"{kind}.xlsx"
    result = runner.invoke(app, ["template", kind, "--plan", str(sample.plan), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert kind in load_workbook(out).sheetnames


def test_an_unknown_template_kind_exits_2(sample: SampleFiles, tmp_path: Path) -> None:
    out = tmp_path / "x.xlsx"
    result = runner.invoke(
        app, ["template", "salaries", "--plan", str(sample.plan), "-o", str(out)]
    )
    assert result.exit_code == 2
    assert not out.exists()


def test_demo_scores_the_sample_district_and_writes_its_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "山城街道" in result.output
    assert (tmp_path / "data" / "sample" / "report-2025.xlsx").exists()
