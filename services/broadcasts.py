"""Broadcasts (/broadcast): a coordinator's notice to an audience, delivered once to each.

The audience is a spec (all liaisons, the liaisons of a unit group, of chosen units, or all
coordinators) resolved into one delivery row per recipient when the broadcast is confirmed, so
that who gets it is fixed then and a crash never changes it. The delivery engine
(bot.delivery) claims pending rows of due broadcasts, sends them and settles each claim with
the outcome; a claim left behind by a dead engine goes back to pending after a lease. Each
recipient may acknowledge their own delivery once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.access import MANAGERS, Actor, Role, require_role
from services.errors import Invalid, NotFound
from storage.clock import as_utc
from storage.models import BroadcastDelivery, BroadcastRow, Person
from storage.repositories.broadcasts import Broadcasts
from storage.repositories.people import People
from storage.repositories.units import Units
from storage.statuses import BroadcastState, DeliveryStatus, FileKind
from storage.unit_of_work import UnitOfWork

MAX_TEXT = 4000
# Telegram's limit on the caption of a photo or document.
MAX_CAPTION = 1024
AUDIENCES = ("liaisons", "group", "units", "coordinators")
FILE_KINDS = (FileKind.PHOTO, FileKind.DOCUMENT)


@dataclass(frozen=True)
class Recipient:
    """One person a broadcast goes to."""

    person_id: int
    telegram_id: int
    unit_id: int | None
    name: str


@dataclass(frozen=True)
class BroadcastView:
    """A broadcast as the dialogs show it."""

    id: int
    text: str
    file_kind: FileKind | None
    audience: dict[str, Any]
    scheduled_at: datetime
    status: BroadcastState
    recipients: int
    created_by: int | None


@dataclass(frozen=True)
class DeliveryJob:
    """A claimed delivery, with what the engine needs to send it."""

    id: int
    broadcast_id: int
    telegram_id: int
    language: str | None
    text: str
    file_id: str | None
    file_kind: FileKind | None
    sender: str
    attempts: int
    token: str


@dataclass(frozen=True)
class UnitStatus:
    """How a broadcast went in one unit (or among people without a unit)."""

    unit: str | None
    recipients: int
    delivered: int
    acknowledged: int
    unreachable: int
    pending: int


@dataclass(frozen=True)
class BroadcastStatus:
    """How a broadcast went, per unit and in total."""

    broadcast: BroadcastView
    units: list[UnitStatus]
    total: UnitStatus


def check_text(text: str, with_file: bool = False) -> str:
    """The notice text, stripped; Invalid if empty, too long, or too long for a caption."""
    cleaned = text.strip()
    if not cleaned:
        raise Invalid("broadcast_text_empty")
    if len(cleaned) > MAX_TEXT:
        raise Invalid("broadcast_text_too_long", length=len(cleaned), max=MAX_TEXT)
    if with_file and len(cleaned) > MAX_CAPTION:
        raise Invalid("broadcast_caption_too_long", length=len(cleaned), max=MAX_CAPTION)
    return cleaned


def _check_audience(audience: dict[str, Any]) -> None:
    kind = audience.get("kind")
    if kind not in AUDIENCES:
        raise Invalid("broadcast_bad_audience")
    if kind == "group" and not audience.get("group"):
        raise Invalid("broadcast_bad_audience")
    if kind == "units" and not audience.get("unit_ids"):
        raise Invalid("broadcast_bad_audience")


def _resolve(uow: UnitOfWork, audience: dict[str, Any], sender: int | None) -> list[Recipient]:
    """The active, registered people an audience names (inside an open uow)."""
    kind = audience["kind"]
    units = {u.id: u for u in uow.repository(Units).all()}
    people: list[Person] = [
        p
        for p in uow.repository(People).all()
        if p.active and p.telegram_user_id is not None and p.id != sender
    ]
    if kind == "coordinators":
        chosen = [p for p in people if p.role in MANAGERS]
    else:
        liaisons = [
            p
            for p in people
            if p.role == Role.LIAISON and p.unit_id is not None and p.unit_id in units
        ]
        if kind == "liaisons":
            chosen = liaisons
        elif kind == "group":
            chosen = [p for p in liaisons if units[p.unit_id].group == audience["group"]]  # type: ignore[index]
        else:
            wanted = {int(i) for i in audience["unit_ids"]}
            chosen = [p for p in liaisons if p.unit_id in wanted]
    return [
        Recipient(p.id, int(p.telegram_user_id or 0), p.unit_id, p.display_name) for p in chosen
    ]


def audience_recipients(
    uow: UnitOfWork, actor: Actor, audience: dict[str, Any]
) -> list[Recipient]:
    """Who an audience reaches now (for the preview's count)."""
    require_role(actor, Role.COORDINATOR)
    _check_audience(audience)
    with uow:
        return _resolve(uow, audience, actor.person_id)


def _view(row: BroadcastRow, recipients: int) -> BroadcastView:
    return BroadcastView(
        id=row.id,
        text=row.text,
        file_kind=row.file_kind,
        audience=dict(row.audience),
        scheduled_at=as_utc(row.scheduled_at),
        status=row.status,
        recipients=recipients,
        created_by=row.created_by,
    )


def create_broadcast(
    uow: UnitOfWork,
    actor: Actor,
    text: str,
    audience: dict[str, Any],
    scheduled_at: datetime | None = None,
    file_id: str | None = None,
    file_kind: str | None = None,
) -> BroadcastView:
    """Confirm a broadcast: store it with one pending delivery per recipient (resolved now);
    `scheduled_at` None means now. Refused for non-coordinators; Invalid for an empty or too
    long text, a time in the past, a bad audience or one that reaches nobody."""
    require_role(actor, Role.COORDINATOR)
    cleaned = check_text(text, with_file=file_id is not None)
    _check_audience(audience)
    if file_id is not None and file_kind not in FILE_KINDS:
        raise Invalid("broadcast_bad_file")
    with uow:
        now = uow.now()
        # Stored in UTC: SQLite keeps no offset, so every time must be in one zone.
        when = as_utc(scheduled_at) if scheduled_at is not None else now
        if when < now - timedelta(minutes=1):
            raise Invalid("broadcast_in_past")
        recipients = _resolve(uow, audience, actor.person_id)
        if not recipients:
            raise Invalid("broadcast_no_recipients")
        repo = uow.repository(Broadcasts)
        row = repo.add(
            BroadcastRow(
                text=cleaned,
                file_id=file_id,
                file_kind=file_kind if file_id is not None else None,
                audience=audience,
                scheduled_at=max(when, now),
                created_by=actor.person_id,
                created_at=now,
                status=BroadcastState.SCHEDULED,
            )
        )
        uow.flush()
        repo.add_deliveries(
            [
                BroadcastDelivery(
                    broadcast_id=row.id,
                    person_id=r.person_id,
                    telegram_id=r.telegram_id,
                    unit_id=r.unit_id,
                    status=DeliveryStatus.PENDING,
                    attempts=0,
                )
                for r in recipients
            ]
        )
        uow.audit(
            actor.audit_name,
            "broadcast.create",
            "broadcast",
            row.id,
            None,
            {
                "audience": audience,
                "scheduled_at": row.scheduled_at.isoformat(),
                "recipients": len(recipients),
                "file": file_kind if file_id else None,
            },
        )
        view = _view(row, len(recipients))
        uow.commit()
        return view


def claim_deliveries(
    uow: UnitOfWork, token: str, limit: int, lease: timedelta
) -> list[DeliveryJob]:
    """Claim up to `limit` pending deliveries of due broadcasts for the engine holding
    `token`; claims older than `lease` (a dead engine's) go back to pending first."""
    with uow:
        now = uow.now()
        repo = uow.repository(Broadcasts)
        repo.release_stale(now - lease)
        repo.start_due(now)
        ids = repo.claim(token, now, limit)
        details = repo.claimed_details(ids)
        people = uow.repository(People)
        senders: dict[int, str] = {}
        for creator in {b.created_by for _, b, _ in details if b.created_by is not None}:
            person = people.by_id(creator)
            senders[creator] = person.display_name if person is not None else ""
        jobs = [
            DeliveryJob(
                id=d.id,
                broadcast_id=b.id,
                telegram_id=d.telegram_id,
                language=lang,
                text=b.text,
                file_id=b.file_id,
                file_kind=b.file_kind,
                sender=senders.get(b.created_by or 0, ""),
                attempts=d.attempts,
                token=token,
            )
            for d, b, lang in details
        ]
        uow.commit()
        return jobs


@dataclass(frozen=True)
class Outcome:
    """How one claimed delivery ended: delivered, unreachable, failed, or pending (given back)."""

    job: DeliveryJob
    status: DeliveryStatus
    message_id: int | None = None
    error: str | None = None


def record_outcomes(uow: UnitOfWork, outcomes: Sequence[Outcome]) -> int:
    """Settle many claimed deliveries in one transaction; how many claims were no longer held
    (their lease had lapsed and another engine may have them)."""
    with uow:
        now = uow.now()
        repo = uow.repository(Broadcasts)
        lost = 0
        for outcome in outcomes:
            values: dict[str, object] = {"status": outcome.status}
            if outcome.status == DeliveryStatus.DELIVERED:
                values.update(delivered_at=now, message_id=outcome.message_id)
            elif outcome.status == DeliveryStatus.PENDING:
                values.update(claimed_by=None, claimed_at=None, error=outcome.error)
            else:
                values.update(error=(outcome.error or "")[:500])
            if not repo.settle(outcome.job.id, outcome.job.token, **values):
                lost += 1
        uow.commit()
        return lost


def record_delivered(uow: UnitOfWork, job: DeliveryJob, message_id: int | None) -> bool:
    """The delivery reached its recipient; False if this claim was no longer held."""
    with uow:
        done = uow.repository(Broadcasts).settle(
            job.id,
            job.token,
            status=DeliveryStatus.DELIVERED,
            delivered_at=uow.now(),
            message_id=message_id,
        )
        uow.commit()
        return done


def record_failure(uow: UnitOfWork, job: DeliveryJob, status: DeliveryStatus, error: str) -> bool:
    """The delivery failed for good: `unreachable` (blocked, no chat) or `failed`."""
    with uow:
        done = uow.repository(Broadcasts).settle(
            job.id, job.token, status=status, error=error[:500]
        )
        uow.commit()
        return done


def release_delivery(uow: UnitOfWork, job: DeliveryJob, error: str | None = None) -> bool:
    """Give a claim back (the engine is stopping): pending again, sent by the next engine."""
    with uow:
        done = uow.repository(Broadcasts).settle(
            job.id,
            job.token,
            status=DeliveryStatus.PENDING,
            claimed_by=None,
            claimed_at=None,
            error=error,
        )
        uow.commit()
        return done


@dataclass(frozen=True)
class UnreachableNotice:
    """Whom to tell that some recipients of their broadcast could not be reached."""

    broadcast_id: int
    telegram_id: int
    language: str | None
    names: list[str]
    total: int


def finish_broadcasts(uow: UnitOfWork) -> list[UnreachableNotice]:
    """Mark fully settled broadcasts as done; the notices about unreachable recipients to send
    (each taken once per broadcast, so two engines never both send it)."""
    with uow:
        now = uow.now()
        repo = uow.repository(Broadcasts)
        notices = []
        for broadcast_id in repo.finish_complete(now):
            row = repo.by_id(broadcast_id)
            assert row is not None
            names = repo.unreachable_names(broadcast_id)
            if not names or row.created_by is None:
                continue
            sender = uow.repository(People).by_id(row.created_by)
            if sender is None or sender.telegram_user_id is None:
                continue
            if not repo.take_unreachable_notice(broadcast_id, now):
                continue
            total = sum(n for _, _, _, n in repo.counts_by_unit(broadcast_id))
            notices.append(
                UnreachableNotice(
                    broadcast_id, sender.telegram_user_id, sender.language, names, total
                )
            )
        uow.commit()
        return notices


def acknowledge(uow: UnitOfWork, delivery_id: int, telegram_id: int) -> str:
    """A recipient acknowledges their delivery: "ok" the first time, "already" after, and
    "not_yours" for a delivery that is not theirs (or does not exist)."""
    with uow:
        repo = uow.repository(Broadcasts)
        delivery = repo.delivery(delivery_id)
        if delivery is None or delivery.telegram_id != telegram_id:
            return "not_yours"
        if not repo.acknowledge(delivery_id, telegram_id, uow.now()):
            return "already"
        uow.commit()
        return "ok"


def cancel_broadcast(uow: UnitOfWork, actor: Actor, broadcast_id: int) -> BroadcastView:
    """Cancel a broadcast that has not started going out; Invalid once it has."""
    require_role(actor, Role.COORDINATOR)
    with uow:
        repo = uow.repository(Broadcasts)
        row = repo.by_id(broadcast_id)
        if row is None:
            raise NotFound("broadcast_not_found")
        if not repo.cancel_scheduled(broadcast_id):
            raise Invalid("broadcast_not_cancellable")
        uow.audit(
            actor.audit_name,
            "broadcast.cancel",
            "broadcast",
            broadcast_id,
            {"status": BroadcastState.SCHEDULED},
            {"status": BroadcastState.CANCELLED},
        )
        uow.commit()
        row.status = BroadcastState.CANCELLED
        return _view(row, sum(n for _, _, _, n in repo.counts_by_unit(broadcast_id)))


def recent_broadcasts(uow: UnitOfWork, actor: Actor, limit: int = 5) -> list[BroadcastView]:
    """The newest broadcasts, newest first (coordinators only)."""
    require_role(actor, Role.COORDINATOR)
    with uow:
        repo = uow.repository(Broadcasts)
        return [
            _view(row, sum(n for _, _, _, n in repo.counts_by_unit(row.id)))
            for row in repo.recent(limit)
        ]


def broadcast_status(uow: UnitOfWork, actor: Actor, broadcast_id: int) -> BroadcastStatus:
    """Delivered / acknowledged / unreachable / pending per unit of a broadcast."""
    require_role(actor, Role.COORDINATOR)
    with uow:
        repo = uow.repository(Broadcasts)
        row = repo.by_id(broadcast_id)
        if row is None:
            raise NotFound("broadcast_not_found")
        tallies: dict[str | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for unit, status, acknowledged, count in repo.counts_by_unit(broadcast_id):
            tally = tallies[unit]
            tally["recipients"] += count
            if status == DeliveryStatus.DELIVERED:
                tally["delivered"] += count
            elif status in (DeliveryStatus.UNREACHABLE, DeliveryStatus.FAILED):
                tally["unreachable"] += count
            else:
                tally["pending"] += count
            if acknowledged:
                tally["acknowledged"] += count

        def status_of(unit: str | None, tally: dict[str, int]) -> UnitStatus:
            return UnitStatus(
                unit,
                tally["recipients"],
                tally["delivered"],
                tally["acknowledged"],
                tally["unreachable"],
                tally["pending"],
            )

        units = [
            status_of(unit, tallies[unit])
            for unit in sorted(tallies, key=lambda u: (u is None, u or ""))
        ]
        total: dict[str, int] = defaultdict(int)
        for tally in tallies.values():
            for key, value in tally.items():
                total[key] += value
        return BroadcastStatus(_view(row, total["recipients"]), units, status_of(None, total))
