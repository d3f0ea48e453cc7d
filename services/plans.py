"""Load a year's plan into the database (versioned) and get the plan in force."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from scoring import Plan
from scoring.assessment_year import assessment_year
from scoring.calendar import local_date
from services.access import Actor, Role, require_role
from services.errors import Invalid, NotFound
from services.files.plan_file import load_plan_text
from storage.models import PlanVersion
from storage.repositories.plans import Plans
from storage.repositories.results import YearClosures
from storage.unit_of_work import UnitOfWork

# The plan file's top-level year (scoring.md §4: `year: 2019`, at the start of a line).
_YEAR_LINE = re.compile(r"^year:[ \t]*\d{4}(?=[ \t]*(?:#|$))", re.MULTILINE)


@dataclass(frozen=True)
class LoadedPlan:
    """A plan as stored: its year, version and model."""

    year: int
    version: int
    plan: Plan


def load_plan(uow: UnitOfWork, actor: Actor, yaml_text: str, source: str) -> LoadedPlan:
    """Validate and store a plan as the newest version of its year (raises PlanFileError);
    a closed year's plan is refused."""
    require_role(actor, Role.COORDINATOR)
    plan = load_plan_text(yaml_text, source)
    with uow:
        require_year_open(uow, plan.year)
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


@lru_cache(maxsize=8)
def _parsed_plan(yaml_text: str, source: str) -> Plan:
    """A plan parsed once per text: parsing YAML costs more than reading a district's grades
    (a Plan is frozen, so one parsed plan can serve every caller)."""
    return load_plan_text(yaml_text, source)


def plan_in_force(uow: UnitOfWork, year: int) -> Plan:
    """The plan in force for `year` (its newest version), inside an open unit of work: the one
    loader of the plan every service uses; `NotFound("no_plan")` if none was loaded."""
    row = uow.repository(Plans).current_text(year)
    if row is None:
        raise NotFound("no_plan", year=year)
    return parsed_plan(row.yaml_text, year, row.version)


def parsed_plan(yaml_text: str, year: int, version: int) -> Plan:
    """The plan in force of `year` from its stored text (read with other rows by a hot path,
    such as a submission): the same parser and cache as `plan_in_force`."""
    return _parsed_plan(yaml_text, f"plan {year} v{version}")


def plan_in_force_or_none(uow: UnitOfWork, year: int) -> Plan | None:
    """`plan_in_force`, or None when the year has no plan (inside an open unit of work)."""
    try:
        return plan_in_force(uow, year)
    except NotFound:
        return None


def current_plan(uow: UnitOfWork, year: int) -> Plan:
    """The plan in force for `year` in a transaction of its own (`plan_in_force`)."""
    with uow:
        return plan_in_force(uow, year)


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
    return uow.repository(YearClosures).years()


def ensure_year_open(uow: UnitOfWork, year: int) -> None:
    """Refuse changing anything of a closed year (reads in a snapshot of its own)."""
    with uow.snapshot() as snapshot:
        require_year_open(snapshot, year)


def require_year_open(uow: UnitOfWork, year: int) -> None:
    """Refuse changing anything of a closed year (inside an open unit of work)."""
    if year in closed_years_in(uow):
        raise Invalid("year_closed", year=year)


def closed_years(uow: UnitOfWork) -> list[int]:
    """The years that have been closed, oldest first."""
    with uow:
        return closed_years_in(uow)


def rolled_over_plan(uow: UnitOfWork, from_year: int, year: int) -> str:
    """The plan text of `from_year` in force, made the plan of `year` (roll-over): the same
    indicators, items and rules, the top-level `year:` changed; checked before it is given."""
    with uow:
        row = uow.repository(Plans).current(from_year)
        if row is None:
            raise NotFound("no_plan", year=from_year)
        text = row.yaml_text
    rolled, count = _YEAR_LINE.subn(f"year: {year}", text, count=1)
    if count != 1:
        raise Invalid("plan_rollover_no_year", year=from_year)
    plan = load_plan_text(rolled, f"plan {year} from {from_year}")
    if plan.year != year:
        raise Invalid("plan_rollover_no_year", year=from_year)
    return rolled
