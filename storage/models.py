"""The database schema of kaohe as SQLAlchemy 2 typed models.

History is never overwritten: corrections are new versions (reports, value sets, plans),
replaced grades keep a `replaced_at`, decisions are new columns set once, and every change is
recorded in the hash-chained audit log.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from storage.statuses import (
    BonusStatus,
    BroadcastState,
    DeliveryStatus,
    EntryStatus,
    ExtensionDecision,
    FileKind,
    FindingStatus,
    RectificationDecision,
    ReminderKind,
    ReminderStatus,
    ResultStatus,
    Role,
    SupervisionKind,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every model; constraint names are fixed so migrations stay stable."""

    metadata = MetaData(naming_convention=NAMING)


def _id() -> Mapped[int]:
    return mapped_column(Integer, primary_key=True, autoincrement=True)


class Status(TypeDecorator[StrEnum]):
    """A plain VARCHAR column holding the values of one `StrEnum` (no database enum type, so
    no migration): rows load as members of the enum, and a member is written as its value."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """The value as plain text; other text passes as it is (`LIKE 'peer_%'` patterns)."""
        return value.value if isinstance(value, StrEnum) else value

    def process_result_value(self, value: Any, dialect: Dialect) -> StrEnum | None:
        """The stored text as a member of the enum."""
        return None if value is None else self.enum(value)


class UnitRow(Base):
    """An assessed unit (考核对象)."""

    __tablename__ = "units"
    id: Mapped[int] = _id()
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    group: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Person(Base):
    """Someone who uses kaohe: admin, coordinator, rater, liaison or viewer."""

    __tablename__ = "people"
    id: Mapped[int] = _id()
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(Status(Role, 32))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A leader (viewer) of the Leading Group who approves the year's results (领导小组审定).
    approver: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    unit: Mapped[UnitRow | None] = relationship()


class Invite(Base):
    """A one-time, expiring invitation bound to a role (and a unit for liaisons)."""

    __tablename__ = "invites"
    id: Mapped[int] = _id()
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(Status(Role, 32))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    redeemed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    redeemed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class PlanVersion(Base):
    """The plan of a year as loaded (YAML text), one row per version."""

    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("year", "version"),)
    id: Mapped[int] = _id()
    year: Mapped[int] = mapped_column(Integer, index=True)
    version: Mapped[int] = mapped_column(Integer)
    yaml_text: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    loaded_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class ValueSet(Base):
    """One import of a year's indicator values; the newest version is the one in force.

    A set is written in chunks before it is published: until then its `version` is NULL (and
    `imported_at` when its writing began), and no reader sees it.
    """

    __tablename__ = "value_sets"
    __table_args__ = (UniqueConstraint("year", "version"),)
    id: Mapped[int] = _id()
    year: Mapped[int] = mapped_column(Integer, index=True)
    version: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(500))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    imported_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class IndicatorValue(Base):
    """One unit's value of one indicator in a value set; NULL = the unit gave no figure."""

    __tablename__ = "indicator_values"
    __table_args__ = (UniqueConstraint("value_set_id", "unit_id", "indicator"),)
    id: Mapped[int] = _id()
    # The unique constraint below starts with value_set_id, so it serves as its index too.
    value_set_id: Mapped[int] = mapped_column(ForeignKey("value_sets.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    indicator: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)


class GradeRow(Base):
    """One rater's grade of a unit's work item for a period; a re-grade replaces, keeping it."""

    __tablename__ = "grades"
    __table_args__ = (
        # One grade in force per unit, item, period and rater; replaced ones are kept.
        Index(
            "uq_grades_in_force",
            "year",
            "unit_id",
            "item",
            "period",
            "rater",
            unique=True,
            postgresql_where=text("replaced_at IS NULL"),
            sqlite_where=text("replaced_at IS NULL"),
        ),
    )
    id: Mapped[int] = _id()
    year: Mapped[int] = mapped_column(Integer, index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    item: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(8))
    rater: Mapped[str] = mapped_column(String(200))
    grade: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    replaced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BonusRow(Base):
    """A bonus item (加分项) claimed for a unit, with its evidence and decision."""

    __tablename__ = "bonus_items"
    id: Mapped[int] = _id()
    year: Mapped[int] = mapped_column(Integer, index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    title: Mapped[str] = mapped_column(String(500))
    evidence_text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[BonusStatus] = mapped_column(Status(BonusStatus, 16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TaskRow(Base):
    """A target task (目标任务) of a unit for a year."""

    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("year", "unit_id", "code"),)
    id: Mapped[int] = _id()
    year: Mapped[int] = mapped_column(Integer, index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    code: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(500))
    source_document: Mapped[str] = mapped_column(String(500), default="")
    target: Mapped[str] = mapped_column(String(500), default="")
    due_date: Mapped[date | None] = mapped_column(Date)
    work_item: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EvidenceRow(Base):
    """An evidence file: where Telegram keeps it, what it is, and its archive copy by hash."""

    __tablename__ = "evidence"
    id: Mapped[int] = _id()
    telegram_file_id: Mapped[str | None] = mapped_column(String(300))
    telegram_unique_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    kind: Mapped[FileKind] = mapped_column(Status(FileKind, 16))
    file_name: Mapped[str | None] = mapped_column(String(300))
    mime_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    archive_path: Mapped[str | None] = mapped_column(String(300))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Set when a record keeps the file without a link row of its own (an imported workbook),
    # so that pruning never removes it.
    kept_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ProgressReport(Base):
    """One version of a unit's monthly progress report (月跟踪)."""

    __tablename__ = "progress_reports"
    __table_args__ = (UniqueConstraint("unit_id", "year", "month", "version"),)
    id: Mapped[int] = _id()
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    on_time: Mapped[bool] = mapped_column(Boolean)
    receipt: Mapped[str] = mapped_column(String(32), unique=True)
    entries: Mapped[list[ReportEntry]] = relationship(
        back_populates="report", order_by="ReportEntry.id"
    )


class ReportEntry(Base):
    """The progress of one task in one report version."""

    __tablename__ = "report_entries"
    id: Mapped[int] = _id()
    report_id: Mapped[int] = mapped_column(ForeignKey("progress_reports.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    status: Mapped[EntryStatus] = mapped_column(Status(EntryStatus, 16))
    figure: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    report: Mapped[ProgressReport] = relationship(back_populates="entries")


class ReportEvidence(Base):
    """An evidence file attached to a report version (optionally to one of its tasks)."""

    __tablename__ = "report_evidence"
    id: Mapped[int] = _id()
    report_id: Mapped[int] = mapped_column(ForeignKey("progress_reports.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    evidence_id: Mapped[int] = mapped_column(ForeignKey("evidence.id"))


class MonthClosure(Base):
    """A month closed by a coordinator: units without a report then count as missing."""

    __tablename__ = "month_closures"
    __table_args__ = (UniqueConstraint("year", "month"),)
    id: Mapped[int] = _id()
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class FindingRow(Base):
    """A problem found in supervision (督导发现问题), with its rectification deadline."""

    __tablename__ = "findings"
    id: Mapped[int] = _id()
    year: Mapped[int] = mapped_column(Integer, index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    source: Mapped[SupervisionKind] = mapped_column(Status(SupervisionKind, 32))
    found_at: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date)
    # Never `overdue`: that is derived from the deadline.
    status: Mapped[FindingStatus] = mapped_column(Status(FindingStatus, 16))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The supervision activity of the year's plan it came from, if named.
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("supervision_activities.id"))


class FindingEvidence(Base):
    """A photo or document the coordinator attached when recording a finding."""

    __tablename__ = "finding_evidence"
    id: Mapped[int] = _id()
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id"), index=True)
    evidence_id: Mapped[int] = mapped_column(ForeignKey("evidence.id"))


class RectificationRow(Base):
    """A unit's rectification submission (整改) for a finding, and the reviewer's decision."""

    __tablename__ = "rectifications"
    id: Mapped[int] = _id()
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    receipt: Mapped[str] = mapped_column(String(32), unique=True)
    decision: Mapped[RectificationDecision | None] = mapped_column(
        Status(RectificationDecision, 16)
    )
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RectificationEvidence(Base):
    """An evidence file of a rectification submission."""

    __tablename__ = "rectification_evidence"
    id: Mapped[int] = _id()
    rectification_id: Mapped[int] = mapped_column(ForeignKey("rectifications.id"), index=True)
    evidence_id: Mapped[int] = mapped_column(ForeignKey("evidence.id"))


class ExtensionRequest(Base):
    """A request for a later deadline, for a finding or a month's report, and its decision."""

    __tablename__ = "extension_requests"
    id: Mapped[int] = _id()
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("findings.id"))
    report_year: Mapped[int | None] = mapped_column(Integer)
    report_month: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    requested_date: Mapped[date] = mapped_column(Date)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decision: Mapped[ExtensionDecision | None] = mapped_column(Status(ExtensionDecision, 16))
    reason_for_decision: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FalseReport(Base):
    """A false report (虚报) confirmed by a coordinator; it costs basic-work points."""

    __tablename__ = "false_reports"
    id: Mapped[int] = _id()
    year: Mapped[int] = mapped_column(Integer, index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    description: Mapped[str] = mapped_column(Text)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("progress_reports.id"))
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    confirmed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class GoodPractice(Base):
    """A good practice (典型经验) found in supervision, to be written up and promoted."""

    __tablename__ = "good_practices"
    id: Mapped[int] = _id()
    year: Mapped[int] = mapped_column(Integer, index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """One change, append-only; `hash` covers the entry and the hash of the one before it."""

    __tablename__ = "audit_log"
    id: Mapped[int] = _id()
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, object] | None] = mapped_column(JSON)
    after: Mapped[dict[str, object] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The single row holding the newest audit hash; locked while appending, so that
    concurrent writers chain one after the other, and a deleted newest entry is found."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


class DialogState(Base):
    """A person's place in one kind of bot dialog and the draft typed so far.

    Written at every step, so that a restart or a crash loses nothing. One row per person and
    dialog kind, so an unfinished report survives starting a rectification; the most recently
    updated row is the dialog in progress. `version` grows with every dialog a person starts,
    so that buttons of an older dialog are recognised as expired.
    """

    __tablename__ = "dialog_states"
    __table_args__ = (UniqueConstraint("person_id", "kind"),)
    id: Mapped[int] = _id()
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, object]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Publication(Base):
    """Standings made visible to units (the year's, or a quarter's) by a coordinator."""

    __tablename__ = "publications"
    id: Mapped[int] = _id()
    year: Mapped[int] = mapped_column(Integer, index=True)
    period: Mapped[str] = mapped_column(String(8))  # year | Q1..Q4
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BroadcastRow(Base):
    """A notice a coordinator sends to an audience, now or at a set time (/broadcast).

    Its recipients are resolved into `broadcast_deliveries` rows when it is confirmed, so a
    crash or a later change of people never changes who gets it.
    """

    __tablename__ = "broadcasts"
    id: Mapped[int] = _id()
    text: Mapped[str] = mapped_column(Text)
    file_id: Mapped[str | None] = mapped_column(String(255))
    file_kind: Mapped[FileKind | None] = mapped_column(Status(FileKind, 16))  # photo | document
    audience: Mapped[dict[str, object]] = mapped_column(JSON)
    scheduled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[BroadcastState] = mapped_column(Status(BroadcastState, 16), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set once, when the sender has been told who could not be reached.
    unreachable_told_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BroadcastDelivery(Base):
    """One recipient of a broadcast: claimed before sending, so it is sent once."""

    __tablename__ = "broadcast_deliveries"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "person_id"),
        Index("ix_broadcast_deliveries_status_broadcast", "status", "broadcast_id"),
    )
    id: Mapped[int] = _id()
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    status: Mapped[DeliveryStatus] = mapped_column(Status(DeliveryStatus, 16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)


class ReminderRow(Base):
    """A reminder, overdue notice, escalation or digest to send one person once; planned
    from the deadlines, claimed by one scheduler before it is sent."""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("kind", "target", "person_id", "due_on"),)
    id: Mapped[int] = _id()
    kind: Mapped[ReminderKind] = mapped_column(Status(ReminderKind, 32))
    target: Mapped[str] = mapped_column(String(64))  # e.g. report:2025-03:7, finding:12
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    due_on: Mapped[date] = mapped_column(Date)  # the local day it belongs to
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    send_after: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    params: Mapped[dict[str, object]] = mapped_column(JSON)
    status: Mapped[ReminderStatus] = mapped_column(Status(ReminderStatus, 16), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UnreachablePerson(Base):
    """Someone Telegram refused to deliver reminders to (blocked the bot); cleared when a
    message reaches them again. Coordinators are told once per such spell."""

    __tablename__ = "unreachable_people"
    id: Mapped[int] = _id()
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), unique=True)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)


class PeerRound(Base):
    """The peer rating (互评) of a year in one group: opened by a coordinator, then closed,
    which freezes its votes. `vote_by` is the day units are asked to have voted by."""

    __tablename__ = "peer_rounds"
    __table_args__ = (UniqueConstraint("year", "group"),)
    id: Mapped[int] = _id()
    year: Mapped[int] = mapped_column(Integer)
    group: Mapped[str] = mapped_column(String(32))
    vote_by: Mapped[date | None] = mapped_column(Date)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class PeerVote(Base):
    """One unit's grade of another unit's work item in a year's peer rating (one vote per
    rating unit, whichever of its liaisons cast it); a changed vote replaces, keeping it."""

    __tablename__ = "peer_votes"
    __table_args__ = (
        # One vote in force per rated unit, item and rating unit; replaced ones are kept.
        Index(
            "uq_peer_votes_in_force",
            "year",
            "unit_id",
            "item",
            "rater_unit_id",
            unique=True,
            postgresql_where=text("replaced_at IS NULL"),
            sqlite_where=text("replaced_at IS NULL"),
        ),
    )
    id: Mapped[int] = _id()
    year: Mapped[int] = mapped_column(Integer, index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    rater_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    item: Mapped[str] = mapped_column(String(64))
    grade: Mapped[str] = mapped_column(String(16))
    cast_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cast_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    replaced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class YearResult(Base):
    """A year's standings frozen as a result for approval (Art. 16): every number (`snapshot`),
    the plan and data versions it came from and a hash of it. A draft is approved or returned
    (with remarks) by an approver; only an approved one is published; a newer draft supersedes
    the older ones. `as_of` is the moment the standings were computed at."""

    __tablename__ = "year_results"
    __table_args__ = (UniqueConstraint("year", "version"),)
    id: Mapped[int] = _id()
    year: Mapped[int] = mapped_column(Integer, index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[ResultStatus] = mapped_column(Status(ResultStatus, 16))
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    plan_version: Mapped[int] = mapped_column(Integer)
    data_versions: Mapped[dict[str, object]] = mapped_column(JSON)
    snapshot: Mapped[dict[str, object]] = mapped_column(JSON)
    snapshot_hash: Mapped[str] = mapped_column(String(64))
    drafted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    drafted_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    remarks: Mapped[str | None] = mapped_column(Text)
    publication_id: Mapped[int | None] = mapped_column(ForeignKey("publications.id"))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DashboardLink(Base):
    """A one-time link into the dashboard on a desk browser, known only by its token's hash."""

    __tablename__ = "dashboard_links"
    id: Mapped[int] = _id()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class YearClosure(Base):
    """A closed year: its approved result was published, and nothing of it changes any more
    (every service refuses); everything of it stays readable."""

    __tablename__ = "year_closures"
    id: Mapped[int] = _id()
    year: Mapped[int] = mapped_column(Integer, unique=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("year_results.id"))
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class SupervisionActivity(Base):
    """An activity of a year's supervision plan (督导计划): its day, kind (the codes of a
    finding's source), focus and units (`unit_ids`; empty: every unit); done once marked so or
    once a finding names it."""

    __tablename__ = "supervision_activities"
    id: Mapped[int] = _id()
    year: Mapped[int] = mapped_column(Integer, index=True)
    planned_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[SupervisionKind] = mapped_column(Status(SupervisionKind, 32))
    focus: Mapped[str] = mapped_column(Text)
    unit_ids: Mapped[list[int]] = mapped_column(JSON)
    done_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
