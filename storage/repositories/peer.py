"""The peer rating (互评): rounds per year and group, and the votes of the units."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, and_, insert, or_, select, update

from storage.clock import as_utc
from storage.models import PeerRound, PeerVote
from storage.unit_of_work import Repository


class VoteInForce(NamedTuple):
    """A vote in force: who rated whom on which item, the grade, who cast it and when."""

    id: int
    unit_id: int
    rater_unit_id: int
    item: str
    grade: str
    cast_by: int | None
    cast_at: datetime


class PeerRounds(Repository):
    """Peer rating rounds, one per year and group."""

    def get(self, year: int, group: str, lock: bool = False) -> PeerRound | None:
        """The round of `year` in `group` (locked until the end of the transaction if asked,
        so that a vote and the round's closing are applied one after the other)."""
        query = select(PeerRound).where(PeerRound.year == year, PeerRound.group == group)
        if lock:
            query = query.with_for_update()
        return self.session.execute(query).scalar_one_or_none()

    def of_year(self, year: int) -> list[PeerRound]:
        """The rounds of `year`, in the order they were opened."""
        return list(
            self.session.execute(
                select(PeerRound).where(PeerRound.year == year).order_by(PeerRound.id)
            ).scalars()
        )

    def all(self) -> list[PeerRound]:
        """Every round, in the order they were opened."""
        return list(self.session.execute(select(PeerRound).order_by(PeerRound.id)).scalars())

    def open_rounds(self) -> list[PeerRound]:
        """Every round not closed yet, oldest first."""
        return list(
            self.session.execute(
                select(PeerRound).where(PeerRound.closed_at.is_(None)).order_by(PeerRound.id)
            ).scalars()
        )

    def add(self, row: PeerRound) -> PeerRound:
        """Add a round (its id is set on flush)."""
        self.session.add(row)
        return row


def _in_force(as_of: datetime | None) -> Any:
    """Votes in force: not replaced; or, as of a moment, cast by then and not yet replaced."""
    if as_of is None:
        return PeerVote.replaced_at.is_(None)
    moment = as_utc(as_of)
    return and_(
        PeerVote.cast_at <= moment,
        or_(PeerVote.replaced_at.is_(None), PeerVote.replaced_at > moment),
    )


class PeerVotes(Repository):
    """The units' votes; a changed vote sets `replaced_at` on the old row and adds a new one."""

    def in_force(
        self,
        year: int,
        as_of: datetime | None = None,
        rater_unit_ids: Iterable[int] | None = None,
    ) -> list[VoteInForce]:
        """The votes of `year` in force (as of a moment), of some rating units if given,
        in the order cast."""
        query = select(
            PeerVote.id,
            PeerVote.unit_id,
            PeerVote.rater_unit_id,
            PeerVote.item,
            PeerVote.grade,
            PeerVote.cast_by,
            PeerVote.cast_at,
        ).where(PeerVote.year == year, _in_force(as_of))
        if rater_unit_ids is not None:
            query = query.where(PeerVote.rater_unit_id.in_(sorted(set(rater_unit_ids))))
        rows = self.session.execute(query.order_by(PeerVote.id)).all()
        return [VoteInForce(*row) for row in rows]

    def add(self, row: PeerVote) -> PeerVote:
        """Add one vote."""
        self.session.add(row)
        return row

    def mark_replaced(self, ids: Iterable[int], at: datetime) -> None:
        """Set `replaced_at` on the votes with these ids."""
        ids = list(ids)
        for start in range(0, len(ids), 1000):  # keeps under every backend's parameter limit
            self.session.execute(
                update(PeerVote)
                .where(PeerVote.id.in_(ids[start : start + 1000]))
                .values(replaced_at=at)
                .execution_options(synchronize_session=False)
            )

    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert votes in one executemany."""
        if rows:
            self.session.execute(insert(cast(Table, PeerVote.__table__)), list(rows))
