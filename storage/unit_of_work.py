"""The unit of work: one transaction, its repositories, its audit entries; the only committer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from storage.audit import PreparedChange, append, append_many
from storage.clock import Clock, SystemClock
from storage.database import Database
from storage.errors import DatabaseUnavailable

R = TypeVar("R", bound="Repository")


class Repository:
    """Base of repositories: queries and additions within a unit of work; never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session


# PostgreSQL's lock_timeout, deadlock and serialisation failures: another writer held what this
# one needed; trying again shortly succeeds, like SQLite's "database is locked".
_BUSY_STATES = frozenset({"55P03", "40P01", "40001"})


def _unavailable(exc: BaseException) -> DatabaseUnavailable:
    original = getattr(exc, "orig", exc)
    text = str(original or exc).strip().splitlines()[0] if str(exc) else ""
    lowered = text.lower()
    busy = getattr(original, "sqlstate", None) in _BUSY_STATES or any(
        word in lowered for word in ("locked", "busy", "lock timeout")
    )
    return DatabaseUnavailable("locked" if busy else "unreachable", text)


class UnitOfWork:
    """A transaction: use with `with`; nothing is stored unless `commit()` is called.

    A read-only one cannot write. On PostgreSQL each of its statements sees what was committed
    when the statement began (READ COMMITTED, each statement on its own: no BEGIN or ROLLBACK
    to wait for); a `snapshot` one sees the database as it was at its first statement for all
    of them (REPEATABLE READ), as every read-only one does on SQLite.
    """

    def __init__(
        self,
        database: Database,
        clock: Clock | None = None,
        read_only: bool = False,
        snapshot: bool = False,
    ):
        self.database = database
        self.clock: Clock = clock or SystemClock()
        self.read_only = read_only or snapshot
        self.is_snapshot = snapshot
        self._session: Session | None = None
        self._repositories: dict[type[Repository], Repository] = {}

    def __enter__(self) -> Self:
        if self.is_snapshot:
            factory = self.database.snapshot_sessions
        elif self.read_only:
            factory = self.database.read_sessions
        else:
            factory = self.database.sessions
        self._session = factory()
        self._repositories = {}
        if self.read_only and not self.is_snapshot and self.database.autocommit_reads:
            # Each statement on its own: no BEGIN and no ROLLBACK (storage.database); the pool
            # turns autocommit off again when the connection comes back.
            try:
                connection = self._session.connection()
                driver: Any = connection.connection.driver_connection
                driver.autocommit = True
            except BaseException as exc:
                self.__exit__(type(exc), exc, exc.__traceback__)
                raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            # close() rolls back whatever was not committed and detaches loaded objects
            # without expiring them, so plain values read inside stay readable.
            session.close()
        except DBAPIError:
            pass  # the connection is gone; the server has rolled back already
        finally:
            self._session = None
        if isinstance(exc, OperationalError) or (
            isinstance(exc, DBAPIError) and exc.connection_invalidated
        ):
            raise _unavailable(exc) from exc

    @property
    def session(self) -> Session:
        """The session of this unit of work (for repositories)."""
        if self._session is None:
            raise RuntimeError("the unit of work is not open; use it in a `with` block")
        return self._session

    def repository(self, kind: type[R]) -> R:
        """The repository of `kind` bound to this transaction."""
        repo = self._repositories.get(kind)
        if repo is None:
            repo = kind(self.session)
            self._repositories[kind] = repo
        return repo  # type: ignore[return-value]

    def now(self) -> Any:
        """The current time of this unit of work's clock (aware, UTC)."""
        return self.clock.now()

    def audit(
        self,
        actor: str,
        action: str,
        entity: str,
        entity_id: object,
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a change in the audit log, within this transaction."""
        append(self.session, self.now(), actor, action, entity, entity_id, before, after)

    def audit_many(self, changes: Sequence[PreparedChange]) -> None:
        """Record many changes in the audit log in one bulk insert, within this transaction
        (serialise them with storage.audit.prepare before it begins)."""
        append_many(self.session, self.now(), changes)

    def snapshot(self) -> UnitOfWork:
        """A read-only unit of work on the same database and clock whose reads all see one
        moment: where an import does its slow reading and checking before its short write
        transaction, and where the standings read a year."""
        return UnitOfWork(self.database, self.clock, snapshot=True)

    def flush(self) -> None:
        """Send pending changes to the database without committing (to get ids)."""
        try:
            self.session.flush()
        except OperationalError as exc:
            raise _unavailable(exc) from exc

    def commit(self) -> None:
        """Make every change of this unit of work permanent."""
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        try:
            self.session.commit()
        except OperationalError as exc:
            raise _unavailable(exc) from exc
