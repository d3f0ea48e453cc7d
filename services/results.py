"""The year's result, from draft to approved to published (Art. 16: 领导小组审定).

A coordinator freezes the standings of a year as a draft result: every number (the JSON of
scoring.md §6), the plan and data versions it came from (plan version, values version, the last
audit entry: every change is one) and a SHA-256 of the numbers. An approver (a viewer marked so,
a leader of the Leading Group) approves the draft or returns it with remarks. Only an approved
result is published, as a publication of the year as of the draft's moment, so every unit's
report is computed from exactly the approved numbers (the standings of a moment never change:
history is kept). When the data change after a draft, the result is stale: the standings of now
no longer hash the same; the units whose total or rank moved are listed, and a stale result can
neither be approved nor published until a new draft is frozen.

Decisions: a new draft supersedes every earlier result of the year that was not published (a
published one stays what units saw, until the next publication); deciding and publishing act on
the newest result only. Quarterly (interim) publications are not results and stay as they are.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.access import Actor, Role, require_role
from services.errors import Invalid, NotFound, Refused
from services.plans import plan_in_force, require_year_open
from services.publications import PublicationView, publication_view
from services.standings import compute_standings
from storage.clock import as_utc
from storage.models import Person, Publication, YearClosure, YearResult
from storage.repositories.people import People
from storage.repositories.plans import Plans
from storage.repositories.publications import Publications
from storage.repositories.results import YearClosures, YearResults
from storage.repositories.year_data import ValueSets
from storage.statuses import ResultStatus
from storage.unit_of_work import UnitOfWork

# Remarks of a returned draft are kept to this many characters.
REMARKS_LIMIT = 2000


@dataclass(frozen=True)
class ResultView:
    """A year's result as stored (without the numbers; `units` says how many it ranks)."""

    id: int
    year: int
    version: int
    status: ResultStatus
    as_of: datetime
    plan_version: int
    data_versions: dict[str, Any]
    snapshot_hash: str
    units: int
    drafted_at: datetime
    decided_at: datetime | None
    remarks: str | None
    publication_id: int | None
    timezone: str


@dataclass(frozen=True)
class Movement:
    """A unit whose total or rank is not what the result says (None: not in one of them)."""

    unit: str
    name: str
    group: str
    rank_then: int | None
    rank_now: int | None
    total_then: float | None
    total_now: float | None


@dataclass(frozen=True)
class ResultState:
    """The newest result of a year, and whether the data have changed since (`moved`)."""

    result: ResultView
    stale: bool
    moved: list[Movement]


@dataclass(frozen=True)
class Contact:
    """Someone to tell in the bot: their Telegram id and name."""

    person_id: int
    telegram_user_id: int
    name: str


def snapshot_hash(snapshot: dict[str, Any]) -> str:
    """The SHA-256 of the numbers, over their canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _view(row: YearResult, timezone: str) -> ResultView:
    groups = row.snapshot.get("groups", {})
    units = sum(len(v) for v in groups.values()) if isinstance(groups, dict) else 0
    return ResultView(
        id=row.id,
        year=row.year,
        version=row.version,
        status=ResultStatus(row.status),
        as_of=as_utc(row.as_of),
        plan_version=row.plan_version,
        data_versions=dict(row.data_versions),
        snapshot_hash=row.snapshot_hash,
        units=units,
        drafted_at=as_utc(row.drafted_at),
        decided_at=as_utc(row.decided_at) if row.decided_at is not None else None,
        remarks=row.remarks,
        publication_id=row.publication_id,
        timezone=timezone,
    )


def _audit_data(row: YearResult) -> dict[str, object]:
    return {
        "year": row.year,
        "version": row.version,
        "status": row.status,
        "hash": row.snapshot_hash,
        "remarks": row.remarks,
        "publication_id": row.publication_id,
    }


def _entries(snapshot: dict[str, Any]) -> dict[str, tuple[str, str, int, float]]:
    """unit code -> (name, group, rank, total) of a snapshot."""
    found: dict[str, tuple[str, str, int, float]] = {}
    for group, entries in snapshot.get("groups", {}).items():
        for e in entries:
            found[e["unit"]] = (e["name"], group, int(e["rank"]), float(e["total"]))
    return found


def movements(then: dict[str, Any], now: dict[str, Any]) -> list[Movement]:
    """The units whose rank or total (to the cent people read) differs between two snapshots."""
    before, after = _entries(then), _entries(now)
    moved = []
    for code in list(before) + [c for c in after if c not in before]:
        b, a = before.get(code), after.get(code)
        if b is not None and a is not None and b[2] == a[2] and round(b[3], 2) == round(a[3], 2):
            continue
        name, group = (a or b)[0], (a or b)[1]  # type: ignore[index]
        moved.append(
            Movement(
                code,
                name,
                group,
                b[2] if b else None,
                a[2] if a else None,
                b[3] if b else None,
                a[3] if a else None,
            )
        )
    return moved


def _current_numbers(uow: UnitOfWork, year: int, moment: datetime) -> dict[str, Any]:
    return compute_standings(uow.snapshot(), year, moment).to_json()


def freeze_result(uow: UnitOfWork, actor: Actor, year: int) -> ResultView:
    """A coordinator freezes the standings of `year` as of now as a new draft result."""
    require_role(actor, Role.COORDINATOR)
    moment = as_utc(uow.now())
    # The versions first, then the numbers as of the same moment: a change meanwhile is
    # newer than both, so the result is then simply stale.
    with uow.snapshot() as snapshot:
        plan_row = snapshot.repository(Plans).current(year)
        if plan_row is None:
            raise NotFound("no_plan", year=year)
        values = snapshot.repository(ValueSets).latest(year, moment)
        versions: dict[str, object] = {
            "plan": plan_row.version,
            "values": values.version if values is not None else None,
            "audit": snapshot.repository(YearResults).last_audit_id(),
        }
    numbers = _current_numbers(uow, year, moment)
    with uow:
        require_year_open(uow, year)
        timezone = plan_in_force(uow, year).timezone
        results = uow.repository(YearResults)
        for older in results.of_year(year):
            if older.status in (ResultStatus.DRAFT, ResultStatus.RETURNED, ResultStatus.APPROVED):
                before = _audit_data(older)
                older.status = ResultStatus.SUPERSEDED
                after = _audit_data(older)
                uow.audit(actor.audit_name, "result.supersede", "result", older.id, before, after)
        row = results.add(
            YearResult(
                year=year,
                version=results.next_version(year),
                status=ResultStatus.DRAFT,
                as_of=moment,
                plan_version=int(plan_row.version),
                data_versions=versions,
                snapshot=numbers,
                snapshot_hash=snapshot_hash(numbers),
                drafted_at=moment,
                drafted_by=actor.person_id,
            )
        )
        uow.flush()
        uow.audit(actor.audit_name, "result.draft", "result", row.id, None, _audit_data(row))
        uow.commit()
        return _view(row, timezone)


def _approver(uow: UnitOfWork, actor: Actor) -> Person:
    person = uow.repository(People).by_id(actor.person_id) if actor.person_id is not None else None
    if person is None or not person.active or not person.approver:
        raise Refused("result_not_an_approver")
    return person


def decide_result(
    uow: UnitOfWork, actor: Actor, year: int, approve: bool, remarks: str | None = None
) -> ResultView:
    """An approver approves the newest draft of `year`, or returns it with remarks."""
    text = " ".join((remarks or "").split())[:REMARKS_LIMIT] or None
    if not approve and text is None:
        raise Invalid("result_remarks_needed")
    with uow:
        _approver(uow, actor)
        require_year_open(uow, year)
        row = _newest(uow, year)
        if row.status != ResultStatus.DRAFT:
            raise Invalid("result_not_a_draft", year=year, status=row.status)
        numbers, row_id = dict(row.snapshot), row.id
    if approve and movements(numbers, _current_numbers(uow, year, as_utc(uow.now()))):
        raise Invalid("result_stale", year=year)
    with uow:
        row = _newest(uow, year, lock=True)
        if row.id != row_id or row.status != ResultStatus.DRAFT:
            raise Invalid("result_not_a_draft", year=year, status=row.status)
        before = _audit_data(row)
        row.status = ResultStatus.APPROVED if approve else ResultStatus.RETURNED
        row.decided_at = uow.now()
        row.decided_by = actor.person_id
        row.remarks = text
        action = "result.approve" if approve else "result.return"
        uow.audit(actor.audit_name, action, "result", row.id, before, _audit_data(row))
        timezone = plan_in_force(uow, year).timezone
        uow.commit()
        return _view(row, timezone)


def publish_result(uow: UnitOfWork, actor: Actor, year: int) -> PublicationView:
    """A coordinator publishes the approved result of `year`: a publication of the year as of
    the result's moment, so every unit's report shows exactly the approved numbers."""
    require_role(actor, Role.COORDINATOR)
    with uow:
        require_year_open(uow, year)
        row = _newest(uow, year)
        if row.status != ResultStatus.APPROVED:
            raise Invalid("result_not_approved", year=year, status=row.status)
        numbers, row_id = dict(row.snapshot), row.id
    if movements(numbers, _current_numbers(uow, year, as_utc(uow.now()))):
        raise Invalid("result_stale", year=year)
    with uow:
        row = _newest(uow, year, lock=True)
        if row.id != row_id or row.status != ResultStatus.APPROVED:
            raise Invalid("result_not_approved", year=year, status=row.status)
        timezone = plan_in_force(uow, year).timezone
        now = as_utc(uow.now())
        publication = uow.repository(Publications).add(
            Publication(
                year=year,
                period="year",
                as_of=as_utc(row.as_of),
                published_at=now,
                published_by=actor.person_id,
                withdrawn_at=None,
            )
        )
        uow.flush()
        uow.audit(
            actor.audit_name,
            "standings.publish",
            "publication",
            publication.id,
            None,
            {"year": year, "period": "year", "as_of": as_utc(row.as_of), "result_id": row.id},
        )
        before = _audit_data(row)
        row.status = ResultStatus.PUBLISHED
        row.publication_id = publication.id
        row.published_at = now
        uow.audit(actor.audit_name, "result.publish", "result", row.id, before, _audit_data(row))
        uow.commit()
        return publication_view(publication, timezone)


def _newest(uow: UnitOfWork, year: int, lock: bool = False) -> YearResult:
    row = uow.repository(YearResults).latest(year, lock=lock)
    if row is None:
        raise NotFound("result_none", year=year)
    return row


def result_state(uow: UnitOfWork, year: int) -> ResultState | None:
    """The newest result of `year` and what moved since it was frozen; None without one."""
    with uow:
        row = uow.repository(YearResults).latest(year)
        if row is None:
            return None
        view = _view(row, plan_in_force(uow, year).timezone)
        numbers = dict(row.snapshot)
    moved = movements(numbers, _current_numbers(uow, year, as_utc(uow.now())))
    return ResultState(view, bool(moved), moved)


def year_results(uow: UnitOfWork, year: int) -> list[ResultView]:
    """Every result of `year`, newest first."""
    with uow:
        rows = uow.repository(YearResults).of_year(year)
        if not rows:
            return []
        timezone = plan_in_force(uow, year).timezone
        return [_view(r, timezone) for r in rows]


def result_numbers(uow: UnitOfWork, result_id: int) -> dict[str, Any]:
    """The frozen numbers of a result (the JSON of scoring.md §6)."""
    with uow:
        row = uow.repository(YearResults).by_id(result_id)
        if row is None:
            raise NotFound("result_none", year=None)
        return dict(row.snapshot)


def set_approver(uow: UnitOfWork, actor: Actor, person_id: int, approver: bool) -> str:
    """An admin or coordinator marks a viewer (a leader) as an approver, or unmarks them;
    the person's display name is returned."""
    require_role(actor, Role.COORDINATOR)
    with uow:
        person = uow.repository(People).by_id(person_id)
        if person is None or not person.active:
            raise NotFound("unknown_person", person=person_id)
        if approver and person.role != Role.VIEWER:
            raise Invalid("result_approver_not_viewer", name=person.display_name)
        if person.approver != approver:
            person.approver = approver
            uow.audit(
                actor.audit_name,
                "person.approver",
                "person",
                person.id,
                {"approver": not approver},
                {"approver": approver},
            )
            uow.commit()
        return person.display_name


def approver_contacts(uow: UnitOfWork) -> list[Contact]:
    """The approvers the bot can reach."""
    with uow:
        return [
            Contact(p.id, p.telegram_user_id, p.display_name)
            for p in uow.repository(YearResults).approvers()
            if p.telegram_user_id is not None
        ]


def coordinator_contacts(uow: UnitOfWork) -> list[Contact]:
    """The coordinators (and admins) the bot can reach, told of an approver's decision."""
    with uow:
        people = uow.repository(YearResults).people_with_roles(
            (Role.COORDINATOR.value, Role.ADMIN.value)
        )
        return [
            Contact(p.id, p.telegram_user_id, p.display_name)
            for p in people
            if p.telegram_user_id is not None
        ]


def is_approver(uow: UnitOfWork, actor: Actor) -> bool:
    """Whether the actor is an active approver."""
    with uow:
        try:
            _approver(uow, actor)
        except Refused:
            return False
        return True


@dataclass(frozen=True)
class ClosedYear:
    """A closed year: when, by whom (None: the operator) and from which published result."""

    year: int
    closed_at: datetime
    closed_by: int | None
    result_version: int


def close_year(uow: UnitOfWork, actor: Actor, year: int) -> ClosedYear:
    """An admin closes `year` once its newest result is published: from then on every service
    refuses to change anything of it, and everything of it stays readable."""
    require_role(actor, Role.ADMIN)
    with uow:
        closures = uow.repository(YearClosures)
        if closures.of_year(year) is not None:
            raise Invalid("year_already_closed", year=year)
        row = uow.repository(YearResults).latest(year, lock=True)
        if row is None or row.status != ResultStatus.PUBLISHED:
            raise Invalid("year_close_unpublished", year=year)
        closure = closures.add(
            YearClosure(
                year=year, result_id=row.id, closed_at=uow.now(), closed_by=actor.person_id
            )
        )
        uow.flush()
        uow.audit(
            actor.audit_name,
            "year.close",
            "year",
            year,
            None,
            {"year": year, "result_id": row.id, "result_version": row.version},
        )
        uow.commit()
        return ClosedYear(year, as_utc(closure.closed_at), closure.closed_by, row.version)
