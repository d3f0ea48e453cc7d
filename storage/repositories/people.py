"""People who use kaohe and the invites that bring them in."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import CursorResult, bindparam, select, update
from sqlalchemy.orm import joinedload

from storage.models import DialogState, Invite, Person, UnitRow
from storage.repositories.dialogs import (
    DIALOG_VIEW_COLUMNS,
    DIALOGS_MOST_RECENT_FIRST,
    DialogRow,
)
from storage.unit_of_work import Repository


class SessionRow(NamedTuple):
    """What the bot needs of a person at every update."""

    id: int
    role: str
    unit_id: int | None
    display_name: str
    language: str | None
    active: bool
    unit_name: str | None


# Built once with a bound parameter: building a statement and its cache key anew costs several
# times running it, and the bot runs this at every update.
_SESSION_OF = (
    select(
        Person.id,
        Person.role,
        Person.unit_id,
        Person.display_name,
        Person.language,
        Person.active,
        UnitRow.name.label("unit_name"),
    )
    .outerjoin(UnitRow, UnitRow.id == Person.unit_id)
    .where(Person.telegram_user_id == bindparam("telegram_user_id"))
)

# The gate's one statement per update: the person, their unit's name and their dialogs, the most
# recently updated first (one row per dialog; one row with no dialog columns if they have none).
_ADMISSION = (
    _SESSION_OF.add_columns(*DIALOG_VIEW_COLUMNS)
    .outerjoin(DialogState, DialogState.person_id == Person.id)
    .order_by(*DIALOGS_MOST_RECENT_FIRST)
)
_SESSION_COLUMNS = len(SessionRow._fields)


class People(Repository):
    """Admins, coordinators, raters, liaisons and viewers, active or not."""

    def add(self, row: Person) -> Person:
        """Add a person (their id is set on flush)."""
        self.session.add(row)
        return row

    def by_id(self, person_id: int) -> Person | None:
        """The person with this id."""
        return self.session.get(Person, person_id)

    def by_telegram_user_id(self, telegram_user_id: int) -> Person | None:
        """The person (active or not) bound to this Telegram account."""
        # The unit comes in the same query: the bot asks this for every update.
        return self.session.execute(
            select(Person)
            .options(joinedload(Person.unit))
            .where(Person.telegram_user_id == telegram_user_id)
        ).scalar_one_or_none()

    def session_of(self, telegram_user_id: int) -> SessionRow | None:
        """Id, role, unit, name, language, whether active, and the unit's name of the person
        bound to this Telegram account: one Core row (the bot's gate reads it at every update)."""
        row = (
            self.session.connection()
            .execute(_SESSION_OF, {"telegram_user_id": telegram_user_id})
            .first()
        )
        return None if row is None else SessionRow(*row)

    def admission(self, telegram_user_id: int) -> tuple[SessionRow | None, list[DialogRow]]:
        """The person bound to this Telegram account (as `session_of`) and their dialogs (as
        Dialogs.views_of), in one statement: the bot's gate runs it at every update."""
        rows = (
            self.session.connection()
            .execute(_ADMISSION, {"telegram_user_id": telegram_user_id})
            .all()
        )
        if not rows:
            return None, []
        person = SessionRow(*rows[0][:_SESSION_COLUMNS])
        dialogs = [DialogRow(*row[_SESSION_COLUMNS:]) for row in rows if row.kind is not None]
        return person, dialogs

    def all(self) -> list[Person]:
        """Everyone, active or not, in the order they were added."""
        return list(self.session.execute(select(Person).order_by(Person.id)).scalars())


class Invites(Repository):
    """One-time invites, known only by the SHA-256 of their code."""

    def add(self, row: Invite) -> Invite:
        """Add an invite (its id is set on flush)."""
        self.session.add(row)
        return row

    def usable(self, code_hash: str, now: datetime) -> Invite | None:
        """The invite with this code hash if it is neither redeemed nor expired at `now`."""
        return self.session.execute(
            select(Invite).where(
                Invite.code_hash == code_hash,
                Invite.redeemed_at.is_(None),
                Invite.expires_at > now,
            )
        ).scalar_one_or_none()

    def redeem(self, code_hash: str, now: datetime, person_id: int) -> bool:
        """Mark the invite redeemed by `person_id` if it still is usable; whether it was.

        One conditional UPDATE: of two concurrent redemptions, the database lets exactly one
        match the row (PostgreSQL re-checks the condition after the first one commits; SQLite
        runs writers one after the other), so a code can never bind two accounts.
        """
        result = cast(
            "CursorResult[Any]",
            self.session.execute(
                update(Invite)
                .where(
                    Invite.code_hash == code_hash,
                    Invite.redeemed_at.is_(None),
                    Invite.expires_at > now,
                )
                .values(redeemed_at=now, redeemed_by=person_id)
                .execution_options(synchronize_session=False)
            ),
        )
        return result.rowcount == 1

    def by_id(self, invite_id: int) -> Invite | None:
        """The invite with this id."""
        return self.session.get(Invite, invite_id)
