"""One-time dashboard links: issued to a person, used once, within minutes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from storage.models import DashboardLink
from storage.unit_of_work import Repository


class DashboardLinks(Repository):
    """Links into the dashboard, known only by the SHA-256 of their token."""

    def add(self, row: DashboardLink) -> DashboardLink:
        """Add a link (its id is set on flush)."""
        self.session.add(row)
        return row

    def usable(self, token_hash: str, now: datetime) -> DashboardLink | None:
        """The link with this token hash if it is neither used nor expired at `now`."""
        return self.session.execute(
            select(DashboardLink).where(
                DashboardLink.token_hash == token_hash,
                DashboardLink.used_at.is_(None),
                DashboardLink.expires_at > now,
            )
        ).scalar_one_or_none()

    def use(self, token_hash: str, now: datetime) -> bool:
        """Mark the link used if it still is usable; whether it was (one conditional UPDATE,
        so of two concurrent uses exactly one wins, as with invites)."""
        result = cast(
            "CursorResult[Any]",
            self.session.execute(
                update(DashboardLink)
                .where(
                    DashboardLink.token_hash == token_hash,
                    DashboardLink.used_at.is_(None),
                    DashboardLink.expires_at > now,
                )
                .values(used_at=now)
                .execution_options(synchronize_session=False)
            ),
        )
        return result.rowcount == 1
