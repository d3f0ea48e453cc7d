"""Good practices (典型经验) found in supervision, recorded to be written up and promoted."""

from __future__ import annotations

from services.access import Actor, Role, require_role
from services.errors import Invalid, NotFound
from services.files.report_content import GoodPracticeView
from services.plans import require_year_open
from storage.clock import as_utc
from storage.models import GoodPractice, UnitRow
from storage.repositories.findings import Contacts, GoodPractices
from storage.unit_of_work import UnitOfWork


def _view(row: GoodPractice, unit: UnitRow) -> GoodPracticeView:
    return GoodPracticeView(
        id=row.id,
        year=row.year,
        unit_id=row.unit_id,
        unit_code=unit.code,
        unit_name=unit.name,
        title=row.title,
        description=row.description,
        recorded_by=row.recorded_by,
        recorded_at=as_utc(row.recorded_at),
    )


def record_good_practice(
    uow: UnitOfWork, actor: Actor, unit_id: int, year: int, title: str, description: str
) -> GoodPracticeView:
    """A coordinator records a unit's good practice of a year (a title, and a description
    that may be empty)."""
    require_role(actor, Role.COORDINATOR)
    title = (title or "").strip()
    if not title:
        raise Invalid("good_practice_title_empty")
    description = (description or "").strip()
    with uow:
        require_year_open(uow, year)
        unit = uow.repository(Contacts).unit(unit_id)
        if unit is None or not unit.active:
            raise NotFound("unknown_unit", unit=str(unit_id))
        row = uow.repository(GoodPractices).add(
            GoodPractice(
                year=year,
                unit_id=unit_id,
                title=title,
                description=description,
                recorded_by=actor.person_id,
                recorded_at=uow.now(),
            )
        )
        uow.flush()
        after = {"year": year, "unit_id": unit_id, "title": title, "description": description}
        uow.audit(actor.audit_name, "good_practice.record", "good_practice", row.id, None, after)
        uow.commit()
        return _view(row, unit)


def good_practices(uow: UnitOfWork, actor: Actor, year: int) -> list[GoodPracticeView]:
    """The good practices of a year, in the order recorded; everyone may read them, since
    they are there to be promoted."""
    with uow:
        rows = uow.repository(GoodPractices).of_year(year)
        units = uow.repository(Contacts).units({r.unit_id for r in rows})
        return [_view(r, units[r.unit_id]) for r in rows]
