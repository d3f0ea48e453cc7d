"""The `kaohe` command: wiring only; each command calls a service and renders a template.

A command imports what it needs when it runs: the commands of the other modules of cli/ (which
import the services, SQLAlchemy and pandas) are registered the first time one of them is
resolved, and the commands here import their services in their bodies, so that `kaohe --help`
starts like a command-line tool (tests/e2e/test_cli_startup.py keeps it so).
"""

from __future__ import annotations

import json
import sys
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ClassVar, NamedTuple

import typer
from typer import _click as click  # Typer's own copy of click, which its groups are made of
from typer.core import TyperCommand, TyperGroup

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
from services.free_text import clean_text

if TYPE_CHECKING:
    from scoring import Group, InputProblem, Plan, Standings


class Lazy(NamedTuple):
    """A command registered by another module of cli/, listed before it is loaded."""

    module: str  # the module that registers it
    register: str  # its function that adds the command to a Typer app
    help_key: str  # the catalog key of its help (as the module registers it)
    group: bool  # a command group (listed after the plain commands, as Typer lists them)


# Every command of the other modules of cli/ and where it comes from; a command added there
# must be added here (tests/e2e/test_cli_startup.py says which is missing).
LAZY_COMMANDS: dict[str, Lazy] = {
    "backup": Lazy("cli.db", "register", "db.backup_help", False),
    "invite": Lazy("cli.people", "register", "people.invite_help", False),
    "standings": Lazy("cli.year", "register", "year.standings_help", False),
    "report": Lazy("cli.year", "register", "year.report_help", False),
    "publish": Lazy("cli.publish", "register", "myscore.cli_publish_help", False),
    "run": Lazy("cli.run", "register", "console.run_help", False),
    "console": Lazy("cli.run", "register", "console.console_help", False),
    "db": Lazy("cli.db", "register", "db.db_help", True),
    "audit": Lazy("cli.db", "register", "db.audit_help", True),
    "units": Lazy("cli.people", "register", "people.units_help", True),
    "people": Lazy("cli.people", "register", "people.people_help", True),
    "tasks": Lazy("cli.tasks", "register", "tasks.help", True),
    "values": Lazy("cli.year", "register", "year.values_help", True),
    "grades": Lazy("cli.year", "register", "year.grades_help", True),
    "bonus": Lazy("cli.year", "register", "year.bonus_help", True),
    "evidence": Lazy("cli.evidence", "register", "evidence.evidence_help", True),
    "result": Lazy("cli.result", "register", "result.cli_help", True),
}
LAZY_PLAN_COMMANDS: dict[str, Lazy] = {
    "load": Lazy("cli.db", "register_plan", "db.plan_load_help", False),
}


class LazyGroup(TyperGroup):
    """A Typer group whose commands of `lazy` are imported and registered when one of them is
    resolved; listing them in the help needs only their catalog help text."""

    lazy: ClassVar[dict[str, Lazy]] = {}
    _listing = False

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The help, listing the commands not yet loaded by their help text alone."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Plain commands, then groups, in the order their modules register them."""
        eager = super().list_commands(ctx)
        loaded = [n for n in eager if n not in self.lazy]
        commands = [n for n, c in self.lazy.items() if not c.group]
        groups = [n for n, c in self.lazy.items() if c.group]
        plain = [n for n in loaded if not isinstance(self.commands[n], TyperGroup)]
        nested = [n for n in loaded if isinstance(self.commands[n], TyperGroup)]
        return commands + plain + nested + groups

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command `cmd_name`, loading its module on first use (not for the help)."""
        command = super().get_command(ctx, cmd_name)
        entry = self.lazy.get(cmd_name)
        if command is not None or entry is None:
            return command
        if self._listing:
            return TyperCommand(name=cmd_name, help=t(entry.help_key))
        return self._load(entry, cmd_name)

    def _load(self, entry: Lazy, cmd_name: str) -> click.Command | None:
        holder = typer.Typer(
            rich_markup_mode=self.rich_markup_mode, suggest_commands=self.suggest_commands
        )
        getattr(import_module(entry.module), entry.register)(holder)
        for name, command in typer.main.get_group(holder).commands.items():
            if name in self.lazy:
                self.commands[name] = command
        return self.commands.get(cmd_name)


class _TopGroup(LazyGroup):
    lazy = LAZY_COMMANDS


class _PlanGroup(LazyGroup):
    lazy = LAZY_PLAN_COMMANDS


app = typer.Typer(
    cls=_TopGroup, help=t("cli.app_help"), no_args_is_help=True, add_completion=False
)
plan_app = typer.Typer(cls=_PlanGroup, help=t("cli.plan_help"), no_args_is_help=True)
app.add_typer(plan_app, name="plan")

# services.files.input_templates.TEMPLATE_KINDS and "tasks", without importing the workbook
# writers for the help (tests/e2e/test_cli_startup.py holds the two together).
ALL_TEMPLATE_KINDS: tuple[str, ...] = ("units", "values", "grades", "bonus", "events", "tasks")


@app.command("score", help=t("cli.score_help"))
def score_command(
    plan: Annotated[Path, typer.Option("--plan", help="PLAN.yaml")],
    units: Annotated[Path, typer.Option("--units", help="units.xlsx")],
    values: Annotated[Path, typer.Option("--values", help="values.xlsx")],
    grades: Annotated[Path | None, typer.Option("--grades", help="grades.xlsx")] = None,
    bonus: Annotated[Path | None, typer.Option("--bonus", help="bonus.xlsx")] = None,
    events: Annotated[Path | None, typer.Option("--events", help="events.xlsx")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="OUT.xlsx")] = None,
) -> None:
    """Score data workbooks under a plan."""
    from services.file_scoring import ScoringFiles, score_files

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
        sys.stdout.write(
            json.dumps(standings.to_json(), ensure_ascii=False, indent=2, allow_nan=False) + "\n"
        )
        return
    if xlsx is not None:
        from services.files.report import write_report  # the workbook writer, only for --xlsx

        with writing(xlsx):
            write_report(standings, xlsx, LANG)
        out.print(t("cli.report_written", file=str(xlsx)))
        return
    print_standings(standings)


@plan_app.command("init", help=t("cli.plan_init_help"))
def plan_init(
    year: Annotated[int, typer.Option("--year", min=2000, max=2100)],
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
    force: Annotated[bool, typer.Option("--force")] = False,
) -> None:
    """Write the default plan of a year."""
    from services.files.plan_file import default_plan_text

    path = output or Path(f"plan-{year}.yaml")
    check_output(path, force)
    with writing(path):
        path.write_text(default_plan_text(year), encoding="utf-8")
    out.print(t("plan.written", year=year, file=str(path)))


@plan_app.command("check", help=t("cli.plan_check_help"))
def plan_check(plan: Annotated[Path, typer.Argument(help="PLAN.yaml")]) -> None:
    """Validate a plan file and summarise it."""
    from services.files.plan_file import load_plan_file

    with handled():
        loaded = load_plan_file(plan)
    out.print(t("plan.valid"))
    out.print(plan_summary(loaded), markup=False)


@app.command("template", help=t("cli.template_help"))
def template_command(
    kind: Annotated[str, typer.Argument(help=" | ".join(ALL_TEMPLATE_KINDS))],
    plan: Annotated[Path, typer.Option("--plan", help="PLAN.yaml")],
    output: Annotated[Path, typer.Option("-o", "--output")],
    units: Annotated[Path | None, typer.Option("--units", help="units.xlsx")] = None,
    force: Annotated[bool, typer.Option("--force")] = False,
) -> None:
    """Write an empty data workbook with the right headers and drop-down lists."""
    from services.files.input_templates import write_template
    from services.files.plan_file import load_plan_file
    from services.files.reader import read_units
    from services.files.task_reader import write_tasks_template

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
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
) -> None:
    """Write the bundled sample district's files."""
    from services.sample_district import write_sample
    from services.settings import get_settings

    folder = output or get_settings().data_dir / "sample"
    check_output_folder(folder)
    with writing(folder):
        write_sample(folder)
    out.print(t("cli.sample_written", folder=str(folder)))


@app.command("demo", help=t("cli.demo_help"))
def demo_command() -> None:
    """Score the bundled sample district, show its ranking and write its report."""
    from scoring import Group
    from services.file_scoring import ScoringFiles, score_files
    from services.files.report import write_report
    from services.sample_district import write_sample
    from services.settings import get_settings

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
    from rich.table import Table

    from scoring import Group
    from templates.formatting import num, pct

    plan = standings.plan
    for group in Group if only is None else (only,):
        results = standings.group(group)
        table = Table(
            title=t("cli.ranking_title", group=t(f"cli.group_{group.value}"), year=plan.year)
        )
        table.add_column(t("cli.col_rank"), justify="right")
        table.add_column(t("cli.col_unit"), no_wrap=True)
        table.add_column(t("cli.col_tier"))
        if group is Group.TOWN:
            table.add_column(t("cli.col_development"), justify="right")
        for item in plan.work.items:
            table.add_column(item.name, justify="right")
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


def plan_summary(plan: Plan) -> str:
    """A few lines saying what a plan holds."""
    from templates.formatting import num, pct

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
    from scoring import EventKind

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
