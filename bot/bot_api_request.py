"""The bot's requests to the Bot API: python-telegram-bot's HTTPXRequest, cheaper per request.

httpcore's connection pool looks at every pooled connection, each time a request starts or
ends, and asks each idle one whether its socket is readable (a server that hung up): through
AnyIO, that builds a table of the socket's attributes and asks the kernel for the peer's
address first, every time. With the dozens of connections python-telegram-bot's 256-connection
pool grows to while many people are answered at once, that bookkeeping was the largest item in
the bot's profile (a quarter of its CPU at 200 liaisons reporting at once). Here:

- at most CONNECTIONS requests reach httpx at once; the others wait on a semaphore (free) and
  for as long as it takes, so a burst queues rather than fails after the pool timeout;
- an idle connection's readability is checked on its socket directly (one poll, as httpcore
  itself does it), not through AnyIO's attribute table.

Both are optimisations only: where httpx or httpcore are not as expected, the request works as
python-telegram-bot's own.
"""

from __future__ import annotations

import asyncio
import select
import socket
from typing import Any

import httpcore
from telegram.request import HTTPXRequest

# Telegram takes about 30 messages a second from a bot: a few connections carry that, even at
# a long round trip.
CONNECTIONS = 16


class BotApiRequest(HTTPXRequest):
    """HTTPXRequest with at most `connections` requests on the wire and a cheap pool."""

    def __init__(self, connections: int = CONNECTIONS) -> None:
        super().__init__(connection_pool_size=connections)
        self._slots = asyncio.Semaphore(connections)
        _use_direct_socket_checks(self._client)

    async def initialize(self) -> None:
        """Initialise (python-telegram-bot builds a new client after a shutdown)."""
        await super().initialize()
        _use_direct_socket_checks(self._client)

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        """Send the request once a connection is free for it."""
        async with self._slots:
            return await super().do_request(*args, **kwargs)


def _use_direct_socket_checks(client: Any) -> None:
    """Give the client's connection pool the network backend below, if it has the usual one."""
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
    if isinstance(pool, httpcore.AsyncConnectionPool) and not isinstance(
        getattr(pool, "_network_backend", None), DirectCheckBackend
    ):
        pool._network_backend = DirectCheckBackend()


class DirectCheckBackend(httpcore.AnyIOBackend):
    """httpcore's AnyIO backend whose streams check readability on the socket directly."""

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        """A TCP connection."""
        return DirectCheckStream(await super().connect_tcp(*args, **kwargs))

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        """A Unix socket connection."""
        return DirectCheckStream(await super().connect_unix_socket(*args, **kwargs))


class DirectCheckStream(httpcore.AsyncNetworkStream):
    """A stream that answers "is_readable" from its socket, and passes everything else on."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._socket: socket.socket | None = stream.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Read from the stream."""
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Write to the stream."""
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        """Close the stream."""
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """The stream over TLS (its socket is the same)."""
        tls = await self._stream.start_tls(ssl_context, server_hostname, timeout)
        return DirectCheckStream(tls)

    def get_extra_info(self, info: str) -> Any:
        """Readability from the socket; anything else from the stream."""
        if info == "is_readable":
            return socket_readable(self._socket)
        return self._stream.get_extra_info(info)


def socket_readable(sock: socket.socket | None) -> bool:
    """Whether a read would return at once (data, or the end a server that hung up leaves);
    a socket that is gone counts as readable, as in httpcore."""
    fd = -1 if sock is None else sock.fileno()
    if fd < 0:
        return True
    if not hasattr(select, "poll"):  # pragma: no cover - Windows
        readable, _, _ = select.select([fd], [], [], 0)
        return bool(readable)
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))
