"""Units, people and invites: who may do what, and that a refusal changes nothing."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from scoring import Group, Unit
from services.access import Actor, Role
from services.errors import Invalid, NotFound, Refused, ServiceError
from services.people import (
    MAX_INVITE_LIFETIME,
    actor_for_telegram_user,
    deactivate_person,
    invite_link,
    issue_invite,
    list_people,
    redeem_invite,
    register_person,
    register_units,
)
from storage.audit import verify
from storage.clock import FixedClock
from storage.models import AuditEntry
from storage.unit_of_work import UnitOfWork
from tests.factories import department, town

Uow = Callable[[], UnitOfWork]
OPERATOR = Actor.operator("test")
TABLES = ("units", "people", "invites", "audit_log")


def _snapshot(uow: Uow) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables this area writes, to show that a refusal changed nothing."""
    with uow() as work:
        return {
            table: [
                tuple(row)
                for row in work.session.execute(text(f"SELECT * FROM {table} ORDER BY id"))
            ]
            for table in TABLES
        }


def _audit(uow: Uow) -> list[tuple[str, str, str, Any, Any]]:
    with uow() as work:
        rows = work.session.execute(
            select(
                AuditEntry.actor,
                AuditEntry.action,
                AuditEntry.entity_id,
                AuditEntry.before,
                AuditEntry.after,
            ).order_by(AuditEntry.id)
        )
        return [(r.actor, r.action, r.entity_id, r.before, r.after) for r in rows]


def _with_units(uow: Uow) -> None:
    register_units(uow(), OPERATOR, [town("a01", "甲镇"), department("d01", "乙局")])


def _actor(uow: Uow, role: Role, telegram_user_id: int, unit: str | None = None) -> Actor:
    """A registered person of `role`, as the bot would find them."""
    register_person(
        uow(), OPERATOR, telegram_user_id, f"{role.value} {telegram_user_id}", role, unit
    )
    actor = actor_for_telegram_user(uow(), telegram_user_id)
    assert actor is not None
    return actor


NON_MANAGERS = [Role.RATER, Role.LIAISON, Role.VIEWER]


# ---------------------------------------------------------------------------------------------
# Units


def test_new_units_are_added_each_with_an_audit_entry(uow: Uow) -> None:
    summary = register_units(uow(), OPERATOR, [town("a01", "甲镇"), department("d01", "乙局")])
    assert [u.code for u in summary.added] == ["a01", "d01"]
    assert summary.updated == () and summary.unchanged == ()
    entries = _audit(uow)
    assert [e[1] for e in entries] == ["unit.add", "unit.add"]
    assert entries[0][0] == "operator:test"
    assert entries[0][3] is None
    assert entries[0][4] == {"code": "a01", "name": "甲镇", "group": "town", "active": True}


def test_a_changed_name_or_group_is_updated_with_before_and_after_audited(uow: Uow) -> None:
    _with_units(uow)
    summary = register_units(
        uow(), OPERATOR, [town("a01", "甲街道"), Unit("d01", "乙局", Group.TOWN)]
    )
    assert summary.added == ()
    assert [(c.before.name, c.after.name) for c in summary.updated] == [
        ("甲镇", "甲街道"),
        ("乙局", "乙局"),
    ]
    assert summary.updated[1].before.group is Group.ZONE_OR_DEPARTMENT
    assert summary.updated[1].after.group is Group.TOWN
    updates = [e for e in _audit(uow) if e[1] == "unit.update"]
    assert updates[0][3]["name"] == "甲镇" and updates[0][4]["name"] == "甲街道"
    assert updates[1][3]["group"] == "zone_or_department" and updates[1][4]["group"] == "town"


def test_units_absent_from_the_file_are_kept(uow: Uow) -> None:
    _with_units(uow)
    summary = register_units(uow(), OPERATOR, [town("a02", "丙镇")])
    assert [u.code for u in summary.added] == ["a02"]
    assert [row[1] for row in _snapshot(uow)["units"]] == ["a01", "d01", "a02"]


def test_importing_the_same_units_again_changes_nothing(uow: Uow) -> None:
    _with_units(uow)
    before = _snapshot(uow)
    summary = register_units(uow(), OPERATOR, [town("a01", "甲镇"), department("d01", "乙局")])
    assert [u.code for u in summary.unchanged] == ["a01", "d01"]
    assert summary.added == () and summary.updated == ()
    assert _snapshot(uow) == before


def test_two_units_can_swap_their_names_in_one_import(uow: Uow) -> None:
    _with_units(uow)
    register_units(uow(), OPERATOR, [town("a01", "乙局"), department("d01", "甲镇")])
    names = {row[1]: row[2] for row in _snapshot(uow)["units"]}
    assert names == {"a01": "乙局", "d01": "甲镇"}


def test_a_name_held_by_a_unit_not_in_the_file_refuses_the_whole_import(uow: Uow) -> None:
    _with_units(uow)
    before = _snapshot(uow)
    with pytest.raises(Invalid) as caught:
        register_units(uow(), OPERATOR, [town("a02", "丙镇"), town("a03", "乙局")])
    assert caught.value.code == "unit_names_taken"
    assert caught.value.params["names"] == ["乙局"]
    assert _snapshot(uow) == before


@pytest.mark.parametrize(
    ("units", "code"),
    [
        ([town("a01", "甲镇"), town("a01", "丙镇")], "unit_codes_duplicate"),
        ([town("a01", "甲镇"), town("a02", "甲镇")], "unit_names_taken"),
        ([town("a01", "甲镇"), town(" ", "丙镇")], "unit_incomplete"),
        ([town("a01", "甲镇"), Unit("a02", "", Group.TOWN)], "unit_incomplete"),
        ([town("a01", "甲镇"), town("x" * 65, "丙镇")], "unit_fields_too_long"),
    ],
)
def test_a_bad_list_of_units_imports_nothing(uow: Uow, units: list[Unit], code: str) -> None:
    _with_units(uow)
    before = _snapshot(uow)
    with pytest.raises(Invalid) as caught:
        register_units(uow(), OPERATOR, [*units, town("a09", "新镇")])
    assert caught.value.code == code
    assert _snapshot(uow) == before


def test_an_empty_list_of_units_imports_nothing(uow: Uow) -> None:
    with pytest.raises(Invalid) as caught:
        register_units(uow(), OPERATOR, [])
    assert caught.value.code == "units_empty"


@pytest.mark.parametrize("role", NON_MANAGERS)
def test_only_coordinators_and_admins_register_units(uow: Uow, role: Role) -> None:
    _with_units(uow)
    actor = _actor(uow, role, 500, "a01" if role is Role.LIAISON else None)
    before = _snapshot(uow)
    with pytest.raises(Refused) as caught:
        register_units(uow(), actor, [town("a02", "丙镇")])
    assert caught.value.code == "role_not_allowed"
    assert _snapshot(uow) == before


def test_a_coordinator_registers_units(uow: Uow) -> None:
    coordinator = _actor(uow, Role.COORDINATOR, 100)
    summary = register_units(uow(), coordinator, [town("a01", "甲镇")])
    assert len(summary.added) == 1
    assert _audit(uow)[-1][0] == f"person:{coordinator.person_id}:coordinator 100"


# ---------------------------------------------------------------------------------------------
# People


def test_a_coordinator_registers_a_liaison_of_a_unit(uow: Uow) -> None:
    _with_units(uow)
    coordinator = _actor(uow, Role.COORDINATOR, 100)
    person = register_person(uow(), coordinator, 200, "  张  三 ", "liaison", "a01")
    assert (person.display_name, person.role, person.unit_code, person.active) == (
        "张 三",
        Role.LIAISON,
        "a01",
        True,
    )
    assert person.created_at.utcoffset() == timedelta(0)
    entry = _audit(uow)[-1]
    assert entry[1] == "person.add"
    assert entry[4] == {
        "telegram_user_id": 200,
        "display_name": "张 三",
        "role": "liaison",
        "unit": "a01",
        "active": True,
    }


def test_a_liaisons_unit_may_be_given_by_its_full_name(uow: Uow) -> None:
    _with_units(uow)
    person = register_person(uow(), OPERATOR, 200, "张三", Role.LIAISON, "乙局")
    assert person.unit_code == "d01"


def test_a_coordinator_cannot_create_an_admin(uow: Uow) -> None:
    coordinator = _actor(uow, Role.COORDINATOR, 100)
    before = _snapshot(uow)
    with pytest.raises(Refused) as caught:
        register_person(uow(), coordinator, 200, "张三", Role.ADMIN)
    assert caught.value.code == "cannot_grant_admin"
    assert _snapshot(uow) == before


def test_an_admin_can_create_an_admin(uow: Uow) -> None:
    admin = _actor(uow, Role.ADMIN, 100)
    assert register_person(uow(), admin, 200, "张三", Role.ADMIN).role is Role.ADMIN


@pytest.mark.parametrize("role", NON_MANAGERS)
def test_only_coordinators_and_admins_register_people(uow: Uow, role: Role) -> None:
    _with_units(uow)
    actor = _actor(uow, role, 500, "a01" if role is Role.LIAISON else None)
    before = _snapshot(uow)
    with pytest.raises(Refused):
        register_person(uow(), actor, 200, "张三", Role.VIEWER)
    assert _snapshot(uow) == before


@pytest.mark.parametrize(
    ("role", "unit", "error", "code"),
    [
        (Role.LIAISON, None, Invalid, "liaison_needs_unit"),
        (Role.LIAISON, "  ", Invalid, "liaison_needs_unit"),
        (Role.RATER, "a01", Invalid, "unit_only_for_liaison"),
        (Role.COORDINATOR, "a01", Invalid, "unit_only_for_liaison"),
        (Role.VIEWER, "a01", Invalid, "unit_only_for_liaison"),
        (Role.LIAISON, "zz9", NotFound, "unknown_unit"),
        ("boss", None, Invalid, "unknown_role"),
    ],
)
def test_a_role_and_unit_that_do_not_fit_register_nobody(
    uow: Uow, role: Role | str, unit: str | None, error: type[ServiceError], code: str
) -> None:
    _with_units(uow)
    before = _snapshot(uow)
    with pytest.raises(error) as caught:
        register_person(uow(), OPERATOR, 200, "张三", role, unit)
    assert caught.value.code == code
    assert _snapshot(uow) == before


@pytest.mark.parametrize(
    ("telegram_user_id", "name", "code"),
    [
        (200, "   ", "person_name_empty"),
        (200, "名" * 201, "person_name_too_long"),
        (0, "张三", "telegram_user_id_invalid"),
        (-5, "张三", "telegram_user_id_invalid"),
    ],
)
def test_a_bad_name_or_telegram_id_registers_nobody(
    uow: Uow, telegram_user_id: int, name: str, code: str
) -> None:
    before = _snapshot(uow)
    with pytest.raises(Invalid) as caught:
        register_person(uow(), OPERATOR, telegram_user_id, name, Role.VIEWER)
    assert caught.value.code == code
    assert _snapshot(uow) == before


def test_a_telegram_account_already_registered_is_refused(uow: Uow) -> None:
    register_person(uow(), OPERATOR, 200, "张三", Role.VIEWER)
    before = _snapshot(uow)
    with pytest.raises(Refused) as caught:
        register_person(uow(), OPERATOR, 200, "李四", Role.RATER)
    assert caught.value.code == "already_registered"
    assert _snapshot(uow) == before


def test_the_actor_of_a_liaison_carries_their_role_and_unit(uow: Uow) -> None:
    _with_units(uow)
    person = register_person(uow(), OPERATOR, 200, "张三", Role.LIAISON, "a01")
    actor = actor_for_telegram_user(uow(), 200)
    assert actor is not None
    assert (actor.person_id, actor.role, actor.name) == (person.id, Role.LIAISON, "张三")
    with uow() as work:
        unit_id = work.session.execute(text("SELECT id FROM units WHERE code = 'a01'")).scalar()
    assert actor.unit_id == unit_id


def test_an_unknown_telegram_account_gets_no_actor(uow: Uow) -> None:
    assert actor_for_telegram_user(uow(), 404) is None


def test_a_deactivated_person_gets_no_actor_and_keeps_their_history(uow: Uow) -> None:
    person = register_person(uow(), OPERATOR, 200, "张三", Role.RATER)
    view = deactivate_person(uow(), OPERATOR, person.id)
    assert not view.active and view.deactivated_at is not None
    assert actor_for_telegram_user(uow(), 200) is None
    listed = list_people(uow(), OPERATOR)
    assert [(p.id, p.display_name, p.active) for p in listed] == [(person.id, "张三", False)]
    entry = _audit(uow)[-1]
    assert entry[1] == "person.deactivate"
    assert entry[3]["active"] is True and entry[4]["active"] is False


def test_a_deactivated_person_is_refused_what_they_could_do_before(uow: Uow) -> None:
    coordinator = _actor(uow, Role.COORDINATOR, 100)
    deactivate_person(uow(), OPERATOR, coordinator.person_id or 0)
    # The bot gets no actor for them, so it has nothing to call a service with.
    assert actor_for_telegram_user(uow(), 100) is None


def test_a_coordinator_cannot_deactivate_an_admin(uow: Uow) -> None:
    coordinator = _actor(uow, Role.COORDINATOR, 100)
    admin = register_person(uow(), OPERATOR, 200, "管理员", Role.ADMIN)
    before = _snapshot(uow)
    with pytest.raises(Refused) as caught:
        deactivate_person(uow(), coordinator, admin.id)
    assert caught.value.code == "cannot_manage_admin"
    assert _snapshot(uow) == before


def test_nobody_can_deactivate_themselves(uow: Uow) -> None:
    admin = _actor(uow, Role.ADMIN, 100)
    before = _snapshot(uow)
    with pytest.raises(Refused) as caught:
        deactivate_person(uow(), admin, admin.person_id or 0)
    assert caught.value.code == "cannot_deactivate_self"
    assert _snapshot(uow) == before


@pytest.mark.parametrize("role", NON_MANAGERS)
def test_only_coordinators_and_admins_deactivate_people(uow: Uow, role: Role) -> None:
    _with_units(uow)
    actor = _actor(uow, role, 500, "a01" if role is Role.LIAISON else None)
    other = register_person(uow(), OPERATOR, 200, "张三", Role.VIEWER)
    before = _snapshot(uow)
    with pytest.raises(Refused):
        deactivate_person(uow(), actor, other.id)
    assert _snapshot(uow) == before


def test_deactivating_twice_is_invalid_and_changes_nothing(uow: Uow) -> None:
    person = register_person(uow(), OPERATOR, 200, "张三", Role.RATER)
    deactivate_person(uow(), OPERATOR, person.id)
    before = _snapshot(uow)
    with pytest.raises(Invalid) as caught:
        deactivate_person(uow(), OPERATOR, person.id)
    assert caught.value.code == "person_already_inactive"
    assert _snapshot(uow) == before


def test_deactivating_an_unknown_person_is_not_found(uow: Uow) -> None:
    with pytest.raises(NotFound) as caught:
        deactivate_person(uow(), OPERATOR, 999)
    assert caught.value.code == "unknown_person"


def test_a_deactivated_person_registered_again_keeps_their_id(uow: Uow) -> None:
    _with_units(uow)
    person = register_person(uow(), OPERATOR, 200, "张三", Role.RATER)
    deactivate_person(uow(), OPERATOR, person.id)
    again = register_person(uow(), OPERATOR, 200, "张三", Role.LIAISON, "d01")
    assert (again.id, again.role, again.unit_code, again.active) == (
        person.id,
        Role.LIAISON,
        "d01",
        True,
    )
    assert again.deactivated_at is None
    entry = _audit(uow)[-1]
    assert entry[1] == "person.reactivate"
    assert entry[3]["role"] == "rater" and entry[4]["role"] == "liaison"


@pytest.mark.parametrize("role", NON_MANAGERS)
def test_only_coordinators_and_admins_list_people(uow: Uow, role: Role) -> None:
    _with_units(uow)
    actor = _actor(uow, role, 500, "a01" if role is Role.LIAISON else None)
    with pytest.raises(Refused):
        list_people(uow(), actor)


def test_people_are_listed_in_the_order_they_were_added(uow: Uow) -> None:
    _with_units(uow)
    register_person(uow(), OPERATOR, 300, "王五", Role.VIEWER)
    register_person(uow(), OPERATOR, 200, "张三", Role.LIAISON, "a01")
    listed = list_people(uow(), OPERATOR)
    assert [(p.display_name, p.unit_code, p.unit_name) for p in listed] == [
        ("王五", None, None),
        ("张三", "a01", "甲镇"),
    ]


# ---------------------------------------------------------------------------------------------
# Invites


def test_an_invite_stores_only_the_hash_of_its_code(uow: Uow) -> None:
    issued = issue_invite(uow(), OPERATOR, Role.VIEWER)
    assert re.fullmatch(r"[A-Za-z0-9_-]{24}", issued.code)
    stored = _snapshot(uow)
    assert issued.code not in repr(stored)
    with uow() as work:
        code_hash = work.session.execute(text("SELECT code_hash FROM invites")).scalar()
    assert code_hash == hashlib.sha256(issued.code.encode()).hexdigest()
    assert code_hash not in repr(stored["audit_log"])


def test_every_invite_gets_its_own_code(uow: Uow) -> None:
    codes = {issue_invite(uow(), OPERATOR, Role.VIEWER).code for _ in range(5)}
    assert len(codes) == 5


def test_an_invite_expires_after_seven_days_unless_told(uow: Uow, clock: FixedClock) -> None:
    issued = issue_invite(uow(), OPERATOR, Role.VIEWER)
    assert issued.expires_at == clock.now() + timedelta(days=7)
    shorter = issue_invite(uow(), OPERATOR, Role.VIEWER, expires_in=timedelta(hours=12))
    assert shorter.expires_at == clock.now() + timedelta(hours=12)


def test_redeeming_binds_the_role_and_unit_of_the_invite(uow: Uow) -> None:
    _with_units(uow)
    issued = issue_invite(uow(), OPERATOR, Role.LIAISON, "d01")
    person = redeem_invite(uow(), issued.code, 200, "张三", "en-US")
    assert (person.role, person.unit_code, person.telegram_user_id, person.language) == (
        Role.LIAISON,
        "d01",
        200,
        "en-us",
    )
    actor = actor_for_telegram_user(uow(), 200)
    assert actor is not None and actor.role is Role.LIAISON
    actions = [(e[0], e[1]) for e in _audit(uow)[-2:]]
    assert actions == [("telegram:200", "person.add"), ("telegram:200", "invite.redeem")]
    with uow() as work:
        assert verify(work.session) == []
        row = work.session.execute(text("SELECT redeemed_by FROM invites")).one()
    assert row[0] == person.id


def test_the_code_is_read_without_surrounding_spaces(uow: Uow) -> None:
    issued = issue_invite(uow(), OPERATOR, Role.VIEWER)
    assert redeem_invite(uow(), f"  {issued.code}\n", 200, "张三").role is Role.VIEWER


def test_used_expired_and_unknown_codes_are_refused_alike(uow: Uow, clock: FixedClock) -> None:
    used = issue_invite(uow(), OPERATOR, Role.VIEWER).code
    redeem_invite(uow(), used, 200, "张三")
    expired = issue_invite(uow(), OPERATOR, Role.VIEWER, expires_in=timedelta(hours=1)).code
    clock.advance(hours=2)
    before = _snapshot(uow)
    refusals = []
    for code in (used, expired, "not-a-code-at-all", ""):
        with pytest.raises(ServiceError) as caught:
            redeem_invite(uow(), code, 300, "李四")
        error = caught.value
        refusals.append((type(error), error.code, dict(error.params), str(error)))
    assert refusals == [(Refused, "invite_invalid", {}, "invite_invalid")] * 4
    assert _snapshot(uow) == before


def test_an_invite_is_valid_until_the_moment_it_expires(uow: Uow, clock: FixedClock) -> None:
    start = clock.now()
    first = issue_invite(uow(), OPERATOR, Role.VIEWER, expires_in=timedelta(hours=1)).code
    second = issue_invite(uow(), OPERATOR, Role.VIEWER, expires_in=timedelta(hours=1)).code
    clock.set(start + timedelta(hours=1) - timedelta(microseconds=1))
    assert redeem_invite(uow(), first, 200, "张三").active
    clock.set(start + timedelta(hours=1))
    with pytest.raises(Refused) as caught:
        redeem_invite(uow(), second, 300, "李四")
    assert caught.value.code == "invite_invalid"


def test_an_account_already_registered_leaves_the_invite_unused(uow: Uow) -> None:
    register_person(uow(), OPERATOR, 200, "张三", Role.VIEWER)
    issued = issue_invite(uow(), OPERATOR, Role.RATER)
    before = _snapshot(uow)
    with pytest.raises(Refused) as caught:
        redeem_invite(uow(), issued.code, 200, "张三")
    assert caught.value.code == "already_registered"
    assert _snapshot(uow) == before
    assert redeem_invite(uow(), issued.code, 300, "李四").role is Role.RATER


def test_an_invite_brings_a_deactivated_person_back_under_the_same_id(uow: Uow) -> None:
    person = register_person(uow(), OPERATOR, 200, "张三", Role.RATER)
    deactivate_person(uow(), OPERATOR, person.id)
    issued = issue_invite(uow(), OPERATOR, Role.VIEWER)
    again = redeem_invite(uow(), issued.code, 200, "张三")
    assert (again.id, again.role, again.active) == (person.id, Role.VIEWER, True)


def test_a_redeemed_code_cannot_bind_a_second_account(uow: Uow) -> None:
    issued = issue_invite(uow(), OPERATOR, Role.VIEWER)
    redeem_invite(uow(), issued.code, 200, "张三")
    with pytest.raises(Refused):
        redeem_invite(uow(), issued.code, 300, "李四")
    assert actor_for_telegram_user(uow(), 300) is None


def test_a_bad_name_on_redemption_leaves_the_invite_unused(uow: Uow) -> None:
    issued = issue_invite(uow(), OPERATOR, Role.VIEWER)
    before = _snapshot(uow)
    with pytest.raises(Invalid):
        redeem_invite(uow(), issued.code, 200, "  ")
    assert _snapshot(uow) == before


def test_a_coordinator_cannot_issue_an_admin_invite(uow: Uow) -> None:
    coordinator = _actor(uow, Role.COORDINATOR, 100)
    before = _snapshot(uow)
    with pytest.raises(Refused) as caught:
        issue_invite(uow(), coordinator, Role.ADMIN)
    assert caught.value.code == "cannot_grant_admin"
    assert _snapshot(uow) == before


def test_a_coordinators_invite_records_who_issued_it(uow: Uow) -> None:
    coordinator = _actor(uow, Role.COORDINATOR, 100)
    issue_invite(uow(), coordinator, Role.RATER)
    with uow() as work:
        created_by = work.session.execute(text("SELECT created_by FROM invites")).scalar()
    assert created_by == coordinator.person_id


@pytest.mark.parametrize("role", NON_MANAGERS)
def test_only_coordinators_and_admins_issue_invites(uow: Uow, role: Role) -> None:
    _with_units(uow)
    actor = _actor(uow, role, 500, "a01" if role is Role.LIAISON else None)
    before = _snapshot(uow)
    with pytest.raises(Refused) as caught:
        issue_invite(uow(), actor, Role.VIEWER)
    assert caught.value.code == "role_not_allowed"
    assert _snapshot(uow) == before


@pytest.mark.parametrize(
    ("role", "unit", "expires_in", "code"),
    [
        (Role.LIAISON, None, timedelta(days=7), "liaison_needs_unit"),
        (Role.RATER, "a01", timedelta(days=7), "unit_only_for_liaison"),
        (Role.LIAISON, "zz9", timedelta(days=7), "unknown_unit"),
        ("chief", None, timedelta(days=7), "unknown_role"),
        (Role.VIEWER, None, timedelta(0), "invite_expiry_invalid"),
        (Role.VIEWER, None, timedelta(hours=-1), "invite_expiry_invalid"),
        (Role.VIEWER, None, MAX_INVITE_LIFETIME + timedelta(seconds=1), "invite_expiry_invalid"),
    ],
)
def test_an_invite_that_does_not_fit_is_not_issued(
    uow: Uow, role: Role | str, unit: str | None, expires_in: timedelta, code: str
) -> None:
    _with_units(uow)
    before = _snapshot(uow)
    with pytest.raises(ServiceError) as caught:
        issue_invite(uow(), OPERATOR, role, unit, expires_in)
    assert caught.value.code == code
    assert _snapshot(uow) == before


def test_the_invite_link_opens_the_bot_with_the_code() -> None:
    assert invite_link("abc_-1", "kaohe_bot") == "https://t.me/kaohe_bot?start=abc_-1"
    assert invite_link("abc", " @kaohe_bot ") == "https://t.me/kaohe_bot?start=abc"


@pytest.mark.parametrize("username", [None, "", "  ", "@"])
def test_there_is_no_link_without_the_bots_username(username: str | None) -> None:
    assert invite_link("abc", username) is None
