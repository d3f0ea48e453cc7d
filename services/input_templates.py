"""The empty data workbooks (units, values, grades, bonus, events, tasks) of a year, as /templates
sends them: written for the plan in force with the active units in their drop-down lists, in
the reader's language, and returned as bytes (the writer's temporary folder is gone by then)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from scoring import Group, Unit
from services.files.input_templates import TEMPLATE_KINDS, write_template
from services.files.task_reader import write_tasks_template
from services.plans import plan_in_force
from storage.repositories.year_data import YearUnits
from storage.unit_of_work import UnitOfWork

# The kinds /templates offers: the data workbooks, then the tasks workbook.
KINDS: tuple[str, ...] = (*TEMPLATE_KINDS, "tasks")


def template_bytes(uow: UnitOfWork, year: int, kind: str, language: str) -> bytes:
    """The template workbook of `kind` for the plan in force of `year`, as bytes; the plan and
    the units are read in one unit of work (`NotFound("no_plan")` without a plan)."""
    with uow:
        plan = plan_in_force(uow, year)
        units = [Unit(r.code, r.name, Group(r.group)) for r in uow.repository(YearUnits).rows()]
    with tempfile.TemporaryDirectory(prefix="kaohe-template-") as folder:
        path = Path(folder) / f"{kind}.xlsx"
        if kind == "tasks":
            write_tasks_template(plan, path, units, language)
        else:
            write_template(kind, plan, path, units, language)
        return path.read_bytes()
