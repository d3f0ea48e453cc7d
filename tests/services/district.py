"""A small district for the service tests: the default plan of 2025 and three units, and ways
to look into the database behind the services."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from scoring import Group, IndicatorValues, Unit
from services.access import Actor
from services.files.plan_file import default_plan_text
from services.people import register_units
from services.plans import load_plan
from storage.audit import verify
from storage.models import AuditEntry
from storage.repositories.year_data import YearUnits
from storage.unit_of_work import UnitOfWork

YEAR = 2025
SHANGHAI = ZoneInfo("Asia/Shanghai")
UOW = Callable[[], UnitOfWork]
OPERATOR = Actor.operator()
UNITS = [
    Unit("dianzi", "店子镇", Group.TOWN),
    Unit("xiji", "西集镇", Group.TOWN),
    Unit("finance", "区财政局", Group.ZONE_OR_DEPARTMENT),
]


def at(month: int, day: int, hour: int = 10) -> datetime:
    """A moment of YEAR in Shanghai."""
    return datetime(YEAR, month, day, hour, tzinfo=SHANGHAI)


def plan_and_units(uow: UOW) -> dict[str, int]:
    """The default plan of YEAR and the three UNITS stored; the units' ids by code."""
    load_plan(uow(), OPERATOR, default_plan_text(YEAR), "plan.yaml")
    register_units(uow(), OPERATOR, UNITS)
    with uow() as u:
        return {r.code: r.id for r in u.repository(YearUnits).rows()}


def gdp(dianzi: float | None, xiji: float | None) -> IndicatorValues:
    """Values of one indicator (gdp_growth) for the two towns."""
    return IndicatorValues.from_rows(
        {"dianzi": {"gdp_growth": dianzi}, "xiji": {"gdp_growth": xiji}}, ["gdp_growth"]
    )


def count(uow: UOW, model: type) -> int:
    """How many rows a table has."""
    with uow() as u:
        return int(u.session.execute(select(func.count()).select_from(model)).scalar_one())


def audit_actions(uow: UOW) -> list[str]:
    """The actions of the audit log, oldest first; the chain must verify."""
    with uow() as u:
        assert verify(u.session) == []
        return list(u.session.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars())
