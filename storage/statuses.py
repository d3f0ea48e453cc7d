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
