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
