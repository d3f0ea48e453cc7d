"""The `kaohe` command: wiring only; each command calls a service and renders a template."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli import db, evidence, people, publish, run, tasks, year
from cli.common import (
    LANG,
    check_output,
    check_output_folder,
    fail,
    handled,
    out,
    t,
    warn,
    writing,
)
from cli.usage import KaoheGroup
from scoring import EventKind, Group, InputProblem, Plan, Standings
from scoring.completeness import DEVELOPMENT, find_gaps
from services.file_scoring import ScoringFiles, score_files
from services.files.input_templates import TEMPLATE_KINDS, write_template
from services.files.plan_file import default_plan_text, load_plan_file
from services.files.reader import read_units
from services.files.report import write_report
from services.files.report_content import gap_lines, no_data_mark
from services.files.task_reader import write_tasks_template
from services.free_text import clean_text
from services.sample_district import write_sample
from services.settings import get_settings
from templates.formatting import num, pct

app = typer.Typer(
    cls=KaoheGroup, help=t("cli.app_help"), no_args_is_help=True, add_completion=False
)
plan_app = typer.Typer(help=t("cli.plan_help"), no_args_is_help=True)
app.add_typer(plan_app, name="plan")
for area in (db, people, tasks, year, publish, run, evidence):
    area.register(app)
db.register_plan(plan_app)


ALL_TEMPLATE_KINDS: tuple[str, ...] = (*TEMPLATE_KINDS, "tasks")


@app.command("score", help=t("cli.score_help"))
def score_command(
    plan: Annotated[Path, typer.Option("--plan", help=t("cli.opt_plan"))],
    units: Annotated[Path, typer.Option("--units", help=t("cli.opt_units"))],
    values: Annotated[Path, typer.Option("--values", help=t("cli.opt_values"))],
    grades: Annotated[Path | None, typer.Option("--grades", help=t("cli.opt_grades"))] = None,
    bonus: Annotated[Path | None, typer.Option("--bonus", help=t("cli.opt_bonus"))] = None,
    events: Annotated[Path | None, typer.Option("--events", help=t("cli.opt_events"))] = None,
    as_json: Annotated[bool, typer.Option("--json", help=t("cli.opt_json"))] = False,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help=t("cli.opt_xlsx"))] = None,
) -> None:
    """Score data workbooks under a plan."""
    if as_json and xlsx is not None:
        fail([t("cli.json_and_xlsx")])
    if xlsx is not None:
        check_output(xlsx, force=True)
    warnings: list[InputProblem] = []
    with handled():
        standings = score_files(
            ScoringFiles(plan, units, values, grades, bonus, events), warnings=warnings
        )
    warn(warnings)
    if as_json:
        write_json(standings)
        return
    if xlsx is not None:
        with writing(xlsx):
            write_report(standings, xlsx, LANG)
        out.print(t("cli.report_written", file=str(xlsx)))
        return
    print_standings(standings)


@plan_app.command("init", help=t("cli.plan_init_help"))
def plan_init(
    year: Annotated[int, typer.Option("--year", min=2000, max=2100, help=t("cli.opt_plan_year"))],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help=t("cli.opt_plan_output"))
    ] = None,
    force: Annotated[bool, typer.Option("--force", help=t("cli.opt_force"))] = False,
) -> None:
    """Write the default plan of a year."""
    path = output or Path(f"plan-{year}.yaml")
    check_output(path, force)
    with writing(path):
        path.write_text(default_plan_text(year), encoding="utf-8")
    out.print(t("plan.written", year=year, file=str(path)))


@plan_app.command("check", help=t("cli.plan_check_help"))
def plan_check(plan: Annotated[Path, typer.Argument(help=t("cli.opt_plan"))]) -> None:
    """Validate a plan file and summarise it."""
    with handled():
        loaded = load_plan_file(plan)
    out.print(t("plan.valid"))
    out.print(plan_summary(loaded), markup=False)


@app.command("template", help=t("cli.template_help"))
def template_command(
    kind: Annotated[
        str, typer.Argument(help=t("cli.opt_template_kind", kinds=ALL_TEMPLATE_KINDS))
    ],
    plan: Annotated[Path, typer.Option("--plan", help=t("cli.opt_plan"))],
    output: Annotated[Path, typer.Option("-o", "--output", help=t("cli.opt_template_output"))],
    units: Annotated[
        Path | None, typer.Option("--units", help=t("cli.opt_template_units"))
    ] = None,
    force: Annotated[bool, typer.Option("--force", help=t("cli.opt_force"))] = False,
) -> None:
    """Write an empty data workbook with the right headers and drop-down lists."""
    if kind not in ALL_TEMPLATE_KINDS:
        fail([t("cli.unknown_template", kind=kind, kinds=list(ALL_TEMPLATE_KINDS))])
    check_output(output, force)
    with handled():
        loaded = load_plan_file(plan)
        known = read_units(units) if units else []
    with writing(output):
        if kind == "tasks":
            write_tasks_template(loaded, output, known, LANG)
        else:
            write_template(kind, loaded, output, known, LANG)
    out.print(t("cli.template_written", kind=kind, file=str(output)))


@app.command("sample", help=t("cli.sample_help"))
def sample_command(
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help=t("cli.opt_sample_output"))
    ] = None,
) -> None:
    """Write the bundled sample district's files."""
    folder = output or get_settings().data_dir / "sample"
    check_output_folder(folder)
    with writing(folder):
        write_sample(folder)
    out.print(t("cli.sample_written", folder=str(folder)))


@app.command("demo", help=t("cli.demo_help"))
def demo_command() -> None:
    """Score the bundled sample district, show its ranking and write its report."""
    folder = get_settings().data_dir / "sample"
    check_output_folder(folder)
    with writing(folder):
        files = write_sample(folder)
    standings = score_files(
        ScoringFiles(
            files.plan, files.units, files.values, files.grades, files.bonus, files.events
        )
    )
    out.print(
        t(
            "cli.demo_intro",
            towns=standings.group_size(Group.TOWN),
            others=standings.group_size(Group.ZONE_OR_DEPARTMENT),
        )
    )
    print_standings(standings)
    report = folder / f"report-{standings.plan.year}.xlsx"
    with writing(report):
        write_report(standings, report, LANG)
    out.print(t("cli.report_written", file=str(report)))
    out.print(
        t(
            "cli.demo_next",
            plan=files.plan,
            units=files.units,
            values=files.values,
            grades=files.grades,
            bonus=files.bonus,
            events=files.events,
        ),
        markup=False,
    )


def print_standings(standings: Standings, only: Group | None = None) -> None:
    """A ranked table per group in the terminal (of one group, if `only`)."""
    plan = standings.plan
    gaps = find_gaps(standings)
    # What the data lacks comes first, so that a half-loaded year is never read as a ranking.
    for line in gap_lines(gaps, LANG):
        out.print(line, markup=False, soft_wrap=True)
    for group in Group if only is None else (only,):
        results = standings.group(group)
        table = Table(
            title=t("cli.ranking_title", group=t(f"cli.group_{group.value}"), year=plan.year)
        )
        table.add_column(t("cli.col_rank"), justify="right")
        table.add_column(t("cli.col_unit"), no_wrap=True)
        table.add_column(t("cli.col_tier"))
        if group is Group.TOWN:
            mark = no_data_mark(gaps, DEVELOPMENT, LANG)
            table.add_column(t("cli.col_development") + mark, justify="right")
        for item in plan.work.items:
            table.add_column(item.name + no_data_mark(gaps, item.code, LANG), justify="right")
        for key in ("col_bonus", "col_deductions", "col_total", "col_share"):
            table.add_column(t(f"cli.{key}"), justify="right")
        for r in results:
            cells = [str(r.rank), r.name, r.tier]
            if group is Group.TOWN:
                cells.append(num(r.development))
            cells += [num(r.items[item.code]) for item in plan.work.items]
            cells += [num(r.bonus), num(r.deductions), num(r.total), pct(r.share)]
            table.add_row(*cells)
        if not results:
            table.caption = t("cli.no_units")
        out.print(table)


def write_json(standings: Standings, only: Group | None = None) -> None:
    """The standings as the JSON of scoring.md §6 on stdout, with what the data lacks
    (`gaps`, scoring.completeness) beside the groups; one group's only, if `only`."""
    doc = standings.to_json()
    if only is not None:
        doc["groups"] = {only.value: doc["groups"][only.value]}
    doc["gaps"] = find_gaps(standings).to_json()
    sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False) + "\n")


def plan_summary(plan: Plan) -> str:
    """A few lines saying what a plan holds."""
    work = plan.work
    return t(
        "plan.summary",
        title=plan.title or "-",
        year=plan.year,
        timezone=plan.timezone,
        development_points=plan.development.points,
        categories=len(plan.development.categories),
        indicators=len(plan.development.indicators),
        base_share=plan.development.base_share,
        work_items="、".join(f"{i.name} {num(i.points)}" for i in work.items),
        grades=" / ".join(f"{num(c)}" for c in work.grades.values()),
        daily_weight=work.daily_weight,
        bonus_per_item=plan.bonus.points_per_item,
        bonus_cap=plan.bonus.cap,
        tiers=" ".join(f"{b.name}≥{pct(b.threshold, 0)}" for b in plan.tiers.bands)
        if plan.tiers.by.value == "score_share"
        else " ".join(f"{b.name}≤{pct(b.threshold, 0)}" for b in plan.tiers.bands),
        due_day=plan.schedule.monthly_report_due_day,
        deductions=deductions_in_force(plan),
    )


def deductions_in_force(plan: Plan) -> list[dict[str, object]]:
    """Each event with the points it costs and the work item it costs them from (0: off)."""
    names = {i.code: i.name for i in plan.work.items}
    shown: list[dict[str, object]] = []
    for kind in EventKind:
        rule = plan.work.deductions.get(kind)
        shown.append(
            {
                "event": t(f"year.event_{kind.value}"),
                "points": rule.points if rule is not None else 0.0,
                "item": names.get(rule.item, rule.item) if rule is not None else "",
            }
        )
    return shown


def main() -> None:
    """Entry point of the `kaohe` console command; every argument is cleaned first (the one
    rule of services.free_text), so no control or bidi mark reaches a command or its output."""
    app(args=[clean_text(arg) for arg in sys.argv[1:]])


if __name__ == "__main__":
    main()
