"""Load a year's plan into the database (versioned) and get the plan in force."""

from __future__ import annotations

from dataclasses import dataclass

from scoring import Plan
from services.access import Actor, Role, require_role
from services.errors import NotFound
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
    row = uow.repository(Plans).current_text(year)
    if row is None:
        raise NotFound("no_plan", year=year)
    return load_plan_text(row.yaml_text, f"plan {year} v{row.version}")
