"""Failures of the database itself, as plain errors the services and the CLI can explain."""

from __future__ import annotations


class DatabaseUnavailable(RuntimeError):
    """The database is locked by another writer for too long, or cannot be reached.

    `reason` is `locked` or `unreachable`; nothing of the interrupted change was stored.
    """

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"database {reason}: {detail}")
