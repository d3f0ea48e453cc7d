"""Bot dialog states (drafts), one per person and dialog kind."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from storage.models import DialogState
from storage.unit_of_work import Repository


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
