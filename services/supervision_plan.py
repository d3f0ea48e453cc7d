"""The annual supervision plan (年度督导计划, Art. 6 and 8): the year's supervision activities.

An activity has a date, a kind (实地检查, 会议调度, 调研走访, 台账监控, 专项督导, 全面督导;
the same codes as a finding's source), a focus and the units it covers (none: every unit).
Coordinators load them from a workbook (all or nothing; an activity already in the plan with
the same date, kind and focus is left as it is) or add them one by one. An activity is done
once a coordinator marks it so, or once a finding names it (the finding's day). The half-year
supervision report lists the activities planned in the half against those done, with the
findings of each.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from scoring import Group, Unit
from services.access import Actor, Role, require_role
from services.errors import Invalid, NotFound
from services.files.activity_reader import (
    MAX_FOCUS,
    ActivityInput,
    read_activities,
    write_activities_template,
)
from services.plans import ensure_year_open, plan_in_force, require_year_open
from storage.models import SupervisionActivity
from storage.repositories.supervision_plan import Activities
from storage.repositories.year_data import YearUnits
from storage.statuses import FindingStatus, SupervisionKind
from storage.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ActivityFinding:
    """A finding that came from an activity: its unit, what was found, its status."""

    id: int
    unit_name: str
    description: str
    status: FindingStatus


@dataclass(frozen=True)
class ActivityView:
    """A planned activity; `units` are (code, name) pairs, empty when it covers every unit."""

    id: int
    year: int
    planned_on: date
    kind: SupervisionKind
    focus: str
    units: tuple[tuple[str, str], ...]
    done_on: date | None
    findings: tuple[ActivityFinding, ...] = ()

    @property
    def done(self) -> bool:
        """Whether the activity has been carried out."""
        return self.done_on is not None


@dataclass(frozen=True)
class ActivityImport:
    """What a supervision plan workbook did: activities added and those already there."""

    year: int
    added: int
    unchanged: int


def _views(uow: UnitOfWork, rows: Sequence[SupervisionActivity]) -> list[ActivityView]:
    units = {r.id: r for r in uow.repository(YearUnits).rows(include_inactive=True)}
    findings = uow.repository(Activities).findings_of([r.id for r in rows])
    return [
        ActivityView(
            id=r.id,
            year=r.year,
            planned_on=r.planned_on,
            kind=SupervisionKind(r.kind),
            focus=r.focus,
            units=tuple((units[i].code, units[i].name) for i in r.unit_ids if i in units),
            done_on=r.done_on,
            findings=tuple(
                ActivityFinding(f.id, units[f.unit_id].name, f.description, f.status)
                for f in findings.get(r.id, [])
            ),
        )
        for r in rows
    ]


def _audit(row: SupervisionActivity) -> dict[str, object]:
    return {
        "year": row.year,
        "planned_on": row.planned_on,
        "kind": row.kind,
        "focus": row.focus,
        "unit_ids": list(row.unit_ids),
        "done_on": row.done_on,
    }


def _unit_ids(uow: UnitOfWork, codes: Sequence[str]) -> list[int]:
    by_code = {r.code: r for r in uow.repository(YearUnits).rows()}
    missing = [c for c in codes if c not in by_code]
    if missing:
        raise NotFound("unknown_unit", unit=missing[0])
    return list(dict.fromkeys(by_code[c].id for c in codes))


def _check(year: int, activity: ActivityInput) -> str:
    focus = " ".join(activity.focus.split())
    if activity.planned_on.year != year:
        raise Invalid("activity_outside_year", day=activity.planned_on, year=year)
    if not focus:
        raise Invalid("activity_focus_empty")
    if len(focus) > MAX_FOCUS:
        raise Invalid("activity_focus_too_long", limit=MAX_FOCUS)
    return focus


def import_activities(
    uow: UnitOfWork, actor: Actor, year: int, activities: Sequence[ActivityInput], source: str
) -> ActivityImport:
    """Add the activities of a workbook to the year's plan, all or nothing; one already there
    (same date, kind and focus) is left as it is."""
    require_role(actor, Role.COORDINATOR)
    ensure_year_open(uow, year)
    checked = [(a, _check(year, a)) for a in activities]
    with uow:
        require_year_open(uow, year)
        plan_in_force(uow, year)
        repo = uow.repository(Activities)
        seen = {(r.planned_on, r.kind, r.focus) for r in repo.of_year(year)}
        added: list[SupervisionActivity] = []
        for activity, focus in checked:
            key = (activity.planned_on, activity.kind, focus)
            if key in seen:
                continue
            seen.add(key)
            added.append(
                repo.add(
                    SupervisionActivity(
                        year=year,
                        planned_on=activity.planned_on,
                        kind=activity.kind.value,
                        focus=focus,
                        unit_ids=_unit_ids(uow, activity.units),
                        created_at=uow.now(),
                        created_by=actor.person_id,
                    )
                )
            )
        uow.flush()
        uow.audit(
            actor.audit_name,
            "supervision_plan.import",
            "supervision_plan",
            year,
            None,
            {"year": year, "source": source[:500], "added": [r.id for r in added]},
        )
        uow.commit()
        return ActivityImport(year, len(added), len(checked) - len(added))


def add_activity(
    uow: UnitOfWork, actor: Actor, year: int, activity: ActivityInput
) -> ActivityView:
    """A coordinator adds one activity to the year's plan."""
    require_role(actor, Role.COORDINATOR)
    focus = _check(year, activity)
    with uow:
        require_year_open(uow, year)
        plan_in_force(uow, year)
        row = uow.repository(Activities).add(
            SupervisionActivity(
                year=year,
                planned_on=activity.planned_on,
                kind=activity.kind.value,
                focus=focus,
                unit_ids=_unit_ids(uow, activity.units),
                created_at=uow.now(),
                created_by=actor.person_id,
            )
        )
        uow.flush()
        uow.audit(actor.audit_name, "activity.add", "activity", row.id, None, _audit(row))
        [view] = _views(uow, [row])
        uow.commit()
        return view


def mark_activity_done(
    uow: UnitOfWork, actor: Actor, activity_id: int, done_on: date
) -> ActivityView:
    """A coordinator marks an activity as carried out on `done_on` (once)."""
    require_role(actor, Role.COORDINATOR)
    with uow:
        row = uow.repository(Activities).by_id(activity_id, lock=True)
        if row is None:
            raise NotFound("activity_not_found", activity_id=activity_id)
        require_year_open(uow, row.year)
        if row.done_on is not None:
            raise Invalid("activity_already_done", activity_id=activity_id, done_on=row.done_on)
        before = _audit(row)
        row.done_on = done_on
        uow.audit(actor.audit_name, "activity.done", "activity", row.id, before, _audit(row))
        [view] = _views(uow, [row])
        uow.commit()
        return view


def activity_for_finding(uow: UnitOfWork, activity_id: int, found_on: date) -> int:
    """Check, inside an open unit of work, that a finding of `found_on` may name the activity
    (one of the same year); mark the activity done on that day if it was not yet. Returns the
    activity's id."""
    row = uow.repository(Activities).by_id(activity_id, lock=True)
    if row is None:
        raise NotFound("activity_not_found", activity_id=activity_id)
    if row.year != found_on.year:
        raise Invalid("activity_other_year", activity_id=activity_id, year=row.year)
    if row.done_on is None:
        row.done_on = found_on
    return row.id


def year_activities(uow: UnitOfWork, year: int) -> list[ActivityView]:
    """The activities of the year's plan, by date, with the findings of each."""
    with uow:
        return _views(uow, uow.repository(Activities).of_year(year))


def activities_between(uow: UnitOfWork, first: date, last: date) -> list[ActivityView]:
    """The activities planned from `first` to `last` (both included), with their findings."""
    with uow:
        return _views(uow, uow.repository(Activities).planned_between(first, last))


def upcoming_activities(uow: UnitOfWork, today: date, days: int = 7) -> list[ActivityView]:
    """The activities not yet done that are planned from `today` to `days` days later."""
    return [a for a in activities_between(uow, today, today + timedelta(days=days)) if not a.done]


# ---------------------------------------------------------------------------------------------
# The plan as a workbook


def _active_units(uow: UnitOfWork) -> list[Unit]:
    """The active units as the workbook sees them (towns first), in an open unit of work."""
    return [Unit(r.code, r.name, Group(r.group)) for r in uow.repository(YearUnits).rows()]


def activities_template(uow: UnitOfWork, year: int, language: str | None = None) -> bytes:
    """The empty supervision plan workbook of `year` (drop-down lists of the kinds and the active
    units) as bytes; the writer's temporary folder is gone when this returns."""
    with uow:
        units = _active_units(uow)
    with tempfile.TemporaryDirectory(prefix="kaohe-activities-") as folder:
        path = Path(folder) / "activities.xlsx"
        write_activities_template(year, path, units, language)
        return path.read_bytes()


def load_activity_workbook(
    uow: UnitOfWork, actor: Actor, year: int, content: bytes, name: str
) -> ActivityImport:
    """Read a filled-in supervision plan workbook (`InputError` listing every bad cell) and add
    its activities to the year's plan, all or nothing (see `import_activities`)."""
    require_role(actor, Role.COORDINATOR)
    with uow:
        units = _active_units(uow)
    with tempfile.TemporaryDirectory(prefix="kaohe-activities-") as folder:
        path = Path(folder) / (Path(name).name or "activities.xlsx")
        path.write_bytes(content)
        activities = read_activities(path, units, source=name)
    return import_activities(uow, actor, year, activities, name)
