"""The fake Bot API server: HTTP routing, fault injection, flood control, and the test API."""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import unquote

from bot.fake_bot_api.methods import METHODS, RATE_LIMITED_METHODS, Call
from bot.fake_bot_api.models import (
    DOWNLOAD_LIMIT_BYTES,
    JSON,
    UPLOAD_LIMIT_BYTES,
    ApiCall,
    ApiError,
    BotMessage,
    CallbackAnswer,
    FaultKind,
    StoredFile,
    bad_request,
    bot_blocked,
    too_many_requests,
)
from bot.fake_bot_api.state import TelegramState
from bot.fake_bot_api.transport import (
    ClientGone,
    HttpRequest,
    PayloadTooLarge,
    close_writer,
    decode_parameters,
    http_response,
    json_response,
    read_request,
    wait_or_disconnect,
)
from bot.fake_bot_api.users import FakeUser

T = TypeVar("T")
_FAULT_KINDS: dict[str, FaultKind] = {
    "400": 400,
    "403": 403,
    "429": 429,
    "500": 500,
    "502": 502,
    "timeout": "timeout",
}


@dataclass
class _Fault:
    method: str | None  # lower-cased; None matches every method
    kind: FaultKind
    remaining: int
    retry_after: int
    chat_id: int | str | None
    hold: float
    applied: bool

    def matches(self, method: str, chat_id: object) -> bool:
        """Whether this fault applies to a call of ``method`` for ``chat_id``."""
        if self.method is not None and self.method != method:
            return False
        return self.chat_id is None or str(self.chat_id) == str(chat_id)

    def error(self) -> ApiError:
        """The Bot API error this fault answers with."""
        if self.kind == 429:
            return too_many_requests(self.retry_after)
        if self.kind == 403:
            return bot_blocked()
        if self.kind == 400:
            return bad_request("injected fault")
        if self.kind == 502:
            return ApiError(502, "Bad Gateway")
        return ApiError(500, "Internal Server Error")


class _Signal:
    """Wakes every coroutine waiting for 'something changed'."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def notify(self) -> None:
        """Wake every waiter."""
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait(self, timeout: float) -> None:
        """Return at the next notify, or after ``timeout`` seconds."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(waiter)


class _SlidingWindow:
    """Events of the last second, for flood control."""

    def __init__(self) -> None:
        self._times: deque[float] = deque()

    def retry_after(self, limit: float, now: float) -> int | None:
        """Seconds to wait if one more event would exceed ``limit`` per second, else None."""
        while self._times and self._times[0] <= now - 1.0:
            self._times.popleft()
        if len(self._times) >= limit:
            return max(1, math.ceil(self._times[0] + 1.0 - now))
        return None

    def add(self, now: float) -> None:
        """Count one event at ``now``."""
        self._times.append(now)


class FakeBotApi:
    """A local fake Telegram Bot API server plus the API tests drive and inspect it with.

    Use it as ``async with FakeBotApi() as server:`` (or ``await server.start()`` and
    ``await server.stop()``), and point PTB at ``server.base_url`` and
    ``server.base_file_url``.
    """

    def __init__(
        self,
        token: str = "123:TEST",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        bot_first_name: str = "Kaohe Test Bot",
        bot_username: str = "kaohe_test_bot",
        rate_limit_per_second: float | None = None,
        chat_rate_limit_per_second: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        # Flood control, off by default: sends per second overall and per chat. Both may be
        # changed while running.
        self.rate_limit_per_second = rate_limit_per_second
        self.chat_rate_limit_per_second = chat_rate_limit_per_second
        self.download_limit = DOWNLOAD_LIMIT_BYTES
        self.upload_limit = UPLOAD_LIMIT_BYTES
        self.sent: list[ApiCall] = []
        self.status_counts: Counter[int] = Counter()
        self.internal_errors: list[Exception] = []  # bugs of the fake itself, for tests

        prefix = token.split(":", 1)[0]
        self.state = TelegramState(
            bot_id=int(prefix) if prefix.isdigit() else 1,
            bot_first_name=bot_first_name,
            bot_username=bot_username,
            clock=clock,
            on_change=self._notify,
        )
        self._faults: list[_Fault] = []
        # Random faults (see chaos()): the chance per call, the generator, the kinds, the hold.
        self._chaos: tuple[float, random.Random, tuple[FaultKind, ...], float] | None = None
        self._chaos_retry_after = 1
        self.chaos_faults: Counter[str] = Counter()  # injected at random, by kind
        self._global_window = _SlidingWindow()
        self._chat_windows: dict[str, _SlidingWindow] = {}
        self._listeners: list[Callable[[ApiCall], None]] = []
        self._changed = _Signal()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on host:port (port 0 picks a free one; see :attr:`url`)."""
        if self._server is not None:
            raise RuntimeError("the fake Bot API is already running")
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._on_connect, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and close every open connection (held requests get no answer)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await server.wait_closed()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to pass to ``ApplicationBuilder().base_url``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """What to pass to ``ApplicationBuilder().base_file_url``."""
        return f"{self.url}/file/bot"

    # -- users, updates, files --------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "测试用户",
        language_code: str | None = "zh-hans",
        *,
        last_name: str | None = None,
        username: str | None = None,
    ) -> FakeUser:
        """The user with this id (created on first call) in a private chat with the bot.

        The bot can only write to users created here, like a real bot can only write to
        people who started it; others answer ``400 Bad Request: chat not found``.
        """
        return self.state.user(user_id, first_name, language_code, last_name, username)

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by the bot (through getUpdates with a later offset)."""
        return list(self.state.updates)

    def register_file(
        self,
        data: bytes,
        kind: str = "document",
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        file_size: int | None = None,
    ) -> StoredFile:
        """Store a file that getFile and the download URL serve (its file_id is in the result)."""
        return self.state.register_file(
            data, kind, file_name=file_name, mime_type=mime_type, file_size=file_size
        )

    def file(self, file_id: str) -> StoredFile:
        """The stored file with this id, for example one the bot uploaded."""
        return self.state.files[file_id]

    # -- what the bot did -------------------------------------------------------------------

    def calls(self, method: str) -> list[ApiCall]:
        """Every received call of ``method`` (case-insensitive), oldest first."""
        name = method.lower()
        return [call for call in self.sent if call.method.lower() == name]

    def messages_to(self, chat_id: int, *, include_deleted: bool = False) -> list[BotMessage]:
        """The bot's messages in this chat, oldest first, as they stand after edits."""
        return self.state.messages_to(chat_id, include_deleted=include_deleted)

    def last_message_to(self, chat_id: int) -> BotMessage:
        """The bot's latest message (not deleted) in this chat."""
        messages = self.messages_to(chat_id)
        if not messages:
            raise LookupError(f"the bot has sent nothing to chat {chat_id}")
        return messages[-1]

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        """Every answerCallbackQuery, oldest first."""
        return list(self.state.callback_answers)

    def answer_to(self, callback_query_id: str) -> CallbackAnswer | None:
        """The bot's answer to this callback query, if it answered."""
        for answer in self.state.callback_answers:
            if answer.callback_query_id == callback_query_id:
                return answer
        return None

    def commands_for(
        self, scope: Mapping[str, Any] | None = None, language_code: str = ""
    ) -> list[JSON]:
        """The command list the bot set for this scope (default scope if None) and language."""
        return list(self.state.commands.get(self.state.commands_key(scope, language_code), []))

    def menu_button(self, chat_id: int = 0) -> JSON | None:
        """The menu button the bot set for a chat (0: the default), if any."""
        return self.state.menu_buttons.get(chat_id)

    @property
    def webhook_url(self) -> str:
        """The URL of the last setWebhook ('' when none)."""
        return self.state.webhook_url

    @property
    def too_many_requests_sent(self) -> int:
        """How many 429 answers the server gave (faults and flood control together)."""
        return self.status_counts[429]

    def add_listener(self, listener: Callable[[ApiCall], None]) -> None:
        """Call ``listener`` after each answered request (e.g. a console printing replies)."""
        self._listeners.append(listener)

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Wait until ``predicate()`` is truthy and return its value; TimeoutError if never."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = ", ".join(f"{c.method}->{c.status}" for c in self.sent[-8:])
                raise TimeoutError(f"condition not met within {timeout}s; last calls: [{recent}]")
            # Re-check now and then as well: the predicate may read state outside the server.
            await self._changed.wait(min(remaining, 0.05))

    # -- faults -----------------------------------------------------------------------------

    def fail_next(
        self,
        method: str | None,
        kind: FaultKind | str,
        count: int = 1,
        *,
        retry_after: int = 1,
        chat_id: int | str | None = None,
        hold: float = 60.0,
        applied: bool = False,
    ) -> None:
        """Make the next ``count`` calls of ``method`` (None: of any method) fail.

        ``kind``: 400; 403 (bot blocked by the user); 429 (Too Many Requests with
        ``retry_after``); 500; 502 (Bad Gateway); or ``"timeout"``, which holds the request
        for ``hold`` seconds or until the client gives up and hangs up, with no answer. With
        ``applied`` a held request takes effect first (the message is sent, but the bot never
        learns it). ``chat_id`` limits the fault to calls for that chat.
        """
        normalised = _FAULT_KINDS.get(str(kind))
        if normalised is None:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {list(_FAULT_KINDS)}")
        fault = _Fault(
            method=method.lower() if method else None,
            kind=normalised,
            remaining=count,
            retry_after=retry_after,
            chat_id=chat_id,
            hold=hold,
            applied=applied,
        )
        self._faults.append(fault)

    def clear_faults(self) -> None:
        """Forget every pending fault."""
        self._faults.clear()

    def chaos(
        self,
        rate: float,
        rng: random.Random,
        kinds: tuple[FaultKind | str, ...] = (429, 403, 500, 502, "timeout"),
        *,
        hold: float = 2.0,
        retry_after: int = 1,
    ) -> None:
        """Fail each call with probability ``rate`` (0 turns it off), with a kind drawn from
        ``kinds`` by ``rng``; a timeout holds the request ``hold`` seconds. Calls matching a
        fault of fail_next() keep that fault; ``chaos_faults`` counts what was injected."""
        normalised = tuple(_FAULT_KINDS[str(k)] for k in kinds)
        self._chaos = (rate, rng, normalised, hold) if rate > 0 else None
        self._chaos_retry_after = retry_after

    # -- internals --------------------------------------------------------------------------

    def _notify(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed() and _running_loop() is not loop:
            # Called from another thread (a console reading stdin): hop onto the loop.
            loop.call_soon_threadsafe(self._changed.notify)
        else:
            self._changed.notify()

    def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A plain callback that starts our own task: when start_server wraps a coroutine
        # itself, Python 3.11 logs a spurious error for every connection that stop() cancels.
        task = asyncio.get_running_loop().create_task(self._serve_connection(reader, writer))
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while True:
                request = await read_request(reader, self.upload_limit)
                if request is None:
                    break
                response = await self._respond(request, reader)
                if response is None:  # the client hung up on a held request
                    break
                writer.write(response)
                await writer.drain()
                if not request.keep_alive:
                    break
        except PayloadTooLarge:
            writer.write(json_response(413, ApiError(413, "Request Entity Too Large").to_json()))
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            await close_writer(writer)

    async def _respond(self, request: HttpRequest, reader: asyncio.StreamReader) -> bytes | None:
        path = unquote(request.path)  # PTB percent-encodes file paths
        file_prefix = f"/file/bot{self.token}/"
        if request.method == "GET" and path.startswith(file_prefix):
            stored = self.state.files_by_path.get(path.removeprefix(file_prefix))
            if stored is None:
                return json_response(404, ApiError(404, "Not Found").to_json())
            return http_response(200, stored.data, "application/octet-stream")
        api_prefix = f"/bot{self.token}/"
        if not path.startswith(api_prefix):
            error = (
                ApiError(401, "Unauthorized")
                if path.startswith("/bot")
                else ApiError(404, "Not Found")
            )
            return json_response(error.error_code, error.to_json())
        answer = await self._call(path.removeprefix(api_prefix).strip("/"), request, reader)
        return None if answer is None else json_response(*answer)

    async def _call(
        self, method: str, request: HttpRequest, reader: asyncio.StreamReader
    ) -> tuple[int, JSON] | None:
        """Run one API call; the HTTP status and body to answer, or None for no answer."""
        name = method.lower()
        handler = METHODS.get(name)
        if handler is None:
            return 404, ApiError(404, "Not Found: method not found").to_json()
        try:
            params, files = decode_parameters(request)
        except ValueError as exc:
            return 400, bad_request(str(exc)).to_json()
        record = ApiCall(method, params, files, time.monotonic())
        self.sent.append(record)

        async def wait_for_change(timeout: float) -> None:
            if await wait_or_disconnect(reader, self._changed.wait(timeout)):
                raise ClientGone

        call = Call(record, wait_for_change, self.download_limit)

        async def run() -> Any:
            self._check_flood(name, params.get("chat_id"))
            return await handler(self.state, call)

        try:
            fault = self._take_fault(name, params.get("chat_id"))
            if fault is None:
                result = await run()
            elif fault.kind != "timeout":
                raise fault.error()
            else:
                # An applied fault takes effect before the hold, a plain one only after it
                # (should the client wait that long); either way the method runs once.
                result = await run() if fault.applied else None
                if await wait_or_disconnect(reader, asyncio.sleep(fault.hold)):
                    raise ClientGone
                if not fault.applied:
                    result = await run()
        except ApiError as error:
            self._finish(record, error.error_code, error=error.description)
            return error.error_code, error.to_json()
        except ClientGone:
            self._finish(record, 0, error="the client hung up before the answer")
            return None
        except asyncio.CancelledError:
            self._finish(record, 0, error="the server stopped before the answer")
            raise
        except Exception as exc:  # a bug in the fake: answer it loudly instead of hanging up
            description = f"Internal Server Error: fake Bot API failed: {exc!r}"
            self.internal_errors.append(exc)
            self._finish(record, 500, error=description)
            return 500, ApiError(500, description).to_json()
        self._finish(record, 200, result=result)
        return 200, {"ok": True, "result": result}

    def _finish(
        self, record: ApiCall, status: int, *, result: Any = None, error: str | None = None
    ) -> None:
        record.status, record.result, record.error = status, result, error
        if status:
            self.status_counts[status] += 1
        for listener in self._listeners:
            listener(record)
        self._notify()

    def _take_fault(self, name: str, chat_id: object) -> _Fault | None:
        for fault in self._faults:
            if fault.matches(name, chat_id):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        if self._chaos is not None and name != "getupdates":
            rate, rng, kinds, hold = self._chaos
            if rng.random() < rate:
                kind = rng.choice(kinds)
                self.chaos_faults[str(kind)] += 1
                return _Fault(None, kind, 1, self._chaos_retry_after, None, hold, False)
        return None

    def _check_flood(self, name: str, chat_id: object) -> None:
        if name not in RATE_LIMITED_METHODS:
            return
        now = time.monotonic()
        windows: list[tuple[_SlidingWindow, float]] = []
        if self.rate_limit_per_second is not None:
            windows.append((self._global_window, self.rate_limit_per_second))
        if self.chat_rate_limit_per_second is not None and chat_id is not None:
            window = self._chat_windows.setdefault(str(chat_id), _SlidingWindow())
            windows.append((window, self.chat_rate_limit_per_second))
        for window, limit in windows:
            wait = window.retry_after(limit, now)
            if wait is not None:
                raise too_many_requests(wait)
        for window, _ in windows:
            window.add(now)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
