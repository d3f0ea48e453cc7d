"""Who is acting and what their role allows; every service checks it before changing anything."""

from __future__ import annotations

from dataclasses import dataclass

from services.errors import Refused
from storage.statuses import Role as Role  # defined beside the people it is stored with

# Admins can do whatever coordinators can.
MANAGERS: frozenset[Role] = frozenset({Role.ADMIN, Role.COORDINATOR})


@dataclass(frozen=True)
class Actor:
    """The person (or the operator at the command line) on whose behalf a service runs."""

    person_id: int | None
    role: Role
    unit_id: int | None = None
    name: str = ""

    @classmethod
    def operator(cls, name: str = "cli") -> Actor:
        """The operator of the server at the command line: an admin with no account."""
        return cls(person_id=None, role=Role.ADMIN, unit_id=None, name=name)

    @property
    def audit_name(self) -> str:
        """How this actor appears in the audit log."""
        if self.person_id is None:
            return f"operator:{self.name}"
        return f"person:{self.person_id}:{self.name}"

    @property
    def is_manager(self) -> bool:
        """Whether the actor is a coordinator or an admin."""
        return self.role in MANAGERS


def require_role(actor: Actor, *roles: Role) -> None:
    """Refuse unless the actor has one of `roles` (admins pass every coordinator check)."""
    allowed = set(roles)
    if Role.COORDINATOR in allowed:
        allowed.add(Role.ADMIN)
    if actor.role not in allowed:
        raise Refused("role_not_allowed", role=actor.role.value, allowed=sorted(allowed))


def require_own_unit(actor: Actor, unit_id: int) -> None:
    """Refuse a liaison acting on another unit than their own; managers may act on any unit."""
    if actor.is_manager:
        return
    if actor.role is not Role.LIAISON or actor.unit_id != unit_id:
        raise Refused("not_your_unit")
