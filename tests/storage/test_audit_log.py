"""The audit log: append-only, hash-chained, and every edit or deletion is found."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import delete, select, update

from storage.audit import Change, entry_hash, jsonable, prepare, verify
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


# --- bulk appends (imports) ------------------------------------------------------------------

ODD_CHANGES = [
    Change("operator:test", "unit.add", "unit", 7, None, {"code": "u7", "name": "店子镇"}),
    Change(
        "区发改局", "task.update", "task", "t-1/“引号”", {"due": date(2025, 3, 31)}, {"n": 1.5}
    ),
    Change("operator:test", "grades.import", "grades", 2025, {"replaced": [{"a": "好"}]}, None),
    Change("operator:test", "bonus.import", "bonus", "", None, {"when": datetime(2025, 1, 2)}),
]


def test_a_bulk_append_chains_exactly_as_appends_one_by_one(
    uow: Callable[[], UnitOfWork],
) -> None:
    _write_three(uow)
    with uow() as work:
        work.audit_many(prepare(ODD_CHANGES))
        work.audit("operator:test", "unit.add", "unit", 8, None, {"code": "u8"})
        work.commit()
    assert _breaks(uow) == []
    with uow() as work:
        rows = list(work.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())
    assert len(rows) == 8
    for row, change in zip(rows[3:7], ODD_CHANGES, strict=True):
        expected = entry_hash(
            row.prev_hash,
            row.at,
            change.actor,
            change.action,
            change.entity,
            str(change.entity_id),
            jsonable(change.before) if change.before is not None else None,
            jsonable(change.after) if change.after is not None else None,
        )
        assert row.hash == expected
        assert row.before == (jsonable(change.before) if change.before is not None else None)
        assert row.after == (jsonable(change.after) if change.after is not None else None)


def test_an_entity_id_filled_in_during_the_write_is_chained(
    uow: Callable[[], UnitOfWork],
) -> None:
    [entry] = prepare([Change("operator:test", "unit.add", "unit", "", None, {"code": "u"})])
    with uow() as work:
        entry.entity_id = "41"
        work.audit_many([entry])
        work.commit()
    assert _breaks(uow) == []
    with uow() as work:
        assert work.session.execute(select(AuditEntry.entity_id)).scalar_one() == "41"
