"""Broadcasts and their deliveries: claimed before sending, so each recipient gets one once.

Claiming is one `UPDATE … WHERE status = 'pending' … RETURNING`: on PostgreSQL a row another
transaction claimed meanwhile fails the re-checked condition after its lock is released, and
SQLite serialises writers (BEGIN IMMEDIATE), so two engines never claim one delivery.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update

from storage.models import BroadcastDelivery, BroadcastRow, Person, UnitRow
from storage.statuses import BroadcastState, DeliveryStatus
from storage.unit_of_work import Repository

LIVE = (BroadcastState.SCHEDULED, BroadcastState.SENDING)
OPEN_DELIVERY = (DeliveryStatus.PENDING, DeliveryStatus.CLAIMED)


class Broadcasts(Repository):
    """Broadcasts, their recipients and the state of each delivery."""

    def add(self, row: BroadcastRow) -> BroadcastRow:
        """Add a broadcast (its id is set on flush)."""
        self.session.add(row)
        return row

    def add_deliveries(self, rows: Sequence[BroadcastDelivery]) -> None:
        """Add the delivery rows of a broadcast."""
        self.session.add_all(rows)

    def by_id(self, broadcast_id: int) -> BroadcastRow | None:
        """The broadcast with this id."""
        return self.session.get(BroadcastRow, broadcast_id)

    def recent(self, limit: int) -> list[BroadcastRow]:
        """The newest broadcasts, newest first."""
        return list(
            self.session.execute(
                select(BroadcastRow).order_by(BroadcastRow.id.desc()).limit(limit)
            ).scalars()
        )

    def delivery(self, delivery_id: int) -> BroadcastDelivery | None:
        """The delivery with this id."""
        return self.session.get(BroadcastDelivery, delivery_id)

    def release_stale(self, older_than: datetime) -> int:
        """Put claims older than `older_than` back to pending (their engine died); how many."""
        result = self.session.execute(
            update(BroadcastDelivery)
            .where(
                BroadcastDelivery.status == DeliveryStatus.CLAIMED,
                BroadcastDelivery.claimed_at < older_than,
            )
            .values(status=DeliveryStatus.PENDING, claimed_by=None, claimed_at=None)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def start_due(self, now: datetime) -> None:
        """Mark scheduled broadcasts whose time has come as sending."""
        self.session.execute(
            update(BroadcastRow)
            .where(
                BroadcastRow.status == BroadcastState.SCHEDULED, BroadcastRow.scheduled_at <= now
            )
            .values(status=BroadcastState.SENDING)
        )

    def cancel_scheduled(self, broadcast_id: int) -> bool:
        """Cancel a broadcast still waiting for its time; False if it is not waiting."""
        result = self.session.execute(
            update(BroadcastRow)
            .where(
                BroadcastRow.id == broadcast_id, BroadcastRow.status == BroadcastState.SCHEDULED
            )
            .values(status=BroadcastState.CANCELLED)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]

    def claim(self, token: str, now: datetime, limit: int) -> list[int]:
        """Claim up to `limit` pending deliveries of broadcasts being sent; their ids."""
        candidates = (
            select(BroadcastDelivery.id)
            .join(BroadcastRow, BroadcastRow.id == BroadcastDelivery.broadcast_id)
            .where(
                BroadcastDelivery.status == DeliveryStatus.PENDING,
                BroadcastRow.status == BroadcastState.SENDING,
            )
            .order_by(BroadcastDelivery.id)
            .limit(limit)
            .scalar_subquery()
        )
        result = self.session.execute(
            update(BroadcastDelivery)
            .where(
                BroadcastDelivery.id.in_(candidates),
                BroadcastDelivery.status == DeliveryStatus.PENDING,
            )
            .values(
                status=DeliveryStatus.CLAIMED,
                claimed_by=token,
                claimed_at=now,
                attempts=BroadcastDelivery.attempts + 1,
            )
            .returning(BroadcastDelivery.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(int(i) for i in result.scalars())

    def claimed_details(
        self, ids: Sequence[int]
    ) -> list[tuple[BroadcastDelivery, BroadcastRow, str | None]]:
        """The claimed deliveries with their broadcast and the recipient's language."""
        if not ids:
            return []
        rows = self.session.execute(
            select(BroadcastDelivery, BroadcastRow, Person.language)
            .join(BroadcastRow, BroadcastRow.id == BroadcastDelivery.broadcast_id)
            .join(Person, Person.id == BroadcastDelivery.person_id)
            .where(BroadcastDelivery.id.in_(list(ids)))
            .order_by(BroadcastDelivery.id)
        ).all()
        return [(d, b, lang) for d, b, lang in rows]

    def settle(self, delivery_id: int, token: str, **values: object) -> bool:
        """Record the outcome of a delivery this claim `token` holds; False if it does not."""
        result = self.session.execute(
            update(BroadcastDelivery)
            .where(
                BroadcastDelivery.id == delivery_id,
                BroadcastDelivery.status == DeliveryStatus.CLAIMED,
                BroadcastDelivery.claimed_by == token,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]

    def finish_complete(self, now: datetime) -> list[int]:
        """Mark sending broadcasts with no open delivery left as done; their ids."""
        open_left = (
            select(BroadcastDelivery.id)
            .where(
                BroadcastDelivery.broadcast_id == BroadcastRow.id,
                BroadcastDelivery.status.in_(OPEN_DELIVERY),
            )
            .exists()
        )
        ids = list(
            self.session.execute(
                select(BroadcastRow.id).where(
                    BroadcastRow.status == BroadcastState.SENDING, ~open_left
                )
            ).scalars()
        )
        if ids:
            self.session.execute(
                update(BroadcastRow)
                .where(BroadcastRow.id.in_(ids), BroadcastRow.status == BroadcastState.SENDING)
                .values(status=BroadcastState.DONE, finished_at=now)
            )
        return ids

    def take_unreachable_notice(self, broadcast_id: int, now: datetime) -> bool:
        """Claim the one notice to the sender about unreachable recipients; False if taken."""
        result = self.session.execute(
            update(BroadcastRow)
            .where(
                BroadcastRow.id == broadcast_id,
                BroadcastRow.status == BroadcastState.DONE,
                BroadcastRow.unreachable_told_at.is_(None),
            )
            .values(unreachable_told_at=now)
        )
        return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]

    def unreachable_names(self, broadcast_id: int) -> list[str]:
        """The names of the recipients who could not be reached (blocked the bot, or failed)."""
        return list(
            self.session.execute(
                select(Person.display_name)
                .join(BroadcastDelivery, BroadcastDelivery.person_id == Person.id)
                .where(
                    BroadcastDelivery.broadcast_id == broadcast_id,
                    BroadcastDelivery.status.in_(
                        (DeliveryStatus.UNREACHABLE, DeliveryStatus.FAILED)
                    ),
                )
                .order_by(BroadcastDelivery.id)
            ).scalars()
        )

    def acknowledge(self, delivery_id: int, telegram_id: int, now: datetime) -> bool:
        """Set acknowledged_at of the recipient's own delivery once; False if not set now."""
        result = self.session.execute(
            update(BroadcastDelivery)
            .where(
                BroadcastDelivery.id == delivery_id,
                BroadcastDelivery.telegram_id == telegram_id,
                BroadcastDelivery.acknowledged_at.is_(None),
            )
            .values(acknowledged_at=now)
        )
        return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]

    def counts_by_unit(self, broadcast_id: int) -> list[tuple[str | None, str, bool, int]]:
        """(unit name, status, acknowledged, count) of a broadcast's deliveries."""
        acknowledged = BroadcastDelivery.acknowledged_at.is_not(None)
        rows = self.session.execute(
            select(UnitRow.name, BroadcastDelivery.status, acknowledged, func.count())
            .select_from(BroadcastDelivery)
            .outerjoin(UnitRow, UnitRow.id == BroadcastDelivery.unit_id)
            .where(BroadcastDelivery.broadcast_id == broadcast_id)
            .group_by(UnitRow.name, BroadcastDelivery.status, acknowledged)
        ).all()
        return [(name, status, bool(ack), int(n)) for name, status, ack, n in rows]
