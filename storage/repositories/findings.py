"""Findings from supervision, their rectifications, false reports and good practices."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, select

from storage.models import (
    FalseReport,
    FindingEvidence,
    FindingRow,
    GoodPractice,
    Person,
    ProgressReport,
    RectificationEvidence,
    RectificationRow,
    UnitRow,
)
from storage.statuses import FindingStatus, Role
from storage.unit_of_work import Repository

UNSETTLED = (FindingStatus.OPEN, FindingStatus.SUBMITTED, FindingStatus.RETURNED)


class Findings(Repository):
    """Findings and the rectifications submitted for them."""

    def add(self, row: FindingRow) -> FindingRow:
        """Add a finding (its id is set on flush)."""
        self.session.add(row)
        return row

    def by_id(self, finding_id: int, lock: bool = False) -> FindingRow | None:
        """The finding with this id; locked until the commit if `lock`."""
        query = select(FindingRow).where(FindingRow.id == finding_id)
        if lock:
            query = query.with_for_update()
        return self.session.execute(query).scalar_one_or_none()

    def unsettled_of_unit(self, unit_id: int) -> list[FindingRow]:
        """A unit's findings not yet accepted, by deadline."""
        return list(
            self.session.execute(
                select(FindingRow)
                .where(FindingRow.unit_id == unit_id, FindingRow.status.in_(UNSETTLED))
                .order_by(FindingRow.deadline, FindingRow.id)
            ).scalars()
        )

    def of_year(self, year: int, unit_id: int | None = None) -> list[FindingRow]:
        """The findings of a year (of one unit if told), in the order they were recorded."""
        query = select(FindingRow).where(FindingRow.year == year)
        if unit_id is not None:
            query = query.where(FindingRow.unit_id == unit_id)
        return list(self.session.execute(query.order_by(FindingRow.id)).scalars())

    def attach_evidence(self, finding_id: int, evidence_ids: Iterable[int]) -> None:
        """Attach evidence files to a finding."""
        for evidence_id in evidence_ids:
            self.session.add(FindingEvidence(finding_id=finding_id, evidence_id=evidence_id))

    def evidence_of(self, finding_ids: Sequence[int]) -> dict[int, list[int]]:
        """The evidence ids of each finding, in the order attached."""
        out: dict[int, list[int]] = {i: [] for i in finding_ids}
        if not finding_ids:
            return out
        rows = self.session.execute(
            select(FindingEvidence.finding_id, FindingEvidence.evidence_id)
            .where(FindingEvidence.finding_id.in_(finding_ids))
            .order_by(FindingEvidence.id)
        )
        for finding_id, evidence_id in rows:
            out[finding_id].append(evidence_id)
        return out

    def add_rectification(self, row: RectificationRow) -> RectificationRow:
        """Add a rectification submission (its id is set on flush)."""
        self.session.add(row)
        return row

    def rectification(self, rectification_id: int, lock: bool = False) -> RectificationRow | None:
        """The rectification with this id; locked until the commit if `lock`."""
        query = select(RectificationRow).where(RectificationRow.id == rectification_id)
        if lock:
            query = query.with_for_update()
        return self.session.execute(query).scalar_one_or_none()

    def rectification_count(self, finding_id: int) -> int:
        """How many rectifications were submitted for a finding."""
        return int(
            self.session.execute(
                select(func.count())
                .select_from(RectificationRow)
                .where(RectificationRow.finding_id == finding_id)
            ).scalar_one()
        )

    def rectifications_of(self, finding_ids: Sequence[int]) -> dict[int, list[RectificationRow]]:
        """The rectifications of each finding, oldest first."""
        out: dict[int, list[RectificationRow]] = {i: [] for i in finding_ids}
        if not finding_ids:
            return out
        rows = self.session.execute(
            select(RectificationRow)
            .where(RectificationRow.finding_id.in_(finding_ids))
            .order_by(RectificationRow.submitted_at, RectificationRow.id)
        ).scalars()
        for row in rows:
            out[row.finding_id].append(row)
        return out

    def rectifications_of_year(self, year: int) -> list[RectificationRow]:
        """Every rectification of the findings of a year, oldest first."""
        return list(
            self.session.execute(
                select(RectificationRow)
                .join(FindingRow, FindingRow.id == RectificationRow.finding_id)
                .where(FindingRow.year == year)
                .order_by(RectificationRow.submitted_at, RectificationRow.id)
            ).scalars()
        )

    def undecided_rectifications(self) -> list[RectificationRow]:
        """Rectifications waiting for a decision, oldest first."""
        return list(
            self.session.execute(
                select(RectificationRow)
                .where(RectificationRow.decision.is_(None))
                .order_by(RectificationRow.submitted_at, RectificationRow.id)
            ).scalars()
        )

    def attach_rectification_evidence(
        self, rectification_id: int, evidence_ids: Iterable[int]
    ) -> None:
        """Attach evidence files to a rectification."""
        for evidence_id in evidence_ids:
            self.session.add(
                RectificationEvidence(rectification_id=rectification_id, evidence_id=evidence_id)
            )

    def rectification_evidence_of(self, rectification_ids: Sequence[int]) -> dict[int, list[int]]:
        """The evidence ids of each rectification, in the order attached."""
        out: dict[int, list[int]] = {i: [] for i in rectification_ids}
        if not rectification_ids:
            return out
        rows = self.session.execute(
            select(RectificationEvidence.rectification_id, RectificationEvidence.evidence_id)
            .where(RectificationEvidence.rectification_id.in_(rectification_ids))
            .order_by(RectificationEvidence.id)
        )
        for rectification_id, evidence_id in rows:
            out[rectification_id].append(evidence_id)
        return out

    def by_ids(self, finding_ids: Iterable[int]) -> dict[int, FindingRow]:
        """Findings by id."""
        wanted = set(finding_ids)
        if not wanted:
            return {}
        rows = self.session.execute(select(FindingRow).where(FindingRow.id.in_(wanted)))
        return {row.id: row for row in rows.scalars()}


class FalseReports(Repository):
    """False reports (虚报) confirmed by coordinators."""

    def add(self, row: FalseReport) -> FalseReport:
        """Add a confirmed false report."""
        self.session.add(row)
        return row

    def of_year(self, year: int) -> list[FalseReport]:
        """The false reports of a year, in the order confirmed."""
        return list(
            self.session.execute(
                select(FalseReport)
                .where(FalseReport.year == year)
                .order_by(FalseReport.confirmed_at, FalseReport.id)
            ).scalars()
        )

    def report(self, report_id: int) -> ProgressReport | None:
        """The progress report version a false report refers to."""
        return self.session.get(ProgressReport, report_id)


class GoodPractices(Repository):
    """Good practices (典型经验) recorded from supervision."""

    def add(self, row: GoodPractice) -> GoodPractice:
        """Add a good practice."""
        self.session.add(row)
        return row

    def of_year(self, year: int) -> list[GoodPractice]:
        """The good practices of a year, in the order recorded."""
        return list(
            self.session.execute(
                select(GoodPractice)
                .where(GoodPractice.year == year)
                .order_by(GoodPractice.recorded_at, GoodPractice.id)
            ).scalars()
        )


class Contacts(Repository):
    """Units as seen by supervision, and whom to tell about them."""

    def unit(self, unit_id: int, lock: bool = False) -> UnitRow | None:
        """The unit with this id; locked until the commit if `lock` (to serialise requests)."""
        query = select(UnitRow).where(UnitRow.id == unit_id)
        if lock:
            query = query.with_for_update()
        return self.session.execute(query).scalar_one_or_none()

    def units(self, unit_ids: Iterable[int]) -> dict[int, UnitRow]:
        """Units by id."""
        wanted = set(unit_ids)
        if not wanted:
            return {}
        rows = self.session.execute(select(UnitRow).where(UnitRow.id.in_(wanted)))
        return {row.id: row for row in rows.scalars()}

    def liaison_telegram_ids(self, unit_id: int) -> tuple[int, ...]:
        """The Telegram user ids of a unit's active liaisons."""
        ids = self.session.execute(
            select(Person.telegram_user_id)
            .where(
                Person.unit_id == unit_id,
                Person.role == Role.LIAISON,
                Person.active.is_(True),
                Person.telegram_user_id.is_not(None),
            )
            .order_by(Person.id)
        ).scalars()
        return tuple(i for i in ids if i is not None)

    def coordinator_telegram_ids(self) -> tuple[int, ...]:
        """The Telegram user ids of the active coordinators (who review and decide)."""
        ids = self.session.execute(
            select(Person.telegram_user_id)
            .where(
                Person.role == Role.COORDINATOR,
                Person.active.is_(True),
                Person.telegram_user_id.is_not(None),
            )
            .order_by(Person.id)
        ).scalars()
        return tuple(i for i in ids if i is not None)
