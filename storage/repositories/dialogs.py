"""Bot dialog states (drafts), one per person and dialog kind."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, case, delete, func, insert, select, update

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


_OF_KIND = select(*DIALOG_VIEW_COLUMNS).where(
    DialogState.person_id == bindparam("person_id"), DialogState.kind == bindparam("kind")
)
# Every dialog of the person, the most recently updated (the one in progress) first.
_VIEWS_OF = (
    select(*DIALOG_VIEW_COLUMNS)
    .where(DialogState.person_id == bindparam("person_id"))
    .order_by(*DIALOGS_MOST_RECENT_FIRST)
)
_NEXT_VERSION = select(func.coalesce(func.max(DialogState.version), 0) + 1).where(
    DialogState.person_id == bindparam("person_id")
)
_REMOVE = (
    delete(DialogState)
    .where(DialogState.person_id == bindparam("person_id"), DialogState.kind == bindparam("kind"))
    .returning(DialogState.version)
)
_INSERT = insert(DialogState)
# A new dialog numbered in its own INSERT: above every version the person's dialogs have, and
# above `removed`, the version of the draft of its kind just dropped (0: none).
_HIGHEST = (
    select(func.coalesce(func.max(DialogState.version), 0))
    .where(DialogState.person_id == bindparam("person_id"))
    .scalar_subquery()
)
_REMOVED = bindparam("removed", type_=DialogState.version.type)
_INSERT_NUMBERED = (
    insert(DialogState)
    .values(
        person_id=bindparam("person_id"),
        kind=bindparam("kind"),
        step=bindparam("step"),
        data=bindparam("data", type_=DialogState.data.type),
        version=case((_HIGHEST > _REMOVED, _HIGHEST), else_=_REMOVED) + 1,
        updated_at=bindparam("updated_at", type_=DialogState.updated_at.type),
    )
    .returning(DialogState.version)
)
_RENUMBER = (
    update(DialogState)
    .where(DialogState.person_id == bindparam("who"), DialogState.kind == bindparam("which"))
    .values(
        version=bindparam("new_version", type_=DialogState.version.type),
        updated_at=bindparam("now", type_=DialogState.updated_at.type),
    )
)
# Raise a version to at least `at_least` (a marker keeps the highest version ever ended).
_AT_LEAST = bindparam("at_least", type_=DialogState.version.type)
_RAISE_VERSION = (
    update(DialogState)
    .where(DialogState.person_id == bindparam("who"), DialogState.kind == bindparam("which"))
    .values(
        version=case(
            (DialogState.version < _AT_LEAST, _AT_LEAST),
            else_=DialogState.version,
        )
    )
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

    def view_of_kind(self, person_id: int, kind: str) -> DialogRow | None:
        """Kind, step, version and data of the person's dialog of one kind (a Core row)."""
        row = (
            self.session.connection()
            .execute(_OF_KIND, {"person_id": person_id, "kind": kind})
            .first()
        )
        return None if row is None else DialogRow(*row)

    def views_of(self, person_id: int) -> list[DialogRow]:
        """Every dialog of the person, the most recently updated first (Core rows)."""
        rows = self.session.connection().execute(_VIEWS_OF, {"person_id": person_id})
        return [DialogRow(*row) for row in rows]

    def next_version(self, person_id: int) -> int:
        """A version number higher than any of the person's dialogs ever had."""
        version = (
            self.session.connection().execute(_NEXT_VERSION, {"person_id": person_id}).scalar_one()
        )
        return int(version)

    def add(self, row: DialogState) -> DialogState:
        """Add a dialog state."""
        self.session.add(row)
        return row

    def insert(
        self,
        person_id: int,
        kind: str,
        step: str,
        data: dict[str, Any],
        version: int,
        updated_at: datetime,
    ) -> None:
        """Insert a dialog state (one Core INSERT, no flush)."""
        values = {
            "person_id": person_id,
            "kind": kind,
            "step": step,
            "data": data,
            "version": version,
            "updated_at": updated_at,
        }
        self.session.connection().execute(_INSERT, values)

    def insert_numbered(
        self,
        person_id: int,
        kind: str,
        step: str,
        data: dict[str, Any],
        removed: int | None,
        updated_at: datetime,
    ) -> int:
        """Insert a dialog state with a version higher than any of the person's dialogs has
        and than `removed` (the version of a draft just removed); that version."""
        values = {
            "person_id": person_id,
            "kind": kind,
            "step": step,
            "data": data,
            "removed": removed or 0,
            "updated_at": updated_at,
        }
        version: int = self.session.connection().execute(_INSERT_NUMBERED, values).scalar_one()
        return version

    def remove(self, person_id: int, kind: str) -> int | None:
        """Forget the person's dialog of one kind; the version it had (None: there was none)."""
        version: int | None = (
            self.session.connection()
            .execute(_REMOVE, {"person_id": person_id, "kind": kind})
            .scalar_one_or_none()
        )
        return version

    def renumber(self, person_id: int, kind: str, version: int, now: datetime) -> bool:
        """Give the person's dialog of `kind` a new version and update time; whether it exists."""
        parameters = {"who": person_id, "which": kind, "new_version": version, "now": now}
        result = self.session.connection().execute(_RENUMBER, parameters)
        return bool(result.rowcount)

    def raise_version(self, person_id: int, kind: str, at_least: int) -> bool:
        """Raise the version of the person's dialog of `kind` to at least `at_least`; whether
        it exists."""
        parameters = {"who": person_id, "which": kind, "at_least": at_least}
        result = self.session.connection().execute(_RAISE_VERSION, parameters)
        return bool(result.rowcount)

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
