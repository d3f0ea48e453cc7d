"""Reminders that are never lost and never doubled: planned as rows from the deadlines,
claimed by one scheduler before they are sent, folded into one catch-up message when stale.

The ladder of a deadline day D (the plan's time zone): a reminder `remind_days_before` days
before D (0 = on the day), then an overdue notice on each of the `overdue_notice_days` days
after D; from `escalate_after_days` days after D the coordinators are told, once a day, which
units are overdue; every morning they get a digest. Each goes out at the plan's `send_at`
(`digest_at` for the digest), moved to the end of the quiet hours if it falls inside them.

`plan_reminders` is idempotent: a row is unique per (kind, target, person, local day), and rows
that no longer apply (the unit submitted, an extension moved the deadline) are skipped.
`due_reminders` claims what is due with an UPDATE ... WHERE status = 'pending' (and SKIP LOCKED
on PostgreSQL), so two schedulers racing on one database never get the same row. A claim whose
scheduler died before reporting back is released after `CLAIM_LEASE`, so a crash between the
claim and Telegram's answer can repeat that one message rather than lose it.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from scoring.calendar import MonthState, local_date, report_due_date
from scoring.plan import Plan, Schedule
from services.access import Actor, Role, require_role
from services.errors import Invalid, NotFound
from services.peer import DONE, RoundStatus, open_statuses_in, round_status
from services.plans import closed_years_in, plan_in_force_or_none
from services.reports import report_status
from storage.clock import as_utc
from storage.models import ExtensionRequest
from storage.repositories.findings import Findings
from storage.repositories.plans import Plans
from storage.repositories.reminders import (
    CLAIMED,
    FAILED,
    PENDING,
    SENT,
    SKIPPED,
    Contact,
    ReminderKey,
    Reminders,
)
from storage.repositories.supervision_plan import Activities
from storage.repositories.year_data import YearUnits
from storage.statuses import ReminderKind
from storage.unit_of_work import UnitOfWork

# Short names of the kinds (ReminderKind), as this module, the jobs and the tests use them.
REPORT_DUE = ReminderKind.REPORT_DUE
REPORT_OVERDUE = ReminderKind.REPORT_OVERDUE
FINDING_DUE = ReminderKind.FINDING_DUE
FINDING_OVERDUE = ReminderKind.FINDING_OVERDUE
ESCALATION = ReminderKind.ESCALATION
DIGEST = ReminderKind.DIGEST
UNREACHABLE = ReminderKind.UNREACHABLE
CATCH_UP = ReminderKind.CATCH_UP
# The peer rating (互评): the notice that a round is open, the ladder of its vote-by day, and a
# reminder a coordinator asks for; each to the liaisons of units that still have cards to vote.
PEER_OPEN = ReminderKind.PEER_OPEN
PEER_DUE = ReminderKind.PEER_DUE
PEER_OVERDUE = ReminderKind.PEER_OVERDUE
PEER_REMIND = ReminderKind.PEER_REMIND
PEER_NOTICES = (PEER_OPEN, PEER_REMIND)
LADDER_KINDS = (REPORT_DUE, REPORT_OVERDUE, FINDING_DUE, FINDING_OVERDUE, PEER_DUE, PEER_OVERDUE)
# An activity of the supervision plan: the coordinators are told the day before (at send time).
ACTIVITY_UPCOMING = ReminderKind.ACTIVITY_UPCOMING

CLAIM_LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 4
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15))
# Report months looked at: a month's report deadline further back than this is not reminded
# (an extension that long is not expected; the month is closed long before).
REPORT_LOOKBACK_DAYS = 92
DIGEST_WEEK = 7


def new_scheduler_id() -> str:
    """A name for one running scheduler, unique across restarts and machines."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# --- time -------------------------------------------------------------------------------------


def _hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def in_quiet_hours(moment: datetime, plan: Plan) -> bool:
    """Whether `moment` falls in the plan's quiet hours (its time zone)."""
    start, end = (_hhmm(t) for t in plan.schedule.quiet_hours)
    local = as_utc(moment).astimezone(ZoneInfo(plan.timezone)).time()
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def send_time(day: date, at: str, plan: Plan) -> datetime:
    """When something of local `day` planned for `at` goes out, in UTC: moved to the end of
    the quiet hours when it falls inside them."""
    zone = ZoneInfo(plan.timezone)
    local = datetime.combine(day, _hhmm(at), tzinfo=zone)
    if not in_quiet_hours(local, plan):
        return local.astimezone(UTC)
    start, end = (_hhmm(t) for t in plan.schedule.quiet_hours)
    end_day = day + timedelta(days=1) if start > end and local.time() >= start else day
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(UTC)


# --- what the deadlines say -------------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    """A report or finding a unit still owes, with its (extended) deadline day."""

    what: str  # report | finding | peer
    target: str
    unit_id: int
    unit_name: str
    deadline: date
    plan: Plan
    params: dict[str, Any]

    def days_late(self, today: date) -> int:
        """Days past the deadline day (0 or less: not late)."""
        return (today - self.deadline).days


@dataclass
class _Plans:
    """Plans by year, each parsed once per call."""

    uow: UnitOfWork
    known: dict[int, Plan | None] = field(default_factory=dict)
    closed: set[int] | None = None

    def closed_years(self) -> set[int]:
        """The closed years: nothing of them is owed any more, so nothing is reminded."""
        if self.closed is None:
            self.closed = set(closed_years_in(self.uow))
        return self.closed

    def __call__(self, year: int) -> Plan | None:
        if year in self.closed_years():
            return None
        if year not in self.known:
            self.known[year] = plan_in_force_or_none(self.uow, year)
        return self.known[year]

    def ruling(self, now: datetime) -> Plan | None:
        """The plan whose schedule rules `now`: this year's, else the latest loaded."""
        years = [y for y in self.uow.repository(Plans).years() if y not in self.closed_years()]
        if not years:
            return None
        plan = self(now.year)
        if plan is not None:
            return self(local_date(now, plan.timezone).year) or plan
        earlier = [y for y in years if y <= now.year]
        return self(max(earlier) if earlier else min(years))


def _open_deadlines(uow: UnitOfWork, plans: _Plans, now: datetime) -> list[Deadline]:
    """Every report and finding that units still owe, whose reminders may matter now."""
    out: list[Deadline] = []
    repo = uow.repository(Reminders)
    for year in (now.year - 1, now.year):
        plan = plans(year)
        if plan is None:
            continue
        today = local_date(now, plan.timezone)
        horizon = today + timedelta(days=max(plan.schedule.remind_days_before) + 1)
        for month in range(1, 13):
            base = report_due_date(year, month, plan.schedule.monthly_report_due_day)
            if base > horizon or (today - base).days > REPORT_LOOKBACK_DAYS:
                continue
            for status in report_status(uow, year, month, plan=plan):
                if status.state not in (MonthState.NOT_DUE_YET, MonthState.OVERDUE):
                    continue
                out.append(
                    Deadline(
                        "report",
                        f"report:{year}-{month:02d}:{status.unit_id}",
                        status.unit_id,
                        status.unit_name,
                        status.due_on,
                        plan,
                        {"year": year, "month": month},
                    )
                )
    findings = repo.unsettled_findings()
    names = repo.unit_names(f.unit_id for f in findings)
    for finding in findings:
        if finding.year in plans.closed_years():
            continue
        plan = plans(finding.year) or plans.ruling(now)
        if plan is None:
            continue
        out.append(
            Deadline(
                "finding",
                f"finding:{finding.id}",
                finding.unit_id,
                names.get(finding.unit_id, ""),
                finding.deadline,
                plan,
                {"finding_id": finding.id, "description": finding.description[:200]},
            )
        )
    return out


def peer_target(round_id: int, unit_id: int) -> str:
    """The reminder target of a unit's cards in a peer rating round."""
    return f"peer:{round_id}:{unit_id}"


@dataclass(frozen=True)
class _PeerNotice:
    """A unit that still has cards to vote in an open round: told once that it is open."""

    target: str
    unit_id: int
    day: date  # the local day the round was opened
    plan: Plan
    params: dict[str, Any]


def _peer_params(status: RoundStatus) -> dict[str, Any]:
    view = status.round
    return {
        "year": view.year,
        "group": view.group,
        "vote_by": view.vote_by.isoformat() if view.vote_by else None,
        "items": [name for _, name in view.items],
    }


def _peer_owing(
    uow: UnitOfWork, plans: _Plans
) -> tuple[list[Deadline], list[_PeerNotice], set[str]]:
    """Per open peer round, the units with cards left to vote: the vote-by ladder of each
    (rounds with a vote-by day), the notice that the round is open, and their targets."""
    deadlines: list[Deadline] = []
    notices: list[_PeerNotice] = []
    owing: set[str] = set()
    for status in open_statuses_in(uow):
        view = status.round
        plan = plans(view.year)
        if plan is None or not view.items:
            continue
        params = _peer_params(status)
        opened = local_date(view.opened_at, plan.timezone)
        for unit in status.units:
            if unit.state == DONE or unit.cards == 0:
                continue
            target = peer_target(view.id, unit.unit_id)
            owing.add(target)
            notices.append(_PeerNotice(target, unit.unit_id, opened, plan, params))
            if view.vote_by is not None:
                deadlines.append(
                    Deadline(
                        "peer", target, unit.unit_id, unit.unit_name, view.vote_by, plan, params
                    )
                )
    return deadlines, notices, owing


def ladder(item: Deadline) -> list[tuple[ReminderKind, date, dict[str, Any]]]:
    """The (kind, day, params) of every reminder of a deadline."""
    schedule: Schedule = item.plan.schedule
    due_kind, overdue_kind = {
        "report": (REPORT_DUE, REPORT_OVERDUE),
        "peer": (PEER_DUE, PEER_OVERDUE),
    }.get(item.what, (FINDING_DUE, FINDING_OVERDUE))
    base = {**item.params, "unit": item.unit_name, "deadline": item.deadline.isoformat()}
    out = [
        (due_kind, item.deadline - timedelta(days=k), {**base, "days": k})
        for k in schedule.remind_days_before
    ]
    out += [
        (overdue_kind, item.deadline + timedelta(days=k), {**base, "days": k})
        for k in range(1, schedule.overdue_notice_days + 1)
    ]
    return out


def _escalated(items: list[Deadline], now: datetime) -> list[Deadline]:
    """What has been overdue for the plan's `escalate_after_days` or more."""
    return [
        i
        for i in items
        if i.days_late(local_date(now, i.plan.timezone))
        >= max(1, i.plan.schedule.escalate_after_days)
    ]


# --- planning ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanningSummary:
    """What one planning pass did."""

    created: int
    skipped: int


def _row(
    kind: str,
    target: str,
    who: Contact,
    day: date,
    at: datetime,
    params: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "target": target,
        "person_id": who.person_id,
        "telegram_user_id": who.telegram_user_id,
        "due_on": day,
        "due_at": at,
        "send_after": at,
        "params": params,
        "status": PENDING,
        "attempts": 0,
        "created_at": now,
    }


def plan_reminders(uow: UnitOfWork) -> PlanningSummary:
    """Create the reminder rows the deadlines call for and skip pending ones that no longer
    apply; safe to run again at any time (and by two schedulers at once).

    The deadlines are worked out from a read-only snapshot (with a large district that takes
    seconds); only the inserts and skips take the write lock, in a short transaction."""
    with uow.snapshot() as snapshot:
        now = as_utc(snapshot.now())
        plans = _Plans(snapshot)
        ruling = plans.ruling(now)
        if ruling is None:
            # No plan in force (none loaded, or every year closed): nothing is owed any more.
            return _skip_owed(uow)
        repo = snapshot.repository(Reminders)
        items = _open_deadlines(snapshot, plans, now)
        peer_deadlines, peer_notices, peer_owing = _peer_owing(snapshot, plans)
        deadlines = [*items, *peer_deadlines]
        liaisons = repo.liaisons(
            [*(i.unit_id for i in deadlines), *(n.unit_id for n in peer_notices)]
        )
        wanted: set[ReminderKey] = set()
        rows: dict[ReminderKey, dict[str, Any]] = {}
        for notice in peer_notices:
            # Opened after the day's send time, or a liaison who joined later: told now.
            at = max(send_time(notice.day, notice.plan.schedule.send_at, notice.plan), now)
            for who in liaisons[notice.unit_id]:
                key = ReminderKey(PEER_OPEN, notice.target, who.person_id, notice.day)
                rows[key] = _row(PEER_OPEN, notice.target, who, notice.day, at, notice.params, now)
        for item in deadlines:
            stale = timedelta(hours=item.plan.schedule.stale_after_hours)
            for kind, day, params in ladder(item):
                at = send_time(day, item.plan.schedule.send_at, item.plan)
                for who in liaisons[item.unit_id]:
                    key = ReminderKey(kind, item.target, who.person_id, day)
                    wanted.add(key)
                    # A reminder that fell due long ago (before the bot first ran, or while
                    # it was down without a row) is not created: a newer one says the same.
                    if at >= now - stale:
                        rows[key] = _row(kind, item.target, who, day, at, params, now)
        today = local_date(now, ruling.timezone)
        coordinators = repo.coordinators()
        # The escalation (units overdue past escalate_after_days) is part of the morning
        # digest: one message a day, counts first, the list of units behind its button.
        for day in (today, today + timedelta(days=1)):
            digest_at = send_time(day, ruling.schedule.digest_at, ruling)
            for who in coordinators:
                key = ReminderKey(DIGEST, DIGEST, who.person_id, day)
                rows[key] = _row(DIGEST, DIGEST, who, day, digest_at, {}, now)
        activity_rows = _activity_rows(snapshot, ruling, coordinators, today, now)
        rows.update(activity_rows)
        activity_targets = {k.target for k in activity_rows}
    oldest = min((k.due_on for k in rows), default=today)
    with uow:
        repo = uow.repository(Reminders)
        existing = repo.keys_since(oldest)
        created = repo.add_missing([r for k, r in rows.items() if k not in existing])
        gone = [
            r.id
            for r in repo.pending()
            if (
                # Escalations planned before they joined the digest are never wanted.
                (r.kind in LADDER_KINDS or r.kind == ESCALATION)
                and ReminderKey(r.kind, r.target, r.person_id, r.due_on) not in wanted
            )
            # A unit that has voted all its cards, or a round closed, needs no more telling.
            or (r.kind in PEER_NOTICES and r.target not in peer_owing)
            # Nor does an activity already done (or moved out of the coming days).
            or (r.kind == ACTIVITY_UPCOMING and r.target not in activity_targets)
        ]
        skipped = repo.skip(gone, "no_longer_due")
        uow.commit()
        return PlanningSummary(created, skipped)


def _skip_owed(uow: UnitOfWork) -> PlanningSummary:
    """Skip every pending reminder of something owed (reports, findings, peer votes,
    activities): without a plan in force, none of them applies."""
    owed = {*LADDER_KINDS, *PEER_NOTICES, ESCALATION, ACTIVITY_UPCOMING}
    with uow:
        repo = uow.repository(Reminders)
        skipped = repo.skip([r.id for r in repo.pending() if r.kind in owed], "no_longer_due")
        uow.commit()
        return PlanningSummary(0, skipped)


def _activity_rows(
    uow: UnitOfWork, plan: Plan, coordinators: list[Contact], today: date, now: datetime
) -> dict[ReminderKey, dict[str, Any]]:
    """The reminders of the supervision plan's activities of today and tomorrow not yet done:
    one per coordinator, due the day before (told at once when added later than that)."""
    rows: dict[ReminderKey, dict[str, Any]] = {}
    activities = uow.repository(Activities).planned_between(today, today + timedelta(days=1))
    names = {u.id: u.name for u in uow.repository(YearUnits).rows(include_inactive=True)}
    for activity in activities:
        if activity.done_on is not None:
            continue
        day = activity.planned_on - timedelta(days=1)
        at = max(send_time(day, plan.schedule.send_at, plan), now)
        params = {
            "activity_id": activity.id,
            "day": activity.planned_on.isoformat(),
            "kind": activity.kind,
            "focus": activity.focus,
            "units": [names[i] for i in activity.unit_ids if i in names],
        }
        target = f"activity:{activity.id}"
        for who in coordinators:
            key = ReminderKey(ACTIVITY_UPCOMING, target, who.person_id, day)
            rows[key] = _row(ACTIVITY_UPCOMING, target, who, day, at, params, now)
    return rows


# --- claiming ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """One message to send: a reminder, a digest, an escalation, or a catch-up folding
    several stale reminders; `ids` are the reminder rows it settles."""

    ids: tuple[int, ...]
    kind: ReminderKind
    person_id: int
    telegram_user_id: int
    language: str | None
    params: dict[str, Any]
    items: tuple[tuple[str, dict[str, Any]], ...] = ()  # a catch-up's (kind, params)


def due_reminders(uow: UnitOfWork, scheduler_id: str, limit: int = 100) -> list[Outgoing]:
    """Claim the reminders due now for `scheduler_id` and say what to send (nothing during
    quiet hours); stale ones are folded per person into one catch-up message."""
    with uow:
        now = as_utc(uow.now())
        plans = _Plans(uow)
        ruling = plans.ruling(now)
        if ruling is None or in_quiet_hours(now, ruling):
            return []
        repo = uow.repository(Reminders)
        repo.release_expired(now - CLAIM_LEASE)
        claimed = repo.claim(now, scheduler_id, limit)
        uow.commit()
        if not claimed:
            return []
        stale_before = now - timedelta(hours=ruling.schedule.stale_after_hours)
        contacts = repo.contacts(r.person_id for r in claimed)
        out: list[Outgoing] = []
        skip: dict[str, list[int]] = defaultdict(list)
        folded: dict[int, list[Any]] = defaultdict(list)
        summary: _Summary | None = None
        for row in claimed:
            who = contacts[row.person_id]
            stale = as_utc(row.due_at) < stale_before
            if row.kind in (DIGEST, ESCALATION):
                if stale:
                    skip["stale"].append(row.id)
                    continue
                summary = summary or _summary(uow, plans, now)
                params = summary.digest() if row.kind == DIGEST else summary.escalation()
                if params is None:
                    skip["nothing_to_say"].append(row.id)
                    continue
            elif stale and row.kind in LADDER_KINDS:
                folded[row.person_id].append(row)
                continue
            else:
                params = dict(row.params)
            out.append(
                Outgoing(
                    (row.id,), row.kind, who.person_id, row.telegram_user_id, who.language, params
                )
            )
        for person_id, rows in folded.items():
            # Only the newest reminder of each target still matters.
            latest: dict[str, Any] = {}
            for row in sorted(rows, key=lambda r: (as_utc(r.due_at), r.id)):
                if row.target in latest:
                    skip["superseded"].append(latest[row.target].id)
                latest[row.target] = row
            kept = list(latest.values())
            who = contacts[person_id]
            out.append(
                Outgoing(
                    tuple(r.id for r in kept),
                    CATCH_UP,
                    person_id,
                    kept[0].telegram_user_id,
                    who.language,
                    {"count": len(kept)},
                    tuple((r.kind, dict(r.params)) for r in kept),
                )
            )
        for reason, ids in skip.items():
            repo.finish(ids, scheduler_id, status=SKIPPED, error=reason)
        uow.commit()
        return out


@dataclass(frozen=True)
class _Summary:
    """The district's state for the coordinators' digest and escalation."""

    due_reports: int
    due_findings: int
    overdue: list[Deadline]
    escalated: list[Deadline]
    review: int
    today: date
    escalate_after_days: int = 3

    def digest(self) -> dict[str, Any] | None:
        """Counts only: the overdue units are listed once, behind the digest's button."""
        if not (self.due_reports or self.due_findings or self.overdue or self.review):
            return None
        return {
            "due_reports": self.due_reports,
            "due_findings": self.due_findings,
            "review": self.review,
            "overdue": len(self.overdue),
            "overdue_reports": sum(1 for i in self.overdue if i.what == "report"),
            "overdue_findings": sum(1 for i in self.overdue if i.what == "finding"),
            "overdue_units": len({i.unit_id for i in self.overdue}),
            "escalated": len(self.escalated),
            "escalated_units": len({i.unit_id for i in self.escalated}),
            "escalate_after_days": self.escalate_after_days,
        }

    def details(self) -> list[dict[str, Any]]:
        """The overdue items by unit: the longest overdue first, escalated units marked."""
        by_unit: dict[int, list[Deadline]] = defaultdict(list)
        for item in self.overdue:
            by_unit[item.unit_id].append(item)
        escalated = {i.unit_id for i in self.escalated}
        units = [
            {
                "unit": items[0].unit_name,
                "escalated": unit_id in escalated,
                "days": max(i.days_late(self.today) for i in items),
                "items": [_line(i, self.today) for i in items],
            }
            for unit_id, items in by_unit.items()
        ]
        return sorted(units, key=lambda u: (-u["days"], u["unit"]))

    def escalation(self) -> dict[str, Any] | None:
        if not self.escalated:
            return None
        return {"overdue": [_line(i, self.today) for i in self.escalated]}


def _line(item: Deadline, today: date) -> dict[str, Any]:
    return {
        **item.params,
        "what": item.what,
        "unit": item.unit_name,
        "days": item.days_late(today),
    }


def _summary(uow: UnitOfWork, plans: _Plans, now: datetime) -> _Summary:
    ruling = plans.ruling(now)
    assert ruling is not None
    today = local_date(now, ruling.timezone)
    items = _open_deadlines(uow, plans, now)
    week = today + timedelta(days=DIGEST_WEEK - 1)
    due = [i for i in items if today <= i.deadline <= week]
    overdue = sorted(
        (i for i in items if i.deadline < today), key=lambda i: (i.deadline, i.target)
    )
    review = len(uow.repository(Findings).undecided_rectifications()) + len(
        uow.session.query(ExtensionRequest.id).filter(ExtensionRequest.decision.is_(None)).all()
    )
    return _Summary(
        due_reports=sum(1 for i in due if i.what == "report"),
        due_findings=sum(1 for i in due if i.what == "finding"),
        overdue=overdue,
        escalated=[i for i in overdue if i in _escalated(items, now)],
        review=review,
        today=today,
        escalate_after_days=ruling.schedule.escalate_after_days,
    )


@dataclass(frozen=True)
class OverdueDetails:
    """What is overdue today, unit by unit (the digest's details)."""

    today: date
    count: int
    units: list[dict[str, Any]]
    escalate_after_days: int


def overdue_details(uow: UnitOfWork) -> OverdueDetails | None:
    """The overdue reports and rectifications now, by unit; None without a plan in force."""
    with uow:
        now = as_utc(uow.now())
        plans = _Plans(uow)
        if plans.ruling(now) is None:
            return None
        summary = _summary(uow, plans, now)
    return OverdueDetails(
        summary.today, len(summary.overdue), summary.details(), summary.escalate_after_days
    )


# --- reporting back ---------------------------------------------------------------------------


def mark_sent(uow: UnitOfWork, scheduler_id: str, outgoing: Outgoing) -> None:
    """The message went out: its rows are sent, and its recipient is reachable again."""
    with uow:
        repo = uow.repository(Reminders)
        repo.finish(outgoing.ids, scheduler_id, status=SENT, sent_at=uow.now(), error=None)
        repo.clear_unreachable([outgoing.person_id])
        uow.commit()


def mark_failed(
    uow: UnitOfWork,
    scheduler_id: str,
    outgoing: Outgoing,
    error: str,
    *,
    unreachable: bool = False,
    retry_after: float | None = None,
) -> bool:
    """The message did not go out. A refused recipient (`unreachable`) is recorded, and the
    coordinators are told once; anything else is retried later with a growing pause, up to
    `MAX_ATTEMPTS`. True if it will be retried."""
    with uow:
        now = as_utc(uow.now())
        repo = uow.repository(Reminders)
        rows = [r for r in repo.by_ids(outgoing.ids) if r.status == CLAIMED]
        attempts = max((r.attempts for r in rows), default=0) + 1
        retry = not unreachable and attempts < MAX_ATTEMPTS
        if retry:
            pause = (
                timedelta(seconds=retry_after)
                if retry_after is not None
                else BACKOFF[min(attempts - 1, len(BACKOFF) - 1)]
            )
            repo.finish(
                outgoing.ids,
                scheduler_id,
                status=PENDING,
                attempts=attempts,
                error=error[:500],
                send_after=now + pause,
                claimed_by=None,
                claimed_at=None,
            )
        else:
            repo.finish(
                outgoing.ids, scheduler_id, status=FAILED, attempts=attempts, error=error[:500]
            )
        if unreachable and repo.mark_unreachable(outgoing.person_id, now, error[:500]):
            _tell_coordinators_unreachable(uow, outgoing.person_id, now)
        uow.commit()
        return retry


def _tell_coordinators_unreachable(uow: UnitOfWork, person_id: int, now: datetime) -> None:
    repo = uow.repository(Reminders)
    plans = _Plans(uow)
    ruling = plans.ruling(now)
    zone = ruling.timezone if ruling is not None else "Asia/Shanghai"
    person = repo.contacts([person_id]).get(person_id)
    if person is None:
        return
    unit = repo.unit_names([person.unit_id]).get(person.unit_id, "") if person.unit_id else ""
    today = local_date(now, zone)
    params = {"name": person.name, "unit": unit}
    repo.add_missing(
        [
            _row(UNREACHABLE, f"person:{person_id}", who, today, now, params, now)
            for who in repo.coordinators()
            if who.person_id != person_id
        ]
    )


# --- asked for by a coordinator ----------------------------------------------------------------


@dataclass(frozen=True)
class PeerReminders:
    """What asking to remind a round's voters did: units with cards left, liaisons to remind
    (new reminders), and those already reminded today."""

    units: int
    liaisons: int
    already: int


def remind_peer_voters(uow: UnitOfWork, actor: Actor, year: int, group: str) -> PeerReminders:
    """Remind now (after the quiet hours) the liaisons of the units of a round that still have
    cards to vote; once a day per liaison; audited. Sent by the reminder job, claimed first."""
    require_role(actor, Role.COORDINATOR)
    status = round_status(uow, actor, year, group)
    if status.round.closed_at is not None:
        raise Invalid("peer_round_closed", year=year, group=group)
    with uow:
        now = as_utc(uow.now())
        plans = _Plans(uow)
        plan = plans(year)
        if plan is None:
            raise NotFound("no_plan", year=year)
        today = local_date(now, plan.timezone)
        at = send_time(today, now.astimezone(ZoneInfo(plan.timezone)).strftime("%H:%M"), plan)
        repo = uow.repository(Reminders)
        owing = [u for u in status.units if u.state != DONE and u.cards]
        liaisons = repo.liaisons(u.unit_id for u in owing)
        params = _peer_params(status)
        rows = [
            _row(
                PEER_REMIND,
                peer_target(status.round.id, unit.unit_id),
                who,
                today,
                max(at, now),
                {**params, "voted": unit.voted, "cards": unit.cards},
                now,
            )
            for unit in owing
            for who in liaisons[unit.unit_id]
        ]
        existing = repo.keys_since(today)
        new = [
            r
            for r in rows
            if ReminderKey(r["kind"], r["target"], r["person_id"], r["due_on"]) not in existing
        ]
        repo.add_missing(new)
        added = len(new)
        uow.audit(
            actor.audit_name,
            "peer.remind",
            "peer_round",
            status.round.id,
            None,
            {
                "year": year,
                "group": group,
                "units": [u.unit_name for u in owing],
                "liaisons": added,
            },
        )
        uow.commit()
        return PeerReminders(len(owing), added, len(rows) - added)
