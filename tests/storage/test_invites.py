"""Invites in the database: one code binds one account, even when redeemed concurrently."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services.access import Actor, Role
from services.errors import Refused
from services.people import (
    actor_for_telegram_user,
    invite_code_hash,
    issue_invite,
    redeem_invite,
    register_person,
)
from storage.clock import FixedClock
from storage.models import Invite, Person
from storage.repositories.people import Invites
from storage.unit_of_work import UnitOfWork

Uow = Callable[[], UnitOfWork]
OPERATOR = Actor.operator("test")
ROUNDS = 5


def _redeem_together(uow: Uow, code: str, accounts: list[int]) -> list[object]:
    """Redeem `code` from one thread per account, all released at once; each one's outcome."""
    barrier = threading.Barrier(len(accounts))
    outcomes: list[object] = [None] * len(accounts)

    def redeem(index: int, telegram_user_id: int) -> None:
        work = uow()  # each thread its own unit of work, hence its own connection
        barrier.wait()
        try:
            outcomes[index] = redeem_invite(
                work, code, telegram_user_id, f"用户{telegram_user_id}"
            )
        except Exception as exc:
            outcomes[index] = exc

    threads = [
        threading.Thread(target=redeem, args=(i, account)) for i, account in enumerate(accounts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_two_concurrent_redemptions_of_one_code_bind_exactly_one_account(uow: Uow) -> None:
    for round_ in range(ROUNDS):
        code = issue_invite(uow(), OPERATOR, Role.RATER).code
        accounts = [1000 + 2 * round_, 1001 + 2 * round_]
        outcomes = _redeem_together(uow, code, accounts)
        refused = [o for o in outcomes if isinstance(o, Refused)]
        bound = [o for o in outcomes if not isinstance(o, Exception)]
        assert len(bound) == 1 and len(refused) == 1, outcomes
        assert refused[0].code == "invite_invalid"
        actors = [actor_for_telegram_user(uow(), account) for account in accounts]
        assert sum(actor is not None for actor in actors) == 1
        with uow() as work:
            row = work.session.execute(
                select(Invite).where(Invite.code_hash == invite_code_hash(code))
            ).scalar_one()
            assert row.redeemed_by is not None
    with uow() as work:
        assert work.session.execute(select(func.count()).select_from(Person)).scalar() == ROUNDS


def test_a_redemption_overlapping_another_waits_and_then_finds_the_code_used(
    uow: Uow, clock: FixedClock
) -> None:
    first_person = register_person(uow(), OPERATOR, 100, "甲", Role.VIEWER).id
    second_person = register_person(uow(), OPERATOR, 200, "乙", Role.VIEWER).id
    code_hash = invite_code_hash(issue_invite(uow(), OPERATOR, Role.VIEWER).code)
    now = clock.now()
    second_done = threading.Event()
    second_outcome: list[bool] = []

    def second() -> None:
        with uow() as work:
            second_outcome.append(work.repository(Invites).redeem(code_hash, now, second_person))
            work.commit()
        second_done.set()

    with uow() as first:
        assert first.repository(Invites).redeem(code_hash, now, first_person)
        thread = threading.Thread(target=second)
        thread.start()
        # The second writer is held back (by the row lock, or SQLite's write lock) meanwhile.
        assert not second_done.wait(timeout=0.5)
        first.commit()
    thread.join(timeout=30)
    assert second_outcome == [False]
    with uow() as work:
        row = work.session.execute(select(Invite)).scalar_one()
        assert row.redeemed_by == first_person


def test_usable_invites_are_those_neither_redeemed_nor_expired(
    uow: Uow, clock: FixedClock
) -> None:
    person = register_person(uow(), OPERATOR, 100, "甲", Role.VIEWER).id
    fresh = invite_code_hash(issue_invite(uow(), OPERATOR, Role.VIEWER).code)
    short = issue_invite(uow(), OPERATOR, Role.VIEWER, expires_in=timedelta(minutes=30))
    used = invite_code_hash(issue_invite(uow(), OPERATOR, Role.VIEWER).code)
    now = clock.now()
    with uow() as work:
        assert work.repository(Invites).redeem(used, now, person)
        work.commit()
    later = now + timedelta(minutes=30)
    with uow() as work:
        invites = work.repository(Invites)
        assert invites.usable(fresh, later) is not None
        assert invites.usable(invite_code_hash(short.code), later) is None
        assert invites.usable(used, later) is None
        assert invites.usable(invite_code_hash("unknown"), later) is None
        assert not invites.redeem(invite_code_hash(short.code), later, person)


@pytest.mark.parametrize("accounts", [[3000, 3001, 3002, 3003]])
def test_many_concurrent_redemptions_still_bind_one_account(uow: Uow, accounts: list[int]) -> None:
    code = issue_invite(uow(), OPERATOR, Role.VIEWER).code
    outcomes = _redeem_together(uow, code, accounts)
    assert sum(not isinstance(o, Exception) for o in outcomes) == 1, outcomes
    assert all(isinstance(o, Refused) for o in outcomes if isinstance(o, Exception))


def test_one_account_redeeming_two_codes_at_once_uses_up_only_one(uow: Uow) -> None:
    codes = [issue_invite(uow(), OPERATOR, Role.VIEWER).code for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def redeem(index: int) -> None:
        work = uow()
        barrier.wait()
        try:
            outcomes[index] = redeem_invite(work, codes[index], 5000, "同一人")
        except Exception as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=redeem, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], Refused), outcomes
    assert refused[0].code == "already_registered"
    with uow() as work:
        redeemed = work.session.execute(
            select(func.count()).select_from(Invite).where(Invite.redeemed_at.is_not(None))
        ).scalar()
    assert redeemed == 1
