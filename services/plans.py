"""Load a year's plan into the database (versioned) and get the plan in force."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from scoring import Plan
from scoring.assessment_year import assessment_year
from services.access import Actor, Role, require_role
from services.deadlines import local_date
from services.errors import Invalid, NotFound
from services.files.plan_file import load_plan_text
from storage.models import PlanVersion
from storage.repositories.plans import Plans
from storage.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class LoadedPlan:
    """A plan as stored: its year, version and model."""

    year: int
    version: int
    plan: Plan


def load_plan(uow: UnitOfWork, actor: Actor, yaml_text: str, source: str) -> LoadedPlan:
    """Validate and store a plan as the newest version of its year (raises PlanFileError)."""
    require_role(actor, Role.COORDINATOR)
    plan = load_plan_text(yaml_text, source)
    with uow:
        plans = uow.repository(Plans)
        previous = plans.current(plan.year)
        if previous is not None and previous.yaml_text == yaml_text:
            return LoadedPlan(plan.year, previous.version, plan)
        version = plans.next_version(plan.year)
        row = plans.add(
            PlanVersion(
                year=plan.year,
                version=version,
                yaml_text=yaml_text,
                loaded_at=uow.now(),
                loaded_by=actor.person_id,
            )
        )
        uow.flush()
        uow.audit(
            actor.audit_name,
            "plan.load",
            "plan",
            row.id,
            {"year": plan.year, "version": previous.version} if previous else None,
            {"year": plan.year, "version": version, "source": source},
        )
        uow.commit()
    return LoadedPlan(plan.year, version, plan)


def current_plan(uow: UnitOfWork, year: int) -> Plan:
    """The plan in force for `year` (its newest version); `NotFound` if none was loaded."""
    with uow:
        row = uow.repository(Plans).current(year)
        if row is None:
            raise NotFound("no_plan", year=year)
        return load_plan_text(row.yaml_text, f"plan {year} v{row.version}")


def plan_in(uow: UnitOfWork, year: int) -> Plan:
    """The plan in force for `year`, inside an open unit of work."""
    row = uow.repository(Plans).current(year)
    if row is None:
        raise NotFound("no_plan", year=year)
    return load_plan_text(row.yaml_text, f"plan {year} v{row.version}")


def default_year(uow: UnitOfWork, today: date) -> int:
    """The assessment year meant when none is named, on `today` (scoring.assessment_year)."""
    with uow:
        years = uow.repository(Plans).years()
        closed = closed_years_in(uow)
    return assessment_year(today, years, closed)


def default_year_now(uow: UnitOfWork, timezone: str) -> int:
    """The assessment year meant now (the unit of work's clock) in `timezone`."""
    return default_year(uow, local_date(uow.now(), timezone))


def closed_years_in(uow: UnitOfWork) -> list[int]:
    """The years that have been closed, inside an open unit of work."""
    return []


def require_year_open(uow: UnitOfWork, year: int) -> None:
    """Refuse changing anything of a closed year (inside an open unit of work)."""
    if year in closed_years_in(uow):
        raise Invalid("year_closed", year=year)
