"""The broadcast delivery engine against the fake Bot API: limits, faults, crashes, races."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from typing import Any

from telegram import Update

from bot.delivery import DeliveryEngine, ack_payload, register_broadcast_jobs
from bot.fake_bot_api import FakeUser
from services.access import Actor, Role
from services.broadcasts import BroadcastView, claim_deliveries, create_broadcast
from services.people import person_session
from tests.bot.world import BotWorld, new_application
from tests.texts import text_of

UNITS = ("dianzi", "dianzi", "xiji", "finance", "shancheng", "xiji")


async def _setup(world: BotWorld, count: int = 6) -> tuple[Actor, list[FakeUser], FakeUser]:
    coordinator = await world.join(900, Role.COORDINATOR, None, "协调员")
    liaisons = [
        await world.join(100 + i, Role.LIAISON, UNITS[i % len(UNITS)], f"联络员{i}")
        for i in range(count)
    ]
    session = person_session(world.deps.read_uow(), 900)
    assert session is not None
    return session.actor, liaisons, coordinator


def _broadcast(world: BotWorld, actor: Actor, text: str = "请本周五前提交月报") -> BroadcastView:
    return create_broadcast(world.uow(), actor, text, {"kind": "liaisons"})


def _engine(world: BotWorld, app: Any = None, **options: Any) -> DeliveryEngine:
    settings: dict[str, Any] = {"rate": 1000.0, "chat_rate": 1000.0, "backoff": 0.01}
    settings.update(options)
    return DeliveryEngine((app or world.app).bot, world.deps, **settings)


def _notices(world: BotWorld) -> Counter[int]:
    """How many broadcast messages (those with the 已知悉 button) each chat received."""
    chats = {int(call.params["chat_id"]) for call in world.server.calls("sendMessage")}
    counts: Counter[int] = Counter()
    for chat in chats:
        for message in world.server.messages_to(chat):
            if "ack|" in str(message.reply_markup):
                counts[chat] += 1
    return counts


def _answer(world: BotWorld, query: str) -> str:
    answer = world.server.answer_to(query)
    assert answer is not None and answer.text is not None
    return answer.text


def _ack_data(world: BotWorld, user: FakeUser) -> str:
    message = next(m for m in world.server.messages_to(user.id) if "ack|" in str(m.reply_markup))
    return str(message.reply_markup["inline_keyboard"][0][0]["callback_data"])  # type: ignore[index]


async def test_each_recipient_gets_the_notice_once_with_an_acknowledged_button(
    world: BotWorld,
) -> None:
    actor, liaisons, _ = await _setup(world)
    _broadcast(world, actor, "请<本周五>前提交月报")
    assert await _engine(world).run_until_idle() == 6
    assert _notices(world) == Counter({u.id: 1 for u in liaisons})
    message = world.last(liaisons[0])
    assert (
        "请<本周五>前提交月报" in message.text
        and text_of("people.role_coordinator") in message.text
    )
    assert message.reply_markup["inline_keyboard"][0][0]["text"] == text_of("broadcast.ack_button")
    # Nothing is left: a second run sends nothing.
    assert await _engine(world).run_until_idle() == 0


async def test_the_acknowledged_button_thanks_once_and_only_for_ones_own_notice(
    world: BotWorld,
) -> None:
    actor, liaisons, _ = await _setup(world, 2)
    view = _broadcast(world, actor)
    await _engine(world).run_until_idle()
    first, second = liaisons
    data = _ack_data(world, first)
    query = first.tap(world.last(first), data)
    await world.step()
    assert _answer(world, query) == text_of("broadcast.ack_ok")
    query = first.tap(world.last(first), data)
    await world.step()
    assert _answer(world, query) == text_of("broadcast.ack_already")
    # Someone else's delivery, even with a genuine signature, is not theirs to acknowledge.
    query = second.tap(world.last(second), data, strict=False)
    await world.step()
    assert _answer(world, query) == text_of("broadcast.ack_not_yours")
    forged = data[:-3] + "zzz"
    query = second.tap(world.last(second), forged, strict=False)
    await world.step()
    assert _answer(world, query) == text_of("common.button_invalid")
    from services.broadcasts import broadcast_status

    status = broadcast_status(world.uow(), actor, view.id)
    assert status.total.acknowledged == 1


async def test_too_many_requests_waits_as_long_as_asked_and_loses_nothing(
    world: BotWorld,
) -> None:
    actor, liaisons, _ = await _setup(world)
    _broadcast(world, actor)
    world.server.fail_next("sendMessage", 429, 2, retry_after=1)
    engine = _engine(world)
    started = time.monotonic()
    await engine.run_until_idle()
    assert time.monotonic() - started >= 1.0
    assert engine.stats.retry_after == 2 and engine.stats.waits == [1.0, 1.0]
    assert _notices(world) == Counter({u.id: 1 for u in liaisons})


async def test_the_engine_keeps_within_the_servers_flood_limits(world: BotWorld) -> None:
    actor, liaisons, _ = await _setup(world)
    world.server.rate_limit_per_second = 5
    world.server.chat_rate_limit_per_second = 1
    _broadcast(world, actor)
    _broadcast(world, actor, "第二条")
    await _engine(world, rate=5.0, chat_rate=1.0).run_until_idle()
    assert world.server.too_many_requests_sent == 0
    assert _notices(world) == Counter({u.id: 2 for u in liaisons})


async def test_a_person_who_blocked_the_bot_is_unreachable_and_the_sender_is_told_once(
    world: BotWorld,
) -> None:
    actor, liaisons, coordinator = await _setup(world)
    liaisons[0].block_bot()
    view = _broadcast(world, actor)
    engine = _engine(world)
    await engine.run_until_idle()
    await engine.run_until_idle()
    # The unit's other liaison still got it.
    assert _notices(world) == Counter({u.id: 1 for u in liaisons[1:]})
    told = [t for t in world.texts(coordinator) if "未能送达" in t]
    assert len(told) == 1 and "联络员0" in told[0] and f"通知 {view.id}" in told[0]
    from services.broadcasts import broadcast_status

    status = broadcast_status(world.uow(), actor, view.id)
    dianzi = next(u for u in status.units if u.unit == "店子镇")
    assert (dianzi.delivered, dianzi.unreachable) == (1, 1)


async def test_server_errors_and_timeouts_are_retried_and_delivered_once(
    world: BotWorld,
) -> None:
    actor, liaisons, _ = await _setup(world)
    _broadcast(world, actor)
    world.server.fail_next("sendMessage", 500, 1)
    world.server.fail_next("sendMessage", 502, 1)
    world.server.fail_next("sendMessage", "timeout", 1, hold=5.0)
    engine = _engine(world, send_timeout=0.3)
    await engine.run_until_idle()
    assert engine.stats.retried == 3
    assert _notices(world) == Counter({u.id: 1 for u in liaisons})


async def test_a_timeout_after_telegram_delivered_is_sent_again_by_decision(
    world: BotWorld,
) -> None:
    """At least once for timeouts: a repeated notice beats a lost one; both copies carry the
    same delivery's button, so acknowledging counts once."""
    actor, liaisons, _ = await _setup(world, 2)
    _broadcast(world, actor)
    first = liaisons[0]
    world.server.fail_next("sendMessage", "timeout", 1, hold=5.0, applied=True, chat_id=first.id)
    await _engine(world, send_timeout=0.3).run_until_idle()
    assert _notices(world) == Counter({first.id: 2, liaisons[1].id: 1})
    copies = [m for m in world.server.messages_to(first.id) if "ack|" in str(m.reply_markup)]
    assert len({str(m.reply_markup) for m in copies}) == 1


async def test_a_broadcast_stopped_mid_way_resumes_on_a_new_application_exactly_once(
    world: BotWorld,
) -> None:
    actor, liaisons, _ = await _setup(world)
    _broadcast(world, actor)
    engine = _engine(world, rate=20.0)
    task = asyncio.create_task(engine.run_until_idle())
    await world.server.wait_for(lambda: sum(_notices(world).values()) >= 2)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    sent_before = sum(_notices(world).values())
    assert 2 <= sent_before < 6
    # "Restart": a new Application and engine on the same database.
    app = new_application(world, updater=False)
    await app.initialize()
    try:
        await _engine(world, app).run_until_idle()
    finally:
        await app.shutdown()
    assert _notices(world) == Counter({u.id: 1 for u in liaisons})


async def test_claims_of_a_killed_engine_are_sent_after_the_lease_exactly_once(
    world: BotWorld,
) -> None:
    actor, liaisons, _ = await _setup(world)
    _broadcast(world, actor)
    # A process claimed three deliveries and died before sending them.
    dead = claim_deliveries(world.uow(), "killed", 3, _engine(world).lease)
    assert len(dead) == 3
    await _engine(world).run_until_idle()
    assert sum(_notices(world).values()) == 3
    world.clock.advance(minutes=3)
    await _engine(world).run_until_idle()
    assert _notices(world) == Counter({u.id: 1 for u in liaisons})


async def test_two_engines_racing_on_one_database_send_each_notice_once(
    world: BotWorld,
) -> None:
    actor, liaisons, _ = await _setup(world)
    for index in range(3):
        _broadcast(world, actor, f"通知{index}")
    other = new_application(world, updater=False)
    await other.initialize()
    try:
        one = _engine(world, batch=2, rate=200.0)
        two = _engine(world, other, batch=2, rate=200.0)
        sent = await asyncio.gather(one.run_until_idle(), two.run_until_idle())
    finally:
        await other.shutdown()
    assert sum(sent) == 18
    assert _notices(world) == Counter({u.id: 3 for u in liaisons})


async def test_the_job_queue_runs_the_engine(world: BotWorld) -> None:
    actor, liaisons, _ = await _setup(world, 2)
    _broadcast(world, actor)
    app = new_application(world, updater=False, jobs=True)
    await app.initialize()
    await app.start()
    try:
        await world.server.wait_for(lambda: sum(_notices(world).values()) == 2, timeout=5)
    finally:
        await app.stop()
        await app.shutdown()
    assert _notices(world) == Counter({u.id: 1 for u in liaisons})


def test_the_acknowledged_button_is_handled_before_the_dialog_router(world: BotWorld) -> None:
    handlers = world.app.handlers[0]
    pattern = getattr(handlers[0], "pattern", None)
    assert pattern is not None and pattern.match(ack_payload(world.deps.signer, 5))
    assert register_broadcast_jobs is not None and Update is not None
