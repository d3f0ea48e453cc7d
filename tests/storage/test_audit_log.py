"""The audit log: append-only, hash-chained, and every edit or deletion is found."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import delete, select, update

from storage.audit import verify
from storage.models import AuditEntry
from storage.unit_of_work import UnitOfWork


def _write_three(uow: Callable[[], UnitOfWork]) -> None:
    for i in range(3):
        with uow() as work:
            work.audit("operator:test", "unit.add", "unit", i, None, {"code": f"u{i}", "n": i})
            work.commit()


def _breaks(uow: Callable[[], UnitOfWork]) -> list[tuple[int | None, str]]:
    with uow() as work:
        return [(b.entry_id, b.code) for b in verify(work.session)]


def test_an_untouched_chain_verifies(uow: Callable[[], UnitOfWork]) -> None:
    _write_three(uow)
    assert _breaks(uow) == []


def test_entries_chain_each_to_the_one_before(uow: Callable[[], UnitOfWork]) -> None:
    _write_three(uow)
    with uow() as work:
        entries = work.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()
        rows = list(entries)
    assert rows[1].prev_hash == rows[0].hash
    assert rows[2].prev_hash == rows[1].hash


def test_an_edited_entry_is_found(uow: Callable[[], UnitOfWork]) -> None:
    _write_three(uow)
    with uow() as work:
        work.session.execute(
            update(AuditEntry).where(AuditEntry.id == 2).values(after={"code": "forged"})
        )
        work.commit()
    assert _breaks(uow) == [(2, "edited")]


def test_a_deleted_entry_in_the_middle_is_found(uow: Callable[[], UnitOfWork]) -> None:
    _write_three(uow)
    with uow() as work:
        work.session.execute(delete(AuditEntry).where(AuditEntry.id == 2))
        work.commit()
    assert _breaks(uow) == [(3, "link_broken")]


def test_a_deleted_newest_entry_is_found(uow: Callable[[], UnitOfWork]) -> None:
    _write_three(uow)
    with uow() as work:
        work.session.execute(delete(AuditEntry).where(AuditEntry.id == 3))
        work.commit()
    assert _breaks(uow) == [(3, "newest_missing")]


def test_an_entry_of_a_rolled_back_change_leaves_no_trace(
    uow: Callable[[], UnitOfWork],
) -> None:
    _write_three(uow)
    with uow() as work:
        work.audit("operator:test", "unit.add", "unit", 9, None, {"code": "u9"})
        # no commit: the change and its audit entry are both dropped
    _write_three(uow)
    assert _breaks(uow) == []
    with uow() as work:
        assert len(work.session.execute(select(AuditEntry)).scalars().all()) == 6
