"""Units, people and invites: who is assessed, who uses kaohe, and how they get in.

An invite code is shown once, when it is issued; only its SHA-256 is stored (never the code,
not even in the audit log). Redeeming is one conditional UPDATE, so a code binds one account
at most, and an unknown, used or expired code is refused the same way, revealing nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from scoring import Group, Unit
from services.access import Actor, Role, require_role
from services.dialogs import DialogShelf, dialog_shelf
from services.errors import Invalid, NotFound, Refused
from services.imports import UNITS, ChangedMeanwhile, prepared_import
from storage.audit import Change, PreparedChange
from storage.audit import prepare as prepare_audit
from storage.bulk import driver_rows
from storage.clock import as_utc
from storage.models import Invite, Person, UnitRow
from storage.repositories.people import Invites, People, SessionRow
from storage.repositories.units import UNIT_COLUMNS, UNIT_TABLE, Units, UnitState
from storage.unit_of_work import UnitOfWork

INVITE_LIFETIME = timedelta(days=7)
# An invite is a bearer credential: it should not outlive the message it was sent in by much.
MAX_INVITE_LIFETIME = timedelta(days=90)
# 18 random bytes are 24 URL-safe characters: fits Telegram's 64-character `start` parameter.
CODE_BYTES = 18
# Column sizes of the models.
NAME_LIMIT = 200
UNIT_CODE_LIMIT = 64
LANGUAGE_LIMIT = 8


@dataclass(frozen=True)
class UnitChange:
    """A unit whose name or group (or both) an import changed."""

    before: Unit
    after: Unit


@dataclass(frozen=True)
class ImportSummary:
    """What a units import did: added, updated and unchanged units (none is ever deleted)."""

    added: tuple[Unit, ...]
    updated: tuple[UnitChange, ...]
    unchanged: tuple[Unit, ...]


@dataclass(frozen=True)
class PersonView:
    """A person as the callers see them."""

    id: int
    telegram_user_id: int | None
    display_name: str
    role: Role
    unit_code: str | None
    unit_name: str | None
    active: bool
    language: str | None
    created_at: datetime
    deactivated_at: datetime | None


@dataclass(frozen=True)
class IssuedInvite:
    """A new invite; `code` is the only copy of the code there will ever be."""

    id: int
    code: str
    role: Role
    unit_code: str | None
    unit_name: str | None
    expires_at: datetime


# ---------------------------------------------------------------------------------------------
# Units


@dataclass(frozen=True)
class _UnitsPrepared:
    """A units import worked out against a snapshot of every unit, its audit entries
    serialised (those of new units get their ids in the write)."""

    snapshot: list[UnitState]
    added: list[Unit]
    changed: list[tuple[UnitState, Unit]]
    unchanged: list[Unit]
    audit_added: list[PreparedChange]
    audit_changed: list[PreparedChange]


def register_units(
    uow: UnitOfWork,
    actor: Actor,
    units: Sequence[Unit],
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Add new units and update changed ones by code, all or nothing; none is deleted.

    Worked out against a snapshot of the units, then written with bulk statements in one short
    transaction that first checks the units are still as in the snapshot."""
    require_role(actor, Role.COORDINATOR)
    incoming = _checked_units(units)
    if progress is not None:
        progress(0, len(incoming))

    def prepare() -> _UnitsPrepared:
        with uow.snapshot() as snapshot:
            states = snapshot.repository(Units).states()
        return _prepare_units(actor, states, incoming)

    def write(ready: _UnitsPrepared) -> ImportSummary:
        now = uow.now()
        new_rows = driver_rows(
            uow.database.engine.dialect,
            UNIT_TABLE,
            UNIT_COLUMNS,
            [(u.code, u.name, u.group.value, True, now) for u in ready.added],
        )
        with uow:
            repo = uow.repository(Units)
            if repo.states() != ready.snapshot:
                raise ChangedMeanwhile(UNITS)
            # Names are unique in the database, so units swapping names would clash half-way:
            # park every renamed unit on a placeholder first, then give the final names.
            repo.rename_many(
                {
                    old[0]: f"~renaming~{old[0]}~"
                    for old, unit in ready.changed
                    if old[2] != unit.name
                }
            )
            repo.update_many(
                [
                    {
                        "unit_id": old[0],
                        "name": unit.name,
                        "group": unit.group.value,
                        "active": True,
                    }
                    for old, unit in ready.changed
                ]
            )
            ids = repo.insert_plain(new_rows)
            for unit, entry in zip(ready.added, ready.audit_added, strict=True):
                entry.entity_id = str(ids[unit.code])
            uow.audit_many([*ready.audit_added, *ready.audit_changed])
            uow.commit()
        if progress is not None:
            progress(len(incoming), len(incoming))
        return ImportSummary(
            added=tuple(ready.added),
            updated=tuple(
                UnitChange(Unit(old[1], old[2], Group(old[3])), unit)
                for old, unit in ready.changed
            ),
            unchanged=tuple(ready.unchanged),
        )

    return prepared_import(UNITS, prepare, write)


def _prepare_units(actor: Actor, states: list[UnitState], incoming: list[Unit]) -> _UnitsPrepared:
    """What importing `incoming` does to the units in `states` (refused if names clash)."""
    existing = {state[1]: state for state in states}
    final_names = {code: state[2] for code, state in existing.items()}
    final_names.update({unit.code: unit.name for unit in incoming})
    taken = sorted(name for name, count in Counter(final_names.values()).items() if count > 1)
    if taken:
        raise Invalid("unit_names_taken", names=taken)
    added: list[Unit] = []
    changed: list[tuple[UnitState, Unit]] = []
    unchanged: list[Unit] = []
    for unit in incoming:
        state = existing.get(unit.code)
        if state is None:
            added.append(unit)
        elif state[2] == unit.name and state[3] == unit.group.value and state[4]:
            unchanged.append(unit)
        else:
            changed.append((state, unit))
    audit_added = prepare_audit(
        [
            Change(actor.audit_name, "unit.add", "unit", "", None, _unit_data(unit, True))
            for unit in added
        ]
    )
    audit_changed = prepare_audit(
        [
            Change(
                actor.audit_name,
                "unit.update",
                "unit",
                old[0],
                {"code": old[1], "name": old[2], "group": old[3], "active": old[4]},
                _unit_data(unit, True),
            )
            for old, unit in changed
        ]
    )
    return _UnitsPrepared(states, added, changed, unchanged, audit_added, audit_changed)


def _checked_units(units: Sequence[Unit]) -> list[Unit]:
    if not units:
        raise Invalid("units_empty")
    checked = [Unit(u.code.strip(), u.name.strip(), Group(u.group)) for u in units]
    incomplete = [i for i, u in enumerate(checked, start=1) if not u.code or not u.name]
    if incomplete:
        raise Invalid("unit_incomplete", positions=incomplete)
    too_long = [
        u.code for u in checked if len(u.code) > UNIT_CODE_LIMIT or len(u.name) > NAME_LIMIT
    ]
    if too_long:
        raise Invalid(
            "unit_fields_too_long",
            units=too_long,
            code_limit=UNIT_CODE_LIMIT,
            name_limit=NAME_LIMIT,
        )
    codes = sorted(code for code, n in Counter(u.code for u in checked).items() if n > 1)
    if codes:
        raise Invalid("unit_codes_duplicate", codes=codes)
    names = sorted(name for name, n in Counter(u.name for u in checked).items() if n > 1)
    if names:
        raise Invalid("unit_names_taken", names=names)
    return checked


def _unit_data(unit: Unit, active: bool) -> dict[str, Any]:
    """A unit as its audit entries record it."""
    return {"code": unit.code, "name": unit.name, "group": unit.group.value, "active": active}


# ---------------------------------------------------------------------------------------------
# People


def register_person(
    uow: UnitOfWork,
    actor: Actor,
    telegram_user_id: int,
    display_name: str,
    role: Role | str,
    unit_code: str | None = None,
) -> PersonView:
    """Register a person with a role (a liaison with their unit); reactivates a former one."""
    require_role(actor, Role.COORDINATOR)
    wanted = _role(role)
    _may_grant(actor, wanted)
    name = _display_name(display_name)
    _check_telegram_user_id(telegram_user_id)
    _check_unit_for_role(wanted, unit_code)
    with uow:
        unit = _unit(uow, unit_code)
        existing = uow.repository(People).by_telegram_user_id(telegram_user_id)
        if existing is not None and existing.active:
            raise Refused("already_registered")
        person, before = _bind(uow, existing, telegram_user_id, name, wanted, unit, None)
        _audit_bound(uow, actor.audit_name, person, before, unit, invite_id=None)
        uow.commit()
        return _view(person, unit)


def deactivate_person(uow: UnitOfWork, actor: Actor, person_id: int) -> PersonView:
    """Deactivate a person: they are refused everything from now on; their history stays."""
    require_role(actor, Role.COORDINATOR)
    if actor.person_id is not None and actor.person_id == person_id:
        raise Refused("cannot_deactivate_self")
    with uow:
        person = uow.repository(People).by_id(person_id)
        if person is None:
            raise NotFound("unknown_person", person=person_id)
        if person.role == Role.ADMIN.value and actor.role is not Role.ADMIN:
            raise Refused("cannot_manage_admin")
        if not person.active:
            raise Invalid("person_already_inactive", name=person.display_name, id=person.id)
        unit = uow.repository(Units).by_id(person.unit_id) if person.unit_id else None
        before = _person_data(person, unit)
        person.active = False
        person.deactivated_at = uow.now()
        uow.flush()
        uow.audit(
            actor.audit_name,
            "person.deactivate",
            "person",
            person.id,
            before,
            _person_data(person, unit),
        )
        uow.commit()
        return _view(person, unit)


def actor_for_telegram_user(uow: UnitOfWork, telegram_user_id: int) -> Actor | None:
    """The actor of a Telegram account, or None if it is unknown or deactivated."""
    with uow:
        person = uow.repository(People).by_telegram_user_id(telegram_user_id)
        if person is None or not person.active:
            return None
        return Actor(
            person_id=person.id,
            role=Role(person.role),
            unit_id=person.unit_id,
            name=person.display_name,
        )


def list_people(uow: UnitOfWork, actor: Actor) -> list[PersonView]:
    """Everyone, active or not, in the order they were added (coordinators and admins)."""
    require_role(actor, Role.COORDINATOR)
    with uow:
        units = {row.id: row for row in uow.repository(Units).all(include_inactive=True)}
        return [
            _view(person, units.get(person.unit_id) if person.unit_id else None)
            for person in uow.repository(People).all()
        ]


# ---------------------------------------------------------------------------------------------
# Invites


def issue_invite(
    uow: UnitOfWork,
    actor: Actor,
    role: Role | str,
    unit_code: str | None = None,
    expires_in: timedelta = INVITE_LIFETIME,
) -> IssuedInvite:
    """Issue a one-time invite for a role (a liaison's for a unit); the code is shown once."""
    require_role(actor, Role.COORDINATOR)
    wanted = _role(role)
    _may_grant(actor, wanted)
    _check_unit_for_role(wanted, unit_code)
    if not timedelta(0) < expires_in <= MAX_INVITE_LIFETIME:
        raise Invalid("invite_expiry_invalid", max_days=MAX_INVITE_LIFETIME.days)
    with uow:
        unit = _unit(uow, unit_code)
        code = secrets.token_urlsafe(CODE_BYTES)
        now = uow.now()
        row = uow.repository(Invites).add(
            Invite(
                code_hash=invite_code_hash(code),
                role=wanted.value,
                unit_id=unit.id if unit else None,
                created_by=actor.person_id,
                created_at=now,
                expires_at=now + expires_in,
            )
        )
        uow.flush()
        uow.audit(
            actor.audit_name,
            "invite.issue",
            "invite",
            row.id,
            None,
            {
                "role": wanted.value,
                "unit": unit.code if unit else None,
                "expires_at": row.expires_at,
            },
        )
        uow.commit()
        return IssuedInvite(
            id=row.id,
            code=code,
            role=wanted,
            unit_code=unit.code if unit else None,
            unit_name=unit.name if unit else None,
            expires_at=as_utc(row.expires_at),
        )


def redeem_invite(
    uow: UnitOfWork,
    code: str,
    telegram_user_id: int,
    display_name: str,
    language: str | None = None,
) -> PersonView:
    """Bind a Telegram account to the role (and unit) of an invite; the code is then used up."""
    name = _display_name(display_name)
    _check_telegram_user_id(telegram_user_id)
    digest = invite_code_hash(code.strip())
    who = f"telegram:{telegram_user_id}"
    with uow:
        now = uow.now()
        existing = uow.repository(People).by_telegram_user_id(telegram_user_id)
        if existing is not None and existing.active:
            raise Refused("already_registered")
        invites = uow.repository(Invites)
        invite = invites.usable(digest, now)
        if invite is None:
            raise Refused("invite_invalid")
        unit = uow.repository(Units).by_id(invite.unit_id) if invite.unit_id else None
        tag = language.strip().lower()[:LANGUAGE_LIMIT] if language else None
        person, before = _bind(
            uow, existing, telegram_user_id, name, Role(invite.role), unit, tag or None
        )
        # The check above only spares a useless insert; this UPDATE is what decides.
        if not invites.redeem(digest, now, person.id):
            raise Refused("invite_invalid")
        _audit_bound(uow, who, person, before, unit, invite_id=invite.id)
        uow.audit(
            who,
            "invite.redeem",
            "invite",
            invite.id,
            {"redeemed_at": None, "redeemed_by": None},
            {"redeemed_at": now, "redeemed_by": person.id},
        )
        uow.commit()
        return _view(person, unit)


def invite_code_hash(code: str) -> str:
    """The SHA-256 (hex) of an invite code: all that is stored of it."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def invite_link(code: str, bot_username: str | None) -> str | None:
    """The https://t.me/<bot>?start=<code> link, or None without the bot's username."""
    name = (bot_username or "").strip().removeprefix("@")
    if not name:
        return None
    return f"https://t.me/{name}?start={code}"


# ---------------------------------------------------------------------------------------------
# Shared checks and helpers


def _role(role: Role | str) -> Role:
    try:
        return Role(str(role).strip().lower())
    except ValueError:
        raise Invalid("unknown_role", role=str(role), roles=[r.value for r in Role]) from None


def _may_grant(actor: Actor, role: Role) -> None:
    # Coordinators run the programme; only an admin may make another admin.
    if role is Role.ADMIN and actor.role is not Role.ADMIN:
        raise Refused("cannot_grant_admin")


def _check_unit_for_role(role: Role, unit_code: str | None) -> None:
    has_unit = bool(unit_code and unit_code.strip())
    if role is Role.LIAISON and not has_unit:
        raise Invalid("liaison_needs_unit")
    if role is not Role.LIAISON and has_unit:
        raise Invalid("unit_only_for_liaison", role=role.value)


def _display_name(display_name: str) -> str:
    name = " ".join(display_name.split())
    if not name:
        raise Invalid("person_name_empty")
    if len(name) > NAME_LIMIT:
        raise Invalid("person_name_too_long", limit=NAME_LIMIT)
    return name


def _check_telegram_user_id(telegram_user_id: int) -> None:
    if (
        not isinstance(telegram_user_id, int)
        or isinstance(telegram_user_id, bool)
        or telegram_user_id <= 0
    ):
        raise Invalid("telegram_user_id_invalid", value=str(telegram_user_id))


def _unit(uow: UnitOfWork, unit_code: str | None) -> UnitRow | None:
    """The active unit with this code (or, failing that, this name); NotFound otherwise."""
    if unit_code is None or not unit_code.strip():
        return None
    key = unit_code.strip()
    units = uow.repository(Units)
    row = units.by_code(key) or units.by_name(key)
    if row is None or not row.active:
        raise NotFound("unknown_unit", unit=key)
    return row


def _bind(
    uow: UnitOfWork,
    existing: Person | None,
    telegram_user_id: int,
    name: str,
    role: Role,
    unit: UnitRow | None,
    language: str | None,
) -> tuple[Person, dict[str, Any] | None]:
    """Create the person, or reactivate a deactivated one with the new role; flushed."""
    if existing is None:
        person = uow.repository(People).add(
            Person(
                telegram_user_id=telegram_user_id,
                display_name=name,
                role=role.value,
                unit_id=unit.id if unit else None,
                active=True,
                language=language,
                created_at=uow.now(),
            )
        )
        before = None
    else:
        # A former person keeps their id, so their history stays theirs.
        person = existing
        old_unit = uow.repository(Units).by_id(person.unit_id) if person.unit_id else None
        before = _person_data(person, old_unit)
        person.display_name = name
        person.role = role
        person.unit_id = unit.id if unit else None
        person.active = True
        person.deactivated_at = None
        person.language = language or person.language
    try:
        uow.flush()
    except IntegrityError:
        # The same account was registered by a concurrent transaction a moment ago.
        raise Refused("already_registered") from None
    return person, before


def _audit_bound(
    uow: UnitOfWork,
    who: str,
    person: Person,
    before: dict[str, Any] | None,
    unit: UnitRow | None,
    invite_id: int | None,
) -> None:
    after = _person_data(person, unit)
    if invite_id is not None:
        after["invite"] = invite_id
    action = "person.add" if before is None else "person.reactivate"
    uow.audit(who, action, "person", person.id, before, after)


def _person_data(person: Person, unit: UnitRow | None) -> dict[str, Any]:
    return {
        "telegram_user_id": person.telegram_user_id,
        "display_name": person.display_name,
        "role": person.role,
        "unit": unit.code if unit else None,
        "active": person.active,
    }


def _view(person: Person, unit: UnitRow | None) -> PersonView:
    return PersonView(
        id=person.id,
        telegram_user_id=person.telegram_user_id,
        display_name=person.display_name,
        role=Role(person.role),
        unit_code=unit.code if unit else None,
        unit_name=unit.name if unit else None,
        active=person.active,
        language=person.language,
        created_at=as_utc(person.created_at),
        deactivated_at=as_utc(person.deactivated_at) if person.deactivated_at else None,
    )


@dataclass(frozen=True)
class PersonSession:
    """Who is behind a Telegram account, for the bot: actor, name, language, unit name."""

    actor: Actor
    display_name: str
    language: str | None
    unit_name: str | None


@dataclass(frozen=True)
class Admission:
    """What the bot's gate reads for an update: the person, and their dialogs if active."""

    session: PersonSession | None
    dialogs: DialogShelf | None


def person_session(uow: UnitOfWork, telegram_user_id: int) -> PersonSession | None:
    """The active person bound to a Telegram account, or None (unknown or deactivated)."""
    with uow:
        return _session(uow, telegram_user_id)


def admit(uow: UnitOfWork, telegram_user_id: int) -> Admission:
    """The active person bound to a Telegram account and their dialogs, in one read (one
    statement): all the bot needs before a dialog handles an update."""
    with uow:
        row, dialogs = uow.repository(People).admission(telegram_user_id)
    session = _as_session(row)
    if session is None:
        return Admission(None, None)
    return Admission(session, dialog_shelf(dialogs))


def _session(uow: UnitOfWork, telegram_user_id: int) -> PersonSession | None:
    return _as_session(uow.repository(People).session_of(telegram_user_id))


def _as_session(row: SessionRow | None) -> PersonSession | None:
    if row is None or not row.active:
        return None
    return PersonSession(
        actor=Actor(row.id, Role(row.role), row.unit_id, row.display_name),
        display_name=row.display_name,
        language=row.language,
        unit_name=row.unit_name,
    )


def set_language(uow: UnitOfWork, actor: Actor, language: str) -> None:
    """Change the language the bot speaks to the acting person."""
    if actor.person_id is None:
        raise Invalid("no_account")
    with uow:
        person = uow.repository(People).by_id(actor.person_id)
        if person is None:
            raise NotFound("person_not_found", person_id=actor.person_id)
        before = person.language
        person.language = language[:8].lower()
        uow.audit(
            actor.audit_name,
            "person.language",
            "person",
            person.id,
            {"language": before},
            {"language": person.language},
        )
        uow.commit()


def ensure_admin(uow: UnitOfWork, telegram_user_id: int, display_name: str) -> None:
    """Make a Telegram account listed in KAOHE_ADMIN_IDS an active admin (bootstraps the bot)."""
    with uow:
        person = uow.repository(People).by_telegram_user_id(telegram_user_id)
        if person is not None and person.active and person.role == Role.ADMIN.value:
            return
    register_person(
        uow, Actor.operator("settings"), telegram_user_id, display_name or "admin", Role.ADMIN
    )
