"""Bot dialog states (drafts), one per person and dialog kind."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, delete, func, select, update

from storage.models import DialogState
from storage.unit_of_work import Repository

# What the bot runs at every update, read and written with Core rows, not ORM objects, and
# built once: a statement built anew costs SQLAlchemy several times its execution (building it
# and its cache key), so these are module constants with bound parameters.
DIALOG_VIEW_COLUMNS = (DialogState.kind, DialogState.step, DialogState.version, DialogState.data)
# The order in which the most recently updated dialog, the one in progress, comes first.
DIALOGS_MOST_RECENT_FIRST = (DialogState.updated_at.desc(), DialogState.version.desc())
_CURRENT_VIEW = (
    select(*DIALOG_VIEW_COLUMNS)
    .where(DialogState.person_id == bindparam("person_id"))
    .order_by(*DIALOGS_MOST_RECENT_FIRST)
    .limit(1)
)
_SAVE_STEP = (
    update(DialogState)
    .where(DialogState.person_id == bindparam("who"), DialogState.kind == bindparam("which"))
    .values(
        step=bindparam("new_step", type_=DialogState.step.type),
        data=bindparam("new_data", type_=DialogState.data.type),
        updated_at=bindparam("now", type_=DialogState.updated_at.type),
    )
    .returning(DialogState.version)
)


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
            .order_by(*DIALOGS_MOST_RECENT_FIRST)
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

    def current_view(self, person_id: int) -> DialogRow | None:
        """Kind, step, version and data of the person's most recently updated dialog."""
        row = self.session.connection().execute(_CURRENT_VIEW, {"person_id": person_id}).first()
        return None if row is None else DialogRow(*row)

    def save_step(
        self, person_id: int, kind: str, step: str, data: dict[str, Any], now: datetime
    ) -> int | None:
        """Store the step and draft of the person's dialog of `kind` in one UPDATE; its version,
        or None if there is no such dialog."""
        parameters = {
            "who": person_id, "which": kind, "new_step": step, "new_data": data, "now": now
        }  # fmt: skip
        version: int | None = (
            self.session.connection().execute(_SAVE_STEP, parameters).scalar_one_or_none()
        )
        return version
