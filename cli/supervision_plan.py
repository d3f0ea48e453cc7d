"""`kaohe supervision-plan`: the annual supervision plan (督导计划).

kaohe supervision-plan template [--year Y] -o FILE.xlsx   the template with drop-down lists
kaohe supervision-plan import FILE.xlsx [--year Y]        load activities (all or nothing)
kaohe supervision-plan list [--year Y]                    the plan, planned against done
kaohe supervision-plan done ID [--on YYYY-MM-DD]          mark an activity done
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from cli.common import LANG, fail, handled, out, t, year_or_default
from scoring.calendar import local_date
from services import wiring
from services.access import Actor
from services.files.activity_reader import read_activities, write_activities_template
from services.settings import get_settings
from services.supervision_plan import import_activities, mark_activity_done, year_activities
from services.year_data import active_units

Year = Annotated[int | None, typer.Option("--year", min=2000, max=2100, help=t("year.year_help"))]


def register(app: typer.Typer) -> None:
    """Add `supervision-plan template|import|list|done` to `kaohe`."""
    plan_app = typer.Typer(help=t("supervision.cli_help"), no_args_is_help=True)
    app.add_typer(plan_app, name="supervision-plan")
    plan_app.command("template", help=t("supervision.cli_template_help"))(template_command)
    plan_app.command("import", help=t("supervision.cli_import_help"))(import_command)
    plan_app.command("list", help=t("supervision.cli_list_help"))(list_command)
    plan_app.command("done", help=t("supervision.cli_done_help"))(done_command)


def template_command(
    output: Annotated[Path, typer.Option("-o", "--output", help="FILE.xlsx")],
    year: Year = None,
    force: Annotated[bool, typer.Option("--force", help=t("cli.opt_force"))] = False,
) -> None:
    """Write the supervision plan template of the year."""
    if output.exists() and not force:
        fail([t("cli.file_exists", file=str(output))])
    year = year_or_default(year)
    with handled():
        units = active_units(wiring.read_only_unit_of_work())
        write_activities_template(year, output, units, LANG)
    out.print(t("supervision.cli_template_written", year=year, file=str(output)), markup=False)


def import_command(
    file: Annotated[Path, typer.Argument(help="FILE.xlsx")], year: Year = None
) -> None:
    """Load the year's supervision activities from a workbook."""
    year = year_or_default(year)
    with handled():
        units = active_units(wiring.read_only_unit_of_work())
        activities = read_activities(file, units)
        summary = import_activities(
            wiring.unit_of_work(), Actor.operator(), year, activities, str(file)
        )
    out.print(
        t(
            "supervision.cli_imported",
            file=str(file),
            year=summary.year,
            added=summary.added,
            unchanged=summary.unchanged,
        ),
        markup=False,
        soft_wrap=True,
    )


def list_command(year: Year = None) -> None:
    """The year's activities, planned against done."""
    year = year_or_default(year)
    with handled():
        activities = year_activities(wiring.read_only_unit_of_work(), year)
    if not activities:
        out.print(t("supervision.cli_none", year=year), markup=False)
        return
    done = sum(1 for a in activities if a.done)
    out.print(
        t("supervision.cli_header", year=year, planned=len(activities), done=done), markup=False
    )
    for a in activities:
        out.print(
            t(
                "supervision.cli_line",
                id=a.id,
                day=a.planned_on.isoformat(),
                kind=t(f"supervision.kind_{a.kind.value}"),
                focus=a.focus,
                units=[name for _, name in a.units],
                done=a.done_on.isoformat() if a.done_on else None,
                findings=len(a.findings),
            ),
            markup=False,
            soft_wrap=True,
        )


def now() -> datetime:
    """Now (a function, so that tests may move the clock)."""
    return datetime.now(UTC)


def done_command(
    activity: Annotated[int, typer.Argument(help="ID")],
    on: Annotated[str | None, typer.Option("--on", help="YYYY-MM-DD")] = None,
) -> None:
    """Mark an activity as done (today when no day is given)."""
    try:
        day = date.fromisoformat(on.strip()) if on else local_date(now(), get_settings().timezone)
    except ValueError:
        fail([t("year.bad_date", got=on)])
    with handled():
        view = mark_activity_done(wiring.unit_of_work(), Actor.operator(), activity, day)
    out.print(t("supervision.cli_done", id=view.id, day=day.isoformat()), markup=False)
