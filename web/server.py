"""The dashboard's uvicorn server on the event loop of whoever starts it (the bot's).

As in python-telegram-bot's custom webhook example, uvicorn serves the ASGI app as a task of
the running loop; the bot keeps the process's signals (uvicorn installs no handlers of its own),
and the socket is bound before anything starts, so a port already taken is one clear error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

log = logging.getLogger("kaohe.web")


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: the process's owner stops it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave the signals alone."""
        yield


class DashboardServer:
    """Listens on `host`:`port` (0: any free port) once bound; serves an app once started."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._socket: socket.socket | None = None
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    def bind(self) -> str:
        """Take the address (OSError if it is taken) and return the local URL."""
        if self._socket is None:
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.host, self.port))
            except OSError:
                sock.close()
                raise
            sock.listen(128)
            sock.setblocking(False)
            self._socket = sock
            self.port = sock.getsockname()[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The local URL (binds first if need be)."""
        return self.bind()

    async def start(self, app: ASGIApp) -> None:
        """Serve `app` on the running loop until `stop`."""
        self.bind()
        assert self._socket is not None
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            server_header=False,
            proxy_headers=True,
            use_colors=False,
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(
            self._server.serve(sockets=[self._socket]), name="kaohe-dashboard"
        )
        while not self._server.started and not self._task.done():
            await asyncio.sleep(0.01)
        if self._task.done():
            self._task.result()  # raises what stopped it
            raise RuntimeError("the dashboard stopped as it started")
        log.info("dashboard listening on %s", self.url)

    async def stop(self) -> None:
        """Stop serving and release the address."""
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._server = None
        self._task = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
