"""Commands of the tasks area: `kaohe tasks import FILE.xlsx --year Y`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import handled, out, t, year_or_default
from services import wiring
from services.access import Actor
from services.files.task_reader import read_tasks
from services.tasks import import_tasks, task_import_basis


def register(app: typer.Typer) -> None:
    """Add `tasks import` to the `kaohe` command."""
    tasks_app = typer.Typer(help=t("tasks.help"), no_args_is_help=True)
    app.add_typer(tasks_app, name="tasks")
    tasks_app.command("import", help=t("tasks.import_help"))(tasks_import)


def tasks_import(
    file: Annotated[Path, typer.Argument(help=t("tasks.file_help"))],
    year: Annotated[
        int | None, typer.Option("--year", min=2000, max=2100, help=t("tasks.year_help"))
    ] = None,
) -> None:
    """Import a year's target tasks from a workbook; every bad row is listed on failure."""
    year = year_or_default(year)
    with handled():
        basis = task_import_basis(wiring.read_only_unit_of_work(), year)
        tasks = read_tasks(file, basis.plan, basis.units)
        summary = import_tasks(wiring.unit_of_work(), Actor.operator(), year, tasks)
    out.print(
        t(
            "tasks.imported",
            year=year,
            total=summary.total,
            added=summary.added,
            updated=summary.updated,
            unchanged=summary.unchanged,
        )
    )
