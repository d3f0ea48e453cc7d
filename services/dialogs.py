"""Bot dialog state: the step and draft of each person's dialogs, saved at every step.

Drafts are working state, not records: they are not audited, and a finished or cancelled dialog
is forgotten. What a dialog submits goes through the domain services, which audit it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from storage.repositories.dialogs import DialogRow, Dialogs
from storage.unit_of_work import UnitOfWork

# A version counter survives a finished dialog in a placeholder row of this kind, so that
# buttons of any finished dialog stay expired.
_LAST = "_last"
# The marker's fixed time, older than any real dialog's, so it never counts as the dialog in
# progress (a fixed instant: `now.replace(year=1970)` fails on 29 February).
_MARKER_TIME = datetime(1970, 1, 1, tzinfo=UTC)


# Values a copy shares rather than copies (immutable), as copy.deepcopy does.
_ATOMIC = frozenset({str, int, float, bool, type(None)})


def _copied(data: dict[str, Any]) -> dict[str, Any]:
    """copy.deepcopy of a draft, several times faster: a draft is JSON-like data (plain dicts,
    lists and scalars), which is copied here directly; anything else goes to copy.deepcopy
    (with the same memo, so that a value held twice is still copied once)."""
    memo: dict[int, Any] = {}
    return _copy_value(data, memo)  # type: ignore[no-any-return]


def _copy_value(value: Any, memo: dict[int, Any]) -> Any:
    kind = type(value)
    if kind in _ATOMIC:
        return value
    if kind is dict or kind is list:
        done = memo.get(id(value))
        if done is not None:
            return done
        if kind is dict:
            out: Any = {}
            memo[id(value)] = out
            for key, item in value.items():
                if type(key) not in _ATOMIC:
                    key = copy.deepcopy(key, memo)
                out[key] = item if type(item) in _ATOMIC else _copy_value(item, memo)
        else:
            out = []
            memo[id(value)] = out
            for item in value:
                out.append(item if type(item) in _ATOMIC else _copy_value(item, memo))
        return out
    return copy.deepcopy(value, memo)


@dataclass(frozen=True)
class DialogView:
    """A dialog in progress: its kind, step, draft and version."""

    kind: str
    step: str
    version: int
    data: dict[str, Any] = field(default_factory=dict)


def _row_view(row: DialogRow) -> DialogView:
    # A row read with Core carries a freshly decoded draft: nothing else holds it, no copy.
    return DialogView(row.kind, row.step, row.version, dict(row.data))


@dataclass(frozen=True)
class DialogShelf:
    """A person's dialogs as read at the start of an update (services.people.admit), the most
    recently updated first: what the router needs without reading them again."""

    views: tuple[DialogView, ...]

    def current(self) -> DialogView | None:
        """The dialog the person is in, if any (as current_dialog)."""
        if not self.views or self.views[0].kind == _LAST:
            return None
        return self.views[0]

    def for_button(self, kind: str) -> tuple[DialogView | None, bool]:
        """The dialog of `kind` and whether it is the dialog in progress (as dialog_for_button)."""
        for position, view in enumerate(self.views):
            if view.kind == kind:
                return view, position == 0
        return None, False


def dialog_shelf(rows: Iterable[DialogRow]) -> DialogShelf:
    """The shelf of a person's dialog rows, read the most recently updated first."""
    return DialogShelf(tuple(_row_view(row) for row in rows))


def current_dialog(uow: UnitOfWork, person_id: int) -> DialogView | None:
    """The dialog the person is in, if any."""
    with uow:
        row = uow.repository(Dialogs).current_view(person_id)
        return None if row is None or row.kind == _LAST else _row_view(row)


def dialog_of_kind(uow: UnitOfWork, person_id: int, kind: str) -> DialogView | None:
    """The person's unfinished dialog of one kind (a draft to resume), if any."""
    with uow:
        row = uow.repository(Dialogs).view_of_kind(person_id, kind)
        return None if row is None else _row_view(row)


def dialog_for_button(
    uow: UnitOfWork, person_id: int, kind: str
) -> tuple[DialogView | None, bool]:
    """The person's dialog of `kind` and whether it is the dialog in progress (one read)."""
    with uow:
        rows = uow.repository(Dialogs).views_of(person_id)
    return dialog_shelf(rows).for_button(kind)


def start_dialog(
    uow: UnitOfWork, person_id: int, kind: str, step: str, data: dict[str, Any]
) -> DialogView:
    """Start a dialog of `kind` afresh, dropping an older draft of it, with a new version."""
    with uow:
        dialogs = uow.repository(Dialogs)
        # Numbered above the older draft too, so that its buttons expire.
        removed = dialogs.remove(person_id, kind)
        version = dialogs.insert_numbered(person_id, kind, step, data, removed, uow.now())
        uow.commit()
        # The caller keeps its dict: the view gets its own copy, as the stored draft is.
        return DialogView(kind, step, version, _copied(data))


def resume_dialog(uow: UnitOfWork, person_id: int, kind: str) -> DialogView | None:
    """Make the person's draft of `kind` the dialog in progress again, with a new version."""
    with uow:
        dialogs = uow.repository(Dialogs)
        row = dialogs.view_of_kind(person_id, kind)
        if row is None:
            return None
        version = dialogs.next_version(person_id)
        dialogs.renumber(person_id, kind, version, uow.now())
        uow.commit()
        return DialogView(row.kind, row.step, version, dict(row.data))


def save_dialog(
    uow: UnitOfWork, person_id: int, kind: str, step: str, data: dict[str, Any]
) -> DialogView | None:
    """Store the step and draft of the person's dialog of `kind`; None if it no longer exists."""
    with uow:
        version = uow.repository(Dialogs).save_step(person_id, kind, step, data, uow.now())
        if version is None:
            return None
        uow.commit()
        # The caller keeps its dict and may change it before the next save: the view gets its
        # own copy, as the stored draft is.
        return DialogView(kind, step, version, _copied(data))


def end_dialog(uow: UnitOfWork, person_id: int, kind: str) -> None:
    """Forget the person's dialog of `kind` (finished or cancelled); its buttons expire."""
    with uow:
        dialogs = uow.repository(Dialogs)
        version = dialogs.remove(person_id, kind)
        if version is None:
            return
        if not dialogs.raise_version(person_id, _LAST, version):
            dialogs.insert(person_id, _LAST, "", {}, version, _MARKER_TIME)
        uow.commit()
