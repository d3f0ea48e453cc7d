"""Broadcasts: recipients fixed at confirmation, claims that never overlap, acknowledgements."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest

from services.access import Actor, Role
from services.broadcasts import (
    Outcome,
    acknowledge,
    audience_recipients,
    broadcast_status,
    cancel_broadcast,
    claim_deliveries,
    create_broadcast,
    finish_broadcasts,
    record_outcomes,
)
from services.errors import Invalid, Refused
from services.people import deactivate_person, register_person, register_units
from services.sample_district import sample_units
from storage.clock import FixedClock
from storage.models import BroadcastDelivery, BroadcastRow
from storage.unit_of_work import UnitOfWork

OPERATOR = Actor.operator("test")
LEASE = timedelta(minutes=2)
UoW = Callable[[], UnitOfWork]


@pytest.fixture
def people(uow: UoW) -> dict[str, Actor]:
    """The sample units; two liaisons of 店子镇, one of 西集镇, one of 区财政局, a coordinator."""
    register_units(uow(), OPERATOR, sample_units())
    made = {}
    for telegram_id, name, role, unit in [
        (11, "张三", Role.LIAISON, "dianzi"),
        (12, "李四", Role.LIAISON, "dianzi"),
        (13, "王五", Role.LIAISON, "xiji"),
        (14, "赵六", Role.LIAISON, "finance"),
        (21, "协调员", Role.COORDINATOR, None),
        (22, "协调员二", Role.COORDINATOR, None),
    ]:
        view = register_person(uow(), OPERATOR, telegram_id, name, role, unit)
        made[name] = Actor(view.id, role, None, name)
    return made


def _count(uow: UoW, model: type) -> int:
    with uow() as u:
        return len(list(u.session.query(model)))


def test_all_liaisons_get_one_delivery_each_fixed_at_confirmation(
    uow: UoW, people: dict[str, Actor]
) -> None:
    coordinator = people["协调员"]
    view = create_broadcast(uow(), coordinator, "  本周五前提交月报  ", {"kind": "liaisons"})
    assert view.recipients == 4 and view.text == "本周五前提交月报"
    # A liaison deactivated afterwards still has their delivery: who gets it was fixed.
    deactivate_person(uow(), OPERATOR, people["王五"].person_id or 0)
    status = broadcast_status(uow(), coordinator, view.id)
    assert status.total.recipients == 4 and status.total.pending == 4


def test_a_group_chosen_units_and_coordinators_reach_the_right_people(
    uow: UoW, people: dict[str, Actor]
) -> None:
    coordinator = people["协调员"]

    def names(audience: dict[str, object]) -> set[str]:
        return {r.name for r in audience_recipients(uow(), coordinator, audience)}

    assert names({"kind": "group", "group": "town"}) == {"张三", "李四", "王五"}
    assert names({"kind": "group", "group": "zone_or_department"}) == {"赵六"}
    with uow() as u:
        from storage.repositories.units import Units

        xiji = u.repository(Units).by_code("xiji")
        assert xiji is not None
        xiji_id = xiji.id
    assert names({"kind": "units", "unit_ids": [xiji_id]}) == {"王五"}
    # The sender does not send to themselves.
    assert names({"kind": "coordinators"}) == {"协调员二"}


@pytest.mark.parametrize("role", [Role.LIAISON, Role.RATER, Role.VIEWER])
def test_only_coordinators_may_broadcast(uow: UoW, people: dict[str, Actor], role: Role) -> None:
    with pytest.raises(Refused):
        create_broadcast(uow(), Actor(people["张三"].person_id, role), "x", {"kind": "liaisons"})
    assert _count(uow, BroadcastRow) == 0


@pytest.mark.parametrize(
    ("text", "code"),
    [("   ", "broadcast_text_empty"), ("字" * 4001, "broadcast_text_too_long")],
)
def test_an_empty_or_too_long_notice_is_refused(
    uow: UoW, people: dict[str, Actor], text: str, code: str
) -> None:
    with pytest.raises(Invalid) as caught:
        create_broadcast(uow(), people["协调员"], text, {"kind": "liaisons"})
    assert caught.value.code == code
    assert _count(uow, BroadcastRow) == 0


def test_a_time_in_the_past_and_an_empty_audience_are_refused(
    uow: UoW, people: dict[str, Actor], clock: FixedClock
) -> None:
    coordinator = people["协调员"]
    with pytest.raises(Invalid) as caught:
        create_broadcast(
            uow(), coordinator, "x", {"kind": "liaisons"}, clock.now() - timedelta(hours=1)
        )
    assert caught.value.code == "broadcast_in_past"
    with pytest.raises(Invalid) as caught:
        create_broadcast(uow(), coordinator, "x", {"kind": "units", "unit_ids": [9999]})
    assert caught.value.code == "broadcast_no_recipients"
    assert _count(uow, BroadcastRow) == 0 and _count(uow, BroadcastDelivery) == 0


def test_a_scheduled_broadcast_is_not_claimed_before_its_time(
    uow: UoW, people: dict[str, Actor], clock: FixedClock
) -> None:
    create_broadcast(
        uow(), people["协调员"], "x", {"kind": "liaisons"}, clock.now() + timedelta(hours=1)
    )
    assert claim_deliveries(uow(), "a", 10, LEASE) == []
    clock.advance(hours=1)
    assert len(claim_deliveries(uow(), "a", 10, LEASE)) == 4


def test_a_scheduled_broadcast_cancelled_in_time_is_never_sent(
    uow: UoW, people: dict[str, Actor], clock: FixedClock
) -> None:
    coordinator = people["协调员"]
    later = create_broadcast(
        uow(), coordinator, "x", {"kind": "liaisons"}, clock.now() + timedelta(hours=1)
    )
    with pytest.raises(Refused):
        cancel_broadcast(uow(), people["张三"], later.id)
    assert cancel_broadcast(uow(), coordinator, later.id).status == "cancelled"
    clock.advance(hours=2)
    assert claim_deliveries(uow(), "a", 10, LEASE) == []
    now = create_broadcast(uow(), coordinator, "y", {"kind": "liaisons"})
    claim_deliveries(uow(), "a", 1, LEASE)
    with pytest.raises(Invalid) as caught:
        cancel_broadcast(uow(), coordinator, now.id)
    assert caught.value.code == "broadcast_not_cancellable"


def test_claims_never_overlap_and_a_dead_engines_claims_come_back_after_the_lease(
    uow: UoW, people: dict[str, Actor], clock: FixedClock
) -> None:
    create_broadcast(uow(), people["协调员"], "x", {"kind": "liaisons"})
    first = claim_deliveries(uow(), "dead", 3, LEASE)
    second = claim_deliveries(uow(), "live", 3, LEASE)
    assert len(first) == 3 and len(second) == 1
    assert not {j.id for j in first} & {j.id for j in second}
    assert claim_deliveries(uow(), "live", 3, LEASE) == []
    clock.advance(seconds=LEASE.total_seconds() + 1)
    again = claim_deliveries(uow(), "live", 10, LEASE)
    assert {j.id for j in again} == {j.id for j in first} | {j.id for j in second}
    # The dead engine's late outcome no longer counts: its claim is gone.
    assert record_outcomes(uow(), [Outcome(first[0], "delivered", 1)]) == 1


def test_two_engines_claiming_at_once_share_the_deliveries_without_overlap(
    uow: UoW, people: dict[str, Actor]
) -> None:
    for _ in range(5):
        create_broadcast(uow(), people["协调员"], "x", {"kind": "liaisons"})
    claimed: dict[str, list[int]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def engine(name: str) -> None:
        start.wait()
        while jobs := claim_deliveries(uow(), name, 2, LEASE):
            claimed[name].extend(j.id for j in jobs)

    threads = [threading.Thread(target=engine, args=(n,)) for n in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = claimed["a"] + claimed["b"]
    assert len(everything) == len(set(everything)) == 20


def test_a_finished_broadcast_tells_its_sender_once_about_the_unreachable(
    uow: UoW, people: dict[str, Actor]
) -> None:
    view = create_broadcast(uow(), people["协调员"], "x", {"kind": "liaisons"})
    jobs = claim_deliveries(uow(), "a", 10, LEASE)
    outcomes = [Outcome(j, "delivered", 100 + j.id) for j in jobs[1:]]
    outcomes.append(Outcome(jobs[0], "unreachable", error="Forbidden"))
    assert record_outcomes(uow(), outcomes) == 0
    notices = finish_broadcasts(uow())
    assert [(n.broadcast_id, n.telegram_id, n.names, n.total) for n in notices] == [
        (view.id, 21, ["张三"], 4)
    ]
    assert finish_broadcasts(uow()) == []
    status = broadcast_status(uow(), people["协调员"], view.id)
    assert status.broadcast.status == "done"
    dianzi = next(u for u in status.units if u.unit == "店子镇")
    assert (dianzi.recipients, dianzi.delivered, dianzi.unreachable) == (2, 1, 1)


def test_a_recipient_acknowledges_their_own_delivery_once(
    uow: UoW, people: dict[str, Actor]
) -> None:
    view = create_broadcast(uow(), people["协调员"], "x", {"kind": "liaisons"})
    jobs = claim_deliveries(uow(), "a", 10, LEASE)
    record_outcomes(uow(), [Outcome(j, "delivered", 1) for j in jobs])
    mine = next(j for j in jobs if j.telegram_id == 11)
    assert acknowledge(uow(), mine.id, 12) == "not_yours"
    assert acknowledge(uow(), mine.id, 11) == "ok"
    assert acknowledge(uow(), mine.id, 11) == "already"
    assert acknowledge(uow(), 99999, 11) == "not_yours"
    status = broadcast_status(uow(), people["协调员"], view.id)
    assert status.total.acknowledged == 1 and status.total.delivered == 4
