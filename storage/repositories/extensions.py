"""Extension requests for findings and monthly reports."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from storage.models import ExtensionRequest
from storage.unit_of_work import Repository


class Extensions(Repository):
    """Extension requests and their decisions."""

    def granted_report_extension(self, unit_id: int, year: int, month: int) -> date | None:
        """The latest granted new deadline of a unit's report for a month, if any."""
        row = self.session.execute(
            select(ExtensionRequest.requested_date)
            .where(
                ExtensionRequest.unit_id == unit_id,
                ExtensionRequest.report_year == year,
                ExtensionRequest.report_month == month,
                ExtensionRequest.decision == "granted",
            )
            .order_by(ExtensionRequest.decided_at.desc(), ExtensionRequest.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        return row
