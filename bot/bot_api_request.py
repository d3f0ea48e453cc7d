"""The bot's requests to the Bot API, through aiohttp instead of python-telegram-bot's httpx.

Each Bot API request cost the bot's event loop more in httpx, httpcore, AnyIO and h11 (pure
Python: a request object, a transport, a pool scanning every connection, a cancel scope per
read and write) than the rest of a report step together; that was the largest item in the
bot's profile. aiohttp parses HTTP in C and keeps its pool in a dict of idle connections: the
same request costs the loop a fraction (see bench/bench_bot.py). python-telegram-bot takes any
`BaseRequest`; this one keeps the semantics of its `HTTPXRequest`:

- the same parameters, sent the same way (a form; multipart when there are files), through
  the proxy the environment names, if any;
- the same timeouts, connect/read/write per request, the longer write timeout for uploads;
- at most CONNECTIONS requests on the wire; the others wait for a free connection (without a
  pool timeout: a burst of answers queues rather than fails);
- a timeout raises `TimedOut` and any other failure of the connection `NetworkError`, which
  python-telegram-bot and kaohe's delivery code already handle (retry, tell the person).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# Telegram takes about 30 messages a second from a bot: a few connections carry that, even at
# a long round trip.
CONNECTIONS = 16
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
MEDIA_WRITE_TIMEOUT = 20.0


class BotApiRequest(BaseRequest):
    """Bot API requests over an aiohttp session with at most `connections` on the wire."""

    __slots__ = ("_connections", "_session", "_slots")

    def __init__(self, connections: int = CONNECTIONS) -> None:
        self._connections = connections
        self._slots = asyncio.Semaphore(connections)
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The read timeout used when a request names none."""
        return READ_TIMEOUT

    async def initialize(self) -> None:
        """Open the session (python-telegram-bot initialises again after a shutdown)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._connections, limit_per_host=0)
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self.USER_AGENT},
                # A proxy from the environment (HTTPS_PROXY, NO_PROXY), as httpx honoured it:
                # where Telegram is reached only through one, the operator sets it there.
                trust_env=True,
                skip_auto_headers=("Accept-Encoding",),
            )

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request once a connection is free for it; its status and body."""
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This BotApiRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        fields = request_data.json_parameters if request_data else None
        body: aiohttp.FormData | dict[str, str] | None = fields
        if files:
            form = aiohttp.FormData(quote_fields=False)
            for name, value in (fields or {}).items():
                form.add_field(name, value)
            for name, (file_name, content, mime_type) in files.items():
                form.add_field(name, content, filename=file_name, content_type=mime_type)
            body = form
        read = _given(read_timeout, READ_TIMEOUT)
        write = _given(write_timeout, MEDIA_WRITE_TIMEOUT if files else WRITE_TIMEOUT)
        connect = _given(connect_timeout, CONNECT_TIMEOUT)
        # aiohttp has no write timeout of its own: the whole exchange is bounded by the sum.
        total = None if None in (read, write, connect) else read + write + connect  # type: ignore[operator]
        timeout = aiohttp.ClientTimeout(total=total, sock_connect=connect, sock_read=read)
        async with self._slots:
            try:
                async with session.request(method, url, data=body, timeout=timeout) as response:
                    return response.status, await response.read()
            except TimeoutError as exc:
                raise TimedOut from exc
            except aiohttp.ClientError as exc:
                # The URL holds the bot's token: it never goes into a message.
                said = str(exc).replace(url, "the Bot API")
                raise NetworkError(f"aiohttp.{type(exc).__name__}: {said}") from exc


def _given(value: Any, default: float) -> float | None:
    """A timeout as python-telegram-bot passes it: DEFAULT_NONE for "use the default"."""
    return default if isinstance(value, type(BaseRequest.DEFAULT_NONE)) else value
