"""Year results frozen for approval, approvers, and the mark of the data they came from."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import AuditEntry, Person, YearResult
from storage.unit_of_work import Repository


class YearResults(Repository):
    """The drafts, approved and published results of every year, versioned per year."""

    def add(self, row: YearResult) -> YearResult:
        """Add a result (its id is set on flush)."""
        self.session.add(row)
        return row

    def by_id(self, result_id: int, lock: bool = False) -> YearResult | None:
        """The result with this id; locked until the commit if `lock`."""
        query = select(YearResult).where(YearResult.id == result_id)
        if lock:
            query = query.with_for_update()
        return self.session.execute(query).scalar_one_or_none()

    def of_year(self, year: int) -> list[YearResult]:
        """Every result of a year, newest first."""
        return list(
            self.session.execute(
                select(YearResult)
                .where(YearResult.year == year)
                .order_by(YearResult.version.desc())
            ).scalars()
        )

    def latest(self, year: int, lock: bool = False) -> YearResult | None:
        """The newest result of a year; locked until the commit if `lock`."""
        query = (
            select(YearResult)
            .where(YearResult.year == year)
            .order_by(YearResult.version.desc())
            .limit(1)
        )
        if lock:
            query = query.with_for_update()
        return self.session.execute(query).scalar_one_or_none()

    def next_version(self, year: int) -> int:
        """The version number the next result of `year` gets."""
        latest = self.session.execute(
            select(func.max(YearResult.version)).where(YearResult.year == year)
        ).scalar_one()
        return (latest or 0) + 1

    def last_audit_id(self) -> int:
        """The id of the newest audit entry (every change is one): a version of all data."""
        return int(self.session.execute(select(func.max(AuditEntry.id))).scalar_one() or 0)

    def approvers(self) -> list[Person]:
        """The active people marked as approvers, in the order they were added."""
        return list(
            self.session.execute(
                select(Person)
                .where(Person.approver.is_(True), Person.active.is_(True))
                .order_by(Person.id)
            ).scalars()
        )

    def people_with_roles(self, roles: tuple[str, ...]) -> list[Person]:
        """The active people with one of `roles` (coordinators told of a decision)."""
        return list(
            self.session.execute(
                select(Person)
                .where(Person.role.in_(roles), Person.active.is_(True))
                .order_by(Person.id)
            ).scalars()
        )
