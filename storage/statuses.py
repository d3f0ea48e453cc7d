"""Statuses of the records, as enums the models, services and file writers share."""

from __future__ import annotations

from enum import StrEnum


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
