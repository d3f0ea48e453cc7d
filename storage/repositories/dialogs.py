"""Bot dialog states (drafts), one per person and dialog kind."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import delete, func, select, update

from storage.models import DialogState
from storage.unit_of_work import Repository

# The columns a dialog's view needs, read with Core: rows, not ORM objects (the bot reads them
# at every update).
_VIEW_COLUMNS = (DialogState.kind, DialogState.step, DialogState.version, DialogState.data)


class DialogRow(NamedTuple):
    """What a dialog's view needs of its row."""

    kind: str
    step: str
    version: int
    data: dict[str, Any]


class Dialogs(Repository):
    """Where each person is in each dialog."""

    def current(self, person_id: int) -> DialogState | None:
        """The person's most recently updated dialog."""
        return self.session.execute(
            select(DialogState)
            .where(DialogState.person_id == person_id)
            .order_by(DialogState.updated_at.desc(), DialogState.version.desc())
            .limit(1)
        ).scalar_one_or_none()

    def of_kind(self, person_id: int, kind: str) -> DialogState | None:
        """The person's dialog of one kind, if they have one."""
        return self.session.execute(
            select(DialogState).where(DialogState.person_id == person_id, DialogState.kind == kind)
        ).scalar_one_or_none()

    def next_version(self, person_id: int) -> int:
        """A version number higher than any of the person's dialogs ever had."""
        latest = self.session.execute(
            select(func.max(DialogState.version)).where(DialogState.person_id == person_id)
        ).scalar_one()
        return (latest or 0) + 1

    def add(self, row: DialogState) -> DialogState:
        """Add a dialog state."""
        self.session.add(row)
        return row

    def remove(self, person_id: int, kind: str) -> None:
        """Forget the person's dialog of one kind."""
        self.session.execute(
            delete(DialogState).where(DialogState.person_id == person_id, DialogState.kind == kind)
        )

    def views_of(self, person_id: int) -> list[DialogRow]:
        """Kind, step, version and data of each of the person's dialogs, the most recently
        updated first (the order of `current`)."""
        rows = self.session.connection().execute(
            select(*_VIEW_COLUMNS)
            .where(DialogState.person_id == person_id)
            .order_by(DialogState.updated_at.desc(), DialogState.version.desc())
        )
        return [DialogRow(*row) for row in rows]

    def current_view(self, person_id: int) -> DialogRow | None:
        """Kind, step, version and data of the person's most recently updated dialog."""
        row = (
            self.session.connection()
            .execute(
                select(*_VIEW_COLUMNS)
                .where(DialogState.person_id == person_id)
                .order_by(DialogState.updated_at.desc(), DialogState.version.desc())
                .limit(1)
            )
            .first()
        )
        return None if row is None else DialogRow(*row)

    def save_step(
        self, person_id: int, kind: str, step: str, data: dict[str, Any], now: datetime
    ) -> int | None:
        """Store the step and draft of the person's dialog of `kind` in one UPDATE; its version,
        or None if there is no such dialog."""
        version: int | None = (
            self.session.connection()
            .execute(
                update(DialogState)
                .where(DialogState.person_id == person_id, DialogState.kind == kind)
                .values(step=step, data=data, updated_at=now)
                .returning(DialogState.version)
            )
            .scalar_one_or_none()
        )
        return version
