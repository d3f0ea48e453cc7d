"""The bot's Bot API requests: a cheap connection pool, a bounded number on the wire."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpcore

from bot.bot_api_request import BotApiRequest, DirectCheckBackend, socket_readable
from tests.bot.world import BotWorld


def test_a_socket_is_readable_once_the_peer_wrote_or_hung_up() -> None:
    mine, theirs = socket.socketpair()
    try:
        assert socket_readable(mine) is False
        theirs.sendall(b"x")
        assert socket_readable(mine) is True
        mine.recv(1)
        assert socket_readable(mine) is False
        theirs.close()
        assert socket_readable(mine) is True  # the end of the stream is waiting
    finally:
        mine.close()
    assert socket_readable(None) is True
    assert socket_readable(mine) is True  # closed: treated as gone, as httpcore does


async def test_the_bot_talks_through_the_cheap_pool(world: BotWorld) -> None:
    request = world.app.bot.request
    assert isinstance(request, BotApiRequest)
    pool = request._client._transport._pool  # type: ignore[attr-defined]
    assert isinstance(pool, httpcore.AsyncConnectionPool)
    assert isinstance(pool._network_backend, DirectCheckBackend)
    user = await world.join(1001)
    user.send_command("/help")
    await world.step()
    assert "/report" in world.texts(user)[-1]
    assert world.errors == []
    # Every connection the pool opened checks its socket directly, and is still usable.
    connections = pool.connections
    assert connections and all(not c.has_expired() for c in connections)


async def test_no_more_requests_than_connections_are_on_the_wire(
    monkeypatch: Any,
) -> None:
    request = BotApiRequest(connections=2)
    on_the_wire = 0
    most = 0
    release = asyncio.Event()

    async def slow(self: Any, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        nonlocal on_the_wire, most
        on_the_wire += 1
        most = max(most, on_the_wire)
        await release.wait()
        on_the_wire -= 1
        return 200, b"{}"

    monkeypatch.setattr("telegram.request.HTTPXRequest.do_request", slow)
    calls = [asyncio.create_task(request.do_request("u", "POST")) for _ in range(5)]
    await asyncio.sleep(0.05)
    assert most == 2  # the other three wait for a free connection, without failing
    release.set()
    assert [await c for c in calls] == [(200, b"{}")] * 5
    await request.shutdown()
