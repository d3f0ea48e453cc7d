"""The dashboard's use cases (web/): who is signing in, one-time desk links, and the standings,
a unit, the report matrix and the findings as plain JSON-ready values.

Everything is computed by the services the bot uses (compute_standings, published_score,
year_matrix, year_findings, review_queue, year_report_bytes); this module only chooses what a
role may see and shapes it for a page. Roles are those of the bot: coordinators, admins and
leaders (viewers) see the standings and any unit; a liaison sees only their own unit, and only
once the year's standings are published; the report matrix and the findings are the
coordinators' (the findings a liaison's own unit's too); nobody changes anything here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from scoring import Group, Plan, Standings
from services.access import MANAGERS, Actor, Role, require_role
from services.errors import NotFound, Refused
from services.evidence import EvidenceFile, evidence_files
from services.findings import FindingView, RectificationView, review_queue, year_findings
from services.matrix import in_unit_order, year_matrix
from services.publications import latest_publication, published_score
from services.reports import ReportEntryView, report_history
from services.standings import as_of_day, compute_standings
from services.supervision_plan import year_activities
from services.unit_report import year_report_bytes
from storage.clock import as_utc
from storage.models import DashboardLink, Person
from storage.repositories.dashboard import DashboardLinks, DataVersion
from storage.repositories.people import People
from storage.repositories.publications import Publications
from storage.repositories.units import Units
from storage.unit_of_work import UnitOfWork

# A desk link is used at once or not at all; the session it starts lasts a working day.
LINK_LIFETIME = timedelta(minutes=10)
SESSION_LIFETIME = timedelta(hours=12)
TOKEN_BYTES = 24
# Who sees every unit's standings and explanation (as /standings and /unit in the bot).
VIEW_ROLES: frozenset[Role] = frozenset({Role.COORDINATOR, Role.ADMIN, Role.VIEWER})


@dataclass(frozen=True)
class DashboardUser:
    """Who is behind a dashboard request: the actor, their name, language and unit."""

    actor: Actor
    display_name: str
    language: str | None
    unit_code: str | None
    unit_name: str | None

    def to_json(self) -> dict[str, Any]:
        """What the page needs to know about its user."""
        return {
            "name": self.display_name,
            "role": self.actor.role.value,
            "unit": self.unit_code,
            "unit_name": self.unit_name,
            "language": self.language,
        }


@dataclass(frozen=True)
class IssuedLink:
    """A one-time link's token (shown once, stored only hashed) and when it expires."""

    token: str
    expires_at: datetime


def _user(person: Person | None) -> DashboardUser | None:
    if person is None or not person.active:
        return None
    unit = person.unit
    return DashboardUser(
        actor=Actor(person.id, Role(person.role), person.unit_id, person.display_name),
        display_name=person.display_name,
        language=person.language,
        unit_code=unit.code if unit is not None else None,
        unit_name=unit.name if unit is not None else None,
    )


def user_by_telegram_id(uow: UnitOfWork, telegram_user_id: int) -> DashboardUser | None:
    """The active person bound to a Telegram account (None: unknown or deactivated)."""
    with uow:
        return _user(uow.repository(People).by_telegram_user_id(telegram_user_id))


def user_by_person_id(uow: UnitOfWork, person_id: int) -> DashboardUser | None:
    """The active person with this id (None: unknown or deactivated since signing in)."""
    with uow:
        return _user(uow.repository(People).by_id(person_id))


def link_token_hash(token: str) -> str:
    """The SHA-256 (hex) of a link token: all that is stored of it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_dashboard_link(uow: UnitOfWork, actor: Actor) -> IssuedLink:
    """A one-time link into the dashboard for the person asking (10 minutes, used once)."""
    if actor.person_id is None:
        raise Refused("dashboard_needs_account")
    with uow:
        now = as_utc(uow.now())
        token = secrets.token_urlsafe(TOKEN_BYTES)
        row = uow.repository(DashboardLinks).add(
            DashboardLink(
                token_hash=link_token_hash(token),
                person_id=actor.person_id,
                created_at=now,
                expires_at=now + LINK_LIFETIME,
                used_at=None,
            )
        )
        uow.flush()
        uow.audit(
            actor.audit_name,
            "dashboard.link",
            "dashboard_link",
            row.id,
            None,
            {"expires_at": row.expires_at},
        )
        uow.commit()
        return IssuedLink(token, now + LINK_LIFETIME)


def login_url(base: str, token: str) -> str:
    """The address of a one-time link's sign-in page on the dashboard at `base`."""
    return f"{base.rstrip('/')}/login?token={token}"


def use_dashboard_link(uow: UnitOfWork, token: str) -> DashboardUser:
    """Use a one-time link: its person, if the link is unused, unexpired and they are active;
    `Refused("dashboard_link_invalid")` otherwise. The link is used up either way."""
    digest = link_token_hash(token.strip())
    with uow:
        now = as_utc(uow.now())
        links = uow.repository(DashboardLinks)
        link = links.usable(digest, now)
        # The conditional UPDATE decides between two concurrent uses.
        if link is None or not links.use(digest, now):
            raise Refused("dashboard_link_invalid")
        user = _user(uow.repository(People).by_id(link.person_id))
        if user is None:
            uow.commit()
            raise Refused("dashboard_link_invalid")
        uow.audit(
            user.actor.audit_name,
            "dashboard.sign_in",
            "dashboard_link",
            link.id,
            {"used_at": None},
            {"used_at": now},
        )
        uow.commit()
        return user


# ---------------------------------------------------------------------------------------------
# What the pages show


def _plain(value: Any) -> Any:
    """A dataclass tree as JSON values: enums by value, tuples as lists, non-finite as None."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _plan_meta(plan: Plan) -> dict[str, Any]:
    """What a page needs of the plan to label the standings."""
    return {
        "items": [{"code": i.code, "name": i.name, "points": i.points} for i in plan.work.items],
        "tiers": [b.name for b in plan.tiers.bands],
        "maximum": {g.value: plan.max_without_bonus(g) for g in Group},
        "development_points": plan.development.points,
        "timezone": plan.timezone,
    }


def _local(moment: datetime, timezone: str) -> str:
    return as_utc(moment).astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def _own_unit_code(uow: UnitOfWork, actor: Actor) -> str:
    if actor.unit_id is None:
        raise Refused("not_your_unit")
    with uow:
        code = uow.repository(Publications).unit_code(actor.unit_id)
    if code is None:
        raise Refused("not_your_unit")
    return code


@dataclass
class _Computed:
    """Standings shaped for the dashboard, and what they were computed from."""

    version: str
    day: date
    made: float
    value: dict[str, Any]


# The dashboard's standings, by (database, year, as-of day, the liaison's unit or None). A page
# of 2,000 units takes seconds to compute and is asked for again and again while nothing
# changes: it is computed once and served again while the stored facts are the same (the audit
# log's newest hash: every change is audited), on the same day, and for at most CACHE_SECONDS,
# so that a deadline passing (late and missing reports, overdue rectifications are derived from
# the clock) shows within that time. Callers must not change what they get.
CACHE_SECONDS = 300.0
_CACHE_SIZE = 4  # a year of 2,000 units is tens of MB as Python objects
_cache: dict[tuple[str, int, date | None, str | None], _Computed] = {}
_cache_lock = threading.Lock()


def data_version(uow: UnitOfWork) -> str:
    """What changes with every stored change (the audit log's newest hash)."""
    with uow:
        return uow.repository(DataVersion).current()


def standings_json(
    uow: UnitOfWork, actor: Actor, year: int, day: date | None = None
) -> dict[str, Any]:
    """The standings of `year` as `kaohe standings --json` gives them (`year`, `groups`), with
    `as_of`, `published` and the plan's labels: every unit's for coordinators and leaders (as
    of the end of `day`, or now); a liaison's own unit's row of the published standings only
    (`NotFound("standings_not_published")` before they are). Computed once while the stored
    facts stay the same (see CACHE_SECONDS); the answer is shared: do not change it."""
    if actor.role is not Role.LIAISON:
        require_role(actor, *VIEW_ROLES)
    scope = _own_unit_code(uow, actor) if actor.role is Role.LIAISON else None
    key = (uow.database.url, year, day, scope)
    version = data_version(uow)
    today = as_utc(uow.now()).date()
    with _cache_lock:
        hit = _cache.get(key)
    if (
        hit is not None
        and hit.version == version
        and hit.day == today
        and time.monotonic() - hit.made < CACHE_SECONDS
    ):
        return hit.value
    value = _standings_json(uow, actor, year, day)
    with _cache_lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.clear()
        _cache[key] = _Computed(version, today, time.monotonic(), value)
    return value


def _standings_json(
    uow: UnitOfWork, actor: Actor, year: int, day: date | None = None
) -> dict[str, Any]:
    if actor.role is Role.LIAISON:
        code = _own_unit_code(uow, actor)
        publication = latest_publication(uow, year)
        if publication is None:
            raise NotFound("standings_not_published", year=year)
        standings = compute_standings(uow, year, publication.as_of)
        out = standings.to_json()
        out["groups"] = {
            group: [e for e in entries if e["unit"] == code]
            for group, entries in out["groups"].items()
        }
        moment = publication.as_of
        published = True
    else:
        require_role(actor, *VIEW_ROLES)
        moment_or_none = as_of_day(uow, year, day) if day is not None else None
        standings = compute_standings(uow, year, moment_or_none)
        out = standings.to_json()
        moment = moment_or_none or as_utc(uow.now())
        published = latest_publication(uow, year) is not None
    out["as_of"] = _local(moment, standings.plan.timezone)
    out["published"] = published
    out["plan"] = _plan_meta(standings.plan)
    out["sizes"] = {g.value: standings.group_size(g) for g in Group}
    return out


# What a row of the standings table needs: every key of an entry but the per-indicator and
# per-item details (scoring.md section 6), which only a unit's page shows.
_DETAIL_KEYS = frozenset({"indicators", "items"})


def standings_table(full: dict[str, Any]) -> dict[str, Any]:
    """The standings of `standings_json` without each entry's per-indicator and per-item
    details: what the standings page draws (a twentieth of the size at 60 indicators)."""
    return {
        **full,
        "groups": {
            group: [{k: v for k, v in e.items() if k not in _DETAIL_KEYS} for e in entries]
            for group, entries in full["groups"].items()
        },
    }


def _explanation_json(standings: Standings, code: str) -> dict[str, Any]:
    try:
        explanation = standings.explain(code)
    except KeyError as exc:
        raise NotFound("unit_not_scored", unit=code, year=standings.plan.year) from exc
    return _plain(explanation)  # type: ignore[no-any-return]


def unit_json(uow: UnitOfWork, actor: Actor, year: int, code: str) -> dict[str, Any]:
    """One unit's explanation (every indicator, work item, the bonus; what /unit says) and,
    for coordinators, its findings of the year: any unit for coordinators and leaders; a
    liaison's own unit only (`Refused("not_your_unit")` otherwise), as published."""
    if actor.role is Role.LIAISON:
        if code != _own_unit_code(uow, actor):
            raise Refused("not_your_unit")
        score = published_score(uow, actor, year)
        if score is None:
            raise NotFound("standings_not_published", year=year)
        explanation = _plain(score.score.explanation)
        as_of = _local(score.publication.as_of, score.publication.timezone)
        findings = [_finding_json(f, as_utc(uow.now())) for f in year_findings(uow, actor, year)]
        return {"year": year, "as_of": as_of, "explanation": explanation, "findings": findings}
    require_role(actor, *VIEW_ROLES)
    standings = compute_standings(uow, year)
    explanation = _explanation_json(standings, code)
    out: dict[str, Any] = {
        "year": year,
        "as_of": _local(as_utc(uow.now()), standings.plan.timezone),
        "explanation": explanation,
        "plan": _plan_meta(standings.plan),
        "findings": [],
    }
    if actor.role in MANAGERS:
        now = as_utc(uow.now())
        out["findings"] = [
            _finding_json(f, now) for f in year_findings(uow, actor, year) if f.unit_code == code
        ]
    return out


def matrix_json(uow: UnitOfWork, actor: Actor, year: int) -> dict[str, Any]:
    """Units × months of `year`, each cell's report state now (on time, late, overdue,
    missing, not due yet; absent where the unit owes none), towns first (coordinators)."""
    require_role(actor, Role.COORDINATOR)
    matrix = year_matrix(uow, year)
    plan = matrix.plan
    rows: dict[int, dict[str, Any]] = {}
    for month in range(1, 13):
        for s in matrix.months[month]:
            row = rows.setdefault(
                s.unit_id,
                {"unit": s.unit_code, "name": s.unit_name, "group": s.group, "months": {}},
            )
            row["months"][str(month)] = {
                "state": s.state.value,
                "due": _local(s.due_at, plan.timezone),
                "submitted": (
                    _local(s.first_submitted_at, plan.timezone)
                    if s.first_submitted_at is not None
                    else None
                ),
                "version": s.latest_version,
                "receipt": s.latest_receipt,
            }
    every = [s for month in range(1, 13) for s in matrix.months[month]]
    ordered = dict.fromkeys(s.unit_id for s in in_unit_order(every))
    return {"year": year, "rows": [rows[unit_id] for unit_id in ordered]}


def month_report_json(
    uow: UnitOfWork, actor: Actor, year: int, code: str, month: int
) -> dict[str, Any]:
    """Every version of a unit's progress report of a month, with its entries and evidence
    ids, newest first: what a cell of the matrix opens (coordinators)."""
    require_role(actor, Role.COORDINATOR)
    with uow:
        unit = uow.repository(Units).by_key(code)
        if unit is None:
            raise NotFound("unit_not_found", unit=code)
        unit_id, name = unit.id, unit.name
    versions = report_history(uow, actor, unit_id, year, month)
    return {
        "year": year,
        "month": month,
        "unit": code,
        "name": name,
        "versions": [
            {
                "version": v.version,
                "receipt": v.receipt,
                "submitted": as_utc(v.submitted_at).isoformat(),
                "on_time": v.on_time,
                "entries": [_entry_json(e) for e in v.entries],
                "evidence": list(v.evidence_ids),
            }
            for v in reversed(versions)
        ],
    }


def _entry_json(e: ReportEntryView) -> dict[str, Any]:
    return {
        "task": e.task_code,
        "title": e.task_title,
        "status": e.status,
        "figure": e.figure,
        "note": e.note,
    }


def _finding_json(f: FindingView, now: datetime) -> dict[str, Any]:
    return {
        "id": f.id,
        "unit": f.unit_code,
        "unit_name": f.unit_name,
        "description": f.description,
        "source": f.source,
        "found_on": f.found_on.isoformat(),
        "deadline": f.deadline.isoformat(),
        "status": f.effective_status(now),
        "evidence": list(f.evidence_ids),
    }


def findings_json(uow: UnitOfWork, actor: Actor, year: int) -> dict[str, Any]:
    """The findings of `year` with their state now (open, overdue, submitted, returned,
    accepted) and evidence ids, and, for coordinators, the rectifications awaiting review."""
    findings = year_findings(uow, actor, year)
    now = as_utc(uow.now())
    awaiting: list[dict[str, Any]] = []
    if actor.is_manager:
        for item in review_queue(uow, actor):
            if isinstance(item, RectificationView):
                awaiting.append(
                    {
                        "id": item.id,
                        "finding": item.finding_id,
                        "unit_name": item.unit_name,
                        "finding_description": item.finding_description,
                        "text": item.text,
                        "receipt": item.receipt,
                        "on_time": item.on_time,
                        "submitted": as_utc(item.submitted_at).isoformat(),
                        "evidence": list(item.evidence_ids),
                    }
                )
    return {
        "year": year,
        "findings": [_finding_json(f, now) for f in findings],
        "awaiting_review": awaiting,
    }


def evidence_file(uow: UnitOfWork, actor: Actor, evidence_id: int) -> EvidenceFile:
    """An evidence file to show (coordinators and leaders only: a liaison's own files are in
    the chat already); `NotFound` if there is none with this id."""
    require_role(actor, *VIEW_ROLES)
    found = evidence_files(uow, [evidence_id])
    if not found:
        raise NotFound("evidence_not_found", evidence_id=evidence_id)
    return found[0]


def report_workbook(uow: UnitOfWork, actor: Actor, year: int, language: str) -> bytes:
    """The year's report workbook (as /export sends it) as bytes (slow: call it off the loop)."""
    require_role(actor, *VIEW_ROLES)
    return year_report_bytes(uow, year, language).content


def supervision_plan_json(uow: UnitOfWork, actor: Actor, year: int) -> dict[str, Any]:
    """The year's supervision plan (督导计划): each activity with its day, kind, focus, units
    (empty: every unit), whether it was done, and the findings named after it (coordinators
    and leaders, as the half-year supervision report)."""
    require_role(actor, Role.COORDINATOR, Role.VIEWER)
    activities = year_activities(uow, year)
    return {
        "year": year,
        "activities": [
            {
                "id": a.id,
                "planned_on": a.planned_on.isoformat(),
                "kind": a.kind.value,
                "focus": a.focus,
                "units": [{"code": code, "name": name} for code, name in a.units],
                "done_on": a.done_on.isoformat() if a.done_on is not None else None,
                "findings": [
                    {
                        "id": f.id,
                        "unit_name": f.unit_name,
                        "description": f.description,
                        "status": f.status,
                    }
                    for f in a.findings
                ],
            }
            for a in activities
        ],
    }
