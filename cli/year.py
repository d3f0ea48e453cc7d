"""Commands of the year area: import values, grades and bonus; standings; reports.

kaohe values import FILE [--year Y]
kaohe grades import FILE [--year Y]
kaohe bonus import FILE [--year Y]
kaohe standings [--year Y] [--as-of YYYY-MM-DD] [--group G] [--json]
kaohe report [--year Y] -o FILE.xlsx [--unit U] [--as-of YYYY-MM-DD]

Without --year, the assessment year (the latest year whose plan is loaded and not closed).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from cli.common import (
    BAD_INPUT,
    LANG,
    check_output,
    err,
    fail,
    handled,
    out,
    t,
    warn,
    writing,
    year_or_default,
)
from scoring import Group, InputProblem
from scoring.groups import SHORT_NAMES, parse_group
from scoring.plan import GROUP_LABELS
from services import wiring
from services.access import Actor
from services.files.reader import read_bonus, read_grades, read_values
from services.plans import current_plan
from services.standings import as_of_day, compute_standings
from services.unit_report import write_unit_report, write_year_report
from services.year_data import (
    ImportSummary,
    active_units,
    import_bonus,
    import_grades,
    import_values,
)

Year = Annotated[int | None, typer.Option("--year", min=2000, max=2100, help=t("year.year_help"))]
File = Annotated[Path, typer.Argument(help=t("year.file_help"))]
AsOf = Annotated[str | None, typer.Option("--as-of", help=t("year.as_of_help"))]


def register(app: typer.Typer) -> None:
    """Add `values`, `grades` and `bonus` imports, `standings` and `report` to `kaohe`."""
    for name, command in (
        ("values", values_import),
        ("grades", grades_import),
        ("bonus", bonus_import),
    ):
        group = typer.Typer(help=t(f"year.{name}_help"), no_args_is_help=True)
        app.add_typer(group, name=name)
        group.command("import", help=t(f"year.{name}_import_help"))(command)
    app.command("standings", help=t("year.standings_help"))(standings_command)
    app.command("report", help=t("year.report_help"))(report_command)


# ---------------------------------------------------------------------------------------------
# Progress


@contextmanager
def _progress() -> Iterator[Callable[[str, int | None], Callable[[int, int], None]]]:
    """A transient progress display on stderr; yields `step(label, total)` which starts a step
    and returns its `advance(done, total)` callback."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    current: list[TaskID] = []

    def step(label: str, total: int | None) -> Callable[[int, int], None]:
        if current:
            progress.update(current[-1], visible=False)
        task = progress.add_task(label, total=total)
        current.append(task)

        def advance(done: int, of: int) -> None:
            progress.update(task, completed=done, total=of)

        return advance

    with progress:
        yield step


# ---------------------------------------------------------------------------------------------
# Imports


def values_import(file: File, year: Year = None) -> None:
    """Import a year's indicator values as a new version (the earlier ones are kept)."""
    year = year_or_default(year)
    warnings: list[InputProblem] = []
    with handled(), _progress() as step:
        plan = current_plan(wiring.read_only_unit_of_work(), year)
        units = active_units(wiring.read_only_unit_of_work())
        step(t("year.reading", file=str(file)), None)
        values = read_values(file, plan, units, warnings=warnings)
        store = step(t("year.storing"), values.matrix.size)
        summary = import_values(
            wiring.unit_of_work(), Actor.operator(), year, values, str(file), progress=store
        )
    warn(warnings)
    _print_summary(summary)


def grades_import(file: File, year: Year = None) -> None:
    """Import raters' grades; each replaces the same rater's grade for the same unit, item and
    period (the replaced one is kept)."""
    year = year_or_default(year)
    with handled(), _progress() as step:
        plan = current_plan(wiring.read_only_unit_of_work(), year)
        units = active_units(wiring.read_only_unit_of_work())
        step(t("year.reading", file=str(file)), None)
        records = read_grades(file, plan, units)
        store = step(t("year.storing"), len(records))
        summary = import_grades(
            wiring.unit_of_work(), Actor.operator(), year, records, str(file), progress=store
        )
    _print_summary(summary)


def bonus_import(file: File, year: Year = None) -> None:
    """Import bonus items: new ones added (approved or pending), pending ones approved."""
    year = year_or_default(year)
    with handled(), _progress() as step:
        current_plan(wiring.read_only_unit_of_work(), year)
        units = active_units(wiring.read_only_unit_of_work())
        step(t("year.reading", file=str(file)), None)
        items = read_bonus(file, units)
        step(t("year.storing"), None)
        summary = import_bonus(wiring.unit_of_work(), Actor.operator(), year, items, str(file))
    _print_summary(summary)


def _print_summary(summary: ImportSummary) -> None:
    out.print(
        t(
            f"year.{summary.kind}_imported",
            year=summary.year,
            file=summary.source,
            rows=summary.rows,
            version=summary.version,
            replaced=summary.replaced_version,
            missing=summary.missing,
            added=summary.added,
            changed=summary.changed,
            unchanged=summary.unchanged,
        ),
        markup=False,
    )


# ---------------------------------------------------------------------------------------------
# Standings and reports


def _as_of(year: int, text: str | None) -> datetime | None:
    """The end of the `--as-of` day in the plan's time zone, or None."""
    if text is None:
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        fail([t("year.bad_date", got=text)], BAD_INPUT)
    return as_of_day(wiring.read_only_unit_of_work(), year, day)


def _group_option(text: str | None) -> Group | None:
    """The group `--group` names (any word of scoring.groups' vocabulary), or None for both."""
    if text is None:
        return None
    group = parse_group(text)
    if group is None:
        fail([t("year.bad_group", got=text, choices=group_choices())], BAD_INPUT)
    return group


def group_choices() -> list[str]:
    """The group names a help or an error offers: each label with its short name."""
    return [f"{GROUP_LABELS[g]}/{SHORT_NAMES[g]}" for g in Group]


def standings_command(
    year: Year = None,
    as_of: AsOf = None,
    as_json: Annotated[bool, typer.Option("--json", help=t("year.json_help"))] = False,
    group_text: Annotated[
        str | None,
        typer.Option("--group", help=t("year.group_option_help", choices=group_choices())),
    ] = None,
) -> None:
    """The standings of a year from the database (as of the end of a day, if told)."""
    group = _group_option(group_text)
    year = year_or_default(year)
    with handled():
        moment = _as_of(year, as_of)
        standings = compute_standings(wiring.read_only_unit_of_work(), year, moment)
    if as_json:
        doc = standings.to_json()
        if group is not None:
            doc["groups"] = {group.value: doc["groups"][group.value]}
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False) + "\n")
        return
    from cli.app import print_standings  # here, not above: cli.app imports this module

    print_standings(standings, group)
    if as_of is not None:
        out.print(t("year.as_of_note", day=as_of), markup=False)


def report_command(
    output: Annotated[Path, typer.Option("-o", "--output", help="FILE.xlsx")],
    year: Year = None,
    unit: Annotated[str | None, typer.Option("--unit", help=t("year.unit_help"))] = None,
    as_of: AsOf = None,
    force: Annotated[bool, typer.Option("--force")] = False,
) -> None:
    """The report workbook of a year, or one unit's assessment report (--unit)."""
    check_output(output, force)
    year = year_or_default(year)
    with handled(), writing(output), _progress() as step:
        moment = _as_of(year, as_of)
        step(t("year.writing_report", file=str(output)), None)
        if unit is None:
            write_year_report(wiring.read_only_unit_of_work(), year, output, LANG, moment)
        else:
            write_unit_report(wiring.read_only_unit_of_work(), year, unit, output, LANG, moment)
    out.print(t("year.report_written", file=str(output)), markup=False)
