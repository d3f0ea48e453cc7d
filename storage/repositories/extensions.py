"""Extension requests for findings and monthly reports."""

from __future__ import annotations

from datetime import date
from typing import cast

from sqlalchemy import Table, bindparam, select

from storage.models import ExtensionRequest
from storage.statuses import ExtensionDecision
from storage.unit_of_work import Repository

_REQUESTS = cast(Table, ExtensionRequest.__table__)
# Read at every report submission: a Core statement built once.
_GRANTED = (
    select(_REQUESTS.c.requested_date)
    .where(
        _REQUESTS.c.unit_id == bindparam("unit_id"),
        _REQUESTS.c.report_year == bindparam("year"),
        _REQUESTS.c.report_month == bindparam("month"),
        _REQUESTS.c.decision == ExtensionDecision.GRANTED,
    )
    .order_by(_REQUESTS.c.decided_at.desc(), _REQUESTS.c.id.desc())
    .limit(1)
)


class Extensions(Repository):
    """Extension requests and their decisions."""

    def granted_report_extension(self, unit_id: int, year: int, month: int) -> date | None:
        """The latest granted new deadline of a unit's report for a month, if any."""
        row = (
            self.session.connection()
            .execute(_GRANTED, {"unit_id": unit_id, "year": year, "month": month})
            .scalar_one_or_none()
        )
        return row

    def add(self, row: ExtensionRequest) -> ExtensionRequest:
        """Add an extension request (its id is set on flush)."""
        self.session.add(row)
        return row

    def by_id(self, request_id: int, lock: bool = False) -> ExtensionRequest | None:
        """The request with this id; locked until the commit if `lock`."""
        query = select(ExtensionRequest).where(ExtensionRequest.id == request_id)
        if lock:
            query = query.with_for_update()
        return self.session.execute(query).scalar_one_or_none()

    def pending_for_finding(self, finding_id: int) -> ExtensionRequest | None:
        """The undecided request for a finding's deadline, if any."""
        return self.session.execute(
            select(ExtensionRequest)
            .where(
                ExtensionRequest.finding_id == finding_id,
                ExtensionRequest.decision.is_(None),
            )
            .limit(1)
        ).scalar_one_or_none()

    def pending_for_report(self, unit_id: int, year: int, month: int) -> ExtensionRequest | None:
        """The undecided request for a unit's report of a month, if any."""
        return self.session.execute(
            select(ExtensionRequest)
            .where(
                ExtensionRequest.unit_id == unit_id,
                ExtensionRequest.report_year == year,
                ExtensionRequest.report_month == month,
                ExtensionRequest.decision.is_(None),
            )
            .limit(1)
        ).scalar_one_or_none()

    def pending(self) -> list[ExtensionRequest]:
        """Every undecided request, oldest first."""
        return list(
            self.session.execute(
                select(ExtensionRequest)
                .where(ExtensionRequest.decision.is_(None))
                .order_by(ExtensionRequest.requested_at, ExtensionRequest.id)
            ).scalars()
        )

    def of_unit(self, unit_id: int) -> list[ExtensionRequest]:
        """A unit's requests, newest first."""
        return list(
            self.session.execute(
                select(ExtensionRequest)
                .where(ExtensionRequest.unit_id == unit_id)
                .order_by(ExtensionRequest.requested_at.desc(), ExtensionRequest.id.desc())
            ).scalars()
        )
