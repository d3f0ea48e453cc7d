"""Statuses and kinds of the records, as enums the models, services, bot, web and cli share.

Each is a `StrEnum`: a member is equal to (and stored, hashed and serialised as) its value, so
the database columns and the JSON keep the very strings they held before the enums.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """The roles of people in kaohe (a person's and an invitation's `role`)."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"
    RATER = "rater"
    LIAISON = "liaison"
    VIEWER = "viewer"


class FindingStatus(StrEnum):
    """Where a supervision finding stands; `overdue` is derived (past its deadline, unsettled)."""

    OPEN = "open"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    ACCEPTED = "accepted"
    OVERDUE = "overdue"


class ResultStatus(StrEnum):
    """Where a year's result (the standings frozen for approval, 领导小组审定) stands."""

    DRAFT = "draft"
    RETURNED = "returned"
    APPROVED = "approved"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"


class SupervisionKind(StrEnum):
    """How a supervision activity is done (Art. 8); the same codes as a finding's source."""

    ON_SITE_INSPECTION = "on_site_inspection"  # 实地检查
    DISPATCH_MEETING = "dispatch_meeting"  # 会议调度
    VISIT = "visit"  # 调研走访
    LEDGER_MONITORING = "ledger_monitoring"  # 台账监控
    SPECIAL = "special"  # 专项督导
    COMPREHENSIVE = "half_year_comprehensive"  # 全面督导


class BonusStatus(StrEnum):
    """Where a claimed bonus item (加分项) stands: waiting, approved or rejected."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class EntryStatus(StrEnum):
    """The progress of one task in a monthly report (月跟踪), in the order it is offered."""

    NOT_STARTED = "not_started"
    ON_TRACK = "on_track"
    BEHIND = "behind"
    DONE = "done"


class RectificationDecision(StrEnum):
    """A reviewer's decision on a rectification; the finding takes the same status."""

    ACCEPTED = FindingStatus.ACCEPTED.value
    RETURNED = FindingStatus.RETURNED.value


class ExtensionDecision(StrEnum):
    """A coordinator's decision on a request for a later deadline."""

    GRANTED = "granted"
    REFUSED = "refused"


class BroadcastState(StrEnum):
    """Where a broadcast (/broadcast) stands: waiting for its time, being sent, or over (not
    `BroadcastStatus`: that is how its deliveries went, in services.broadcasts)."""

    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class DeliveryStatus(StrEnum):
    """Where one recipient's copy of a broadcast stands; claimed before it is sent."""

    PENDING = "pending"
    CLAIMED = "claimed"
    DELIVERED = "delivered"
    FAILED = "failed"
    UNREACHABLE = "unreachable"


class ReminderStatus(StrEnum):
    """Where a planned reminder row stands; claimed by one scheduler before it is sent."""

    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"


class ReminderKind(StrEnum):
    """What a reminder row (or an outgoing message of the scheduler) is; its text is
    `remind.<kind>` in the catalogs."""

    REPORT_DUE = "report_due"
    REPORT_OVERDUE = "report_overdue"
    FINDING_DUE = "finding_due"
    FINDING_OVERDUE = "finding_overdue"
    ESCALATION = "escalation"
    DIGEST = "digest"
    UNREACHABLE = "unreachable"
    # Never stored: the one message that gathers reminders gone stale while the bot was down.
    CATCH_UP = "catch_up"
    # The peer rating (互评): the notice that a round is open, the ladder of its vote-by day,
    # and a reminder a coordinator asks for.
    PEER_OPEN = "peer_open"
    PEER_DUE = "peer_due"
    PEER_OVERDUE = "peer_overdue"
    PEER_REMIND = "peer_remind"
    # An activity of the supervision plan: the coordinators are told the day before.
    ACTIVITY_UPCOMING = "activity_upcoming"


class RoundState(StrEnum):
    """Whether a peer rating round (互评) takes votes; derived from its `closed_at`."""

    OPEN = "open"
    CLOSED = "closed"


class VotingProgress(StrEnum):
    """How far a unit is with its cards in a peer rating round; derived from its votes."""

    DONE = "done"
    PARTLY = "partly"
    NOT_STARTED = "not_started"


class FileKind(StrEnum):
    """What Telegram sent a file as: an evidence file's kind; a broadcast carries a photo or a
    document."""

    PHOTO = "photo"
    DOCUMENT = "document"
    VIDEO = "video"
    AUDIO = "audio"
