"""Reminder rows: planned once per (kind, target, person, local day), claimed before sending."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from storage.models import FindingRow, Person, ReminderRow, UnitRow, UnreachablePerson
from storage.statuses import FindingStatus, ReminderStatus, Role
from storage.unit_of_work import Repository

# Aliases the reminder service imports.
PENDING = ReminderStatus.PENDING
CLAIMED = ReminderStatus.CLAIMED
SENT = ReminderStatus.SENT
SKIPPED = ReminderStatus.SKIPPED
FAILED = ReminderStatus.FAILED


class Contact(NamedTuple):
    """Someone to remind: their person id, Telegram id, language and name."""

    person_id: int
    telegram_user_id: int
    language: str | None
    name: str
    unit_id: int | None


class ReminderKey(NamedTuple):
    """What makes a reminder unique."""

    kind: str
    target: str
    person_id: int
    due_on: date


class Reminders(Repository):
    """The reminders table and the people and findings it is planned from."""

    # --- whom to remind ---------------------------------------------------------------------

    def liaisons(self, unit_ids: Iterable[int]) -> dict[int, list[Contact]]:
        """The active liaisons (with a Telegram account) of each unit."""
        wanted = set(unit_ids)
        out: dict[int, list[Contact]] = {u: [] for u in wanted}
        if not wanted:
            return out
        rows = self.session.execute(
            select(Person)
            .where(
                Person.unit_id.in_(wanted),
                Person.role == Role.LIAISON,
                Person.active.is_(True),
                Person.telegram_user_id.is_not(None),
            )
            .order_by(Person.id)
        ).scalars()
        for p in rows:
            assert p.telegram_user_id is not None and p.unit_id is not None
            out[p.unit_id].append(
                Contact(p.id, p.telegram_user_id, p.language, p.display_name, p.unit_id)
            )
        return out

    def coordinators(self) -> list[Contact]:
        """The active coordinators with a Telegram account."""
        rows = self.session.execute(
            select(Person)
            .where(
                Person.role == Role.COORDINATOR,
                Person.active.is_(True),
                Person.telegram_user_id.is_not(None),
            )
            .order_by(Person.id)
        ).scalars()
        return [
            Contact(p.id, p.telegram_user_id, p.language, p.display_name, None)
            for p in rows
            if p.telegram_user_id is not None
        ]

    def contacts(self, person_ids: Iterable[int]) -> dict[int, Contact]:
        """People by id (active or not)."""
        wanted = set(person_ids)
        if not wanted:
            return {}
        rows = self.session.execute(select(Person).where(Person.id.in_(wanted))).scalars()
        return {
            p.id: Contact(p.id, p.telegram_user_id or 0, p.language, p.display_name, p.unit_id)
            for p in rows
        }

    def unit_names(self, unit_ids: Iterable[int]) -> dict[int, str]:
        """Unit names by id."""
        wanted = set(unit_ids)
        if not wanted:
            return {}
        rows = self.session.execute(
            select(UnitRow.id, UnitRow.name).where(UnitRow.id.in_(wanted))
        ).all()
        return {r.id: r.name for r in rows}

    def unsettled_findings(self) -> list[FindingRow]:
        """Findings waiting for the unit's rectification (open or returned), of active units."""
        return list(
            self.session.execute(
                select(FindingRow)
                .join(UnitRow, UnitRow.id == FindingRow.unit_id)
                .where(
                    FindingRow.status.in_((FindingStatus.OPEN, FindingStatus.RETURNED)),
                    UnitRow.active.is_(True),
                )
                .order_by(FindingRow.id)
            ).scalars()
        )

    # --- planning ---------------------------------------------------------------------------

    def keys_since(self, day: date) -> set[ReminderKey]:
        """The keys of every reminder of `day` or later, whatever its status."""
        rows = self.session.execute(
            select(
                ReminderRow.kind, ReminderRow.target, ReminderRow.person_id, ReminderRow.due_on
            ).where(ReminderRow.due_on >= day)
        ).all()
        return {ReminderKey(r.kind, r.target, r.person_id, r.due_on) for r in rows}

    def add_missing(self, rows: Sequence[dict[str, Any]]) -> int:
        """Insert these reminders, ignoring any that exist already (another scheduler may be
        planning at the same moment); the number inserted."""
        if not rows:
            return 0
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(ReminderRow).values(list(rows)).on_conflict_do_nothing()
        result = self.session.execute(statement)
        return int(getattr(result, "rowcount", 0) or 0)

    def pending(self) -> list[ReminderRow]:
        """Every reminder not yet claimed."""
        return list(
            self.session.execute(
                select(ReminderRow).where(ReminderRow.status == PENDING).order_by(ReminderRow.id)
            ).scalars()
        )

    def skip(self, ids: Iterable[int], reason: str) -> int:
        """Mark pending reminders skipped (they no longer apply); how many were."""
        wanted = list(ids)
        if not wanted:
            return 0
        result = self.session.execute(
            update(ReminderRow)
            .where(ReminderRow.id.in_(wanted), ReminderRow.status == PENDING)
            .values(status=SKIPPED, error=reason)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    # --- claiming and sending ---------------------------------------------------------------

    def release_expired(self, before: datetime) -> int:
        """Claims taken before `before` whose scheduler never reported back (it died): pending
        again, so that the reminder is not lost."""
        result = self.session.execute(
            update(ReminderRow)
            .where(ReminderRow.status == CLAIMED, ReminderRow.claimed_at < before)
            .values(status=PENDING, claimed_by=None, claimed_at=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def claim(self, now: datetime, scheduler_id: str, limit: int) -> list[ReminderRow]:
        """Claim up to `limit` pending reminders due by `now` for `scheduler_id`: only rows
        this statement moved from pending to claimed are returned, so two schedulers never
        get the same one."""
        query = (
            select(ReminderRow.id)
            .where(ReminderRow.status == PENDING, ReminderRow.send_after <= now)
            .order_by(ReminderRow.send_after, ReminderRow.id)
            .limit(limit)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = list(self.session.execute(query).scalars())
        if not ids:
            return []
        self.session.execute(
            update(ReminderRow)
            .where(ReminderRow.id.in_(ids), ReminderRow.status == PENDING)
            .values(status=CLAIMED, claimed_by=scheduler_id, claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        return list(
            self.session.execute(
                select(ReminderRow)
                .where(
                    ReminderRow.id.in_(ids),
                    ReminderRow.status == CLAIMED,
                    ReminderRow.claimed_by == scheduler_id,
                    ReminderRow.claimed_at == now,
                )
                .order_by(ReminderRow.send_after, ReminderRow.id)
            ).scalars()
        )

    def by_ids(self, ids: Iterable[int]) -> list[ReminderRow]:
        """Reminders by id."""
        wanted = list(ids)
        if not wanted:
            return []
        return list(
            self.session.execute(
                select(ReminderRow).where(ReminderRow.id.in_(wanted)).order_by(ReminderRow.id)
            ).scalars()
        )

    def finish(self, ids: Iterable[int], scheduler_id: str, **values: Any) -> int:
        """Set `values` on reminders this scheduler holds; how many it held."""
        wanted = list(ids)
        if not wanted:
            return 0
        result = self.session.execute(
            update(ReminderRow)
            .where(
                ReminderRow.id.in_(wanted),
                ReminderRow.status == CLAIMED,
                ReminderRow.claimed_by == scheduler_id,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    # --- unreachable people -----------------------------------------------------------------

    def mark_unreachable(self, person_id: int, since: datetime, error: str) -> bool:
        """Record that Telegram refuses messages to this person; True if it is news."""
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        inserted = self.session.execute(
            insert(UnreachablePerson)
            .values(person_id=person_id, since=since, error=error)
            .on_conflict_do_nothing()
            .returning(UnreachablePerson.id)
        ).scalar_one_or_none()
        return inserted is not None

    def clear_unreachable(self, person_ids: Iterable[int]) -> None:
        """These people were reached again."""
        wanted = list(person_ids)
        if wanted:
            self.session.execute(
                delete(UnreachablePerson).where(UnreachablePerson.person_id.in_(wanted))
            )

    def unreachable(self) -> set[int]:
        """The ids of people currently unreachable."""
        return set(self.session.execute(select(UnreachablePerson.person_id)).scalars())
