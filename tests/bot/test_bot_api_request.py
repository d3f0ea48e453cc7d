"""The bot's Bot API requests (aiohttp): the same answers and failures as python-telegram-bot's
own HTTPXRequest, and a bounded number on the wire."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

import pytest
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.bot_api_request import BotApiRequest
from tests.bot.world import BotWorld


async def test_the_bot_talks_through_it(world: BotWorld) -> None:
    assert isinstance(world.app.bot.request, BotApiRequest)
    user = await world.join(1001)
    user.send_command("/help")
    await world.step()
    assert "/report" in world.texts(user)[-1]
    assert world.errors == []


class Server:
    """A tiny HTTP server that records each request and answers as told."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, bytes]] = []
        self.on_the_wire = 0
        self.most = 0
        self.delay = 0.0
        self.hang = False
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode("latin-1").split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                self.requests.append((head.decode("latin-1"), body))
                self.on_the_wire += 1
                self.most = max(self.most, self.on_the_wire)
                if self.hang:
                    await asyncio.sleep(3600)
                await asyncio.sleep(self.delay)
                self.on_the_wire -= 1
                answer = json.dumps({"ok": True, "result": True}).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(answer)}\r\n\r\n".encode()
                    + answer
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server()
    listening = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    state.port = listening.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        listening.close()


def _data(**values: object) -> RequestData:
    return RequestData([RequestParameter.from_input(k, v) for k, v in values.items()])


async def test_parameters_go_as_a_form_and_files_as_multipart(server: Server) -> None:
    request = BotApiRequest()
    await request.initialize()
    try:
        url = f"http://127.0.0.1:{server.port}/bot1:x/sendMessage"
        status, body = await request.do_request(url, "POST", _data(chat_id=5, text="你好 & =?"))
        assert (status, json.loads(body)) == (200, {"ok": True, "result": True})
        head, sent = server.requests[-1]
        assert "application/x-www-form-urlencoded" in head.lower()
        assert "python-telegram-bot" in head  # its user agent, as its own requests send
        assert parse_qs(sent.decode()) == {"chat_id": ["5"], "text": ["你好 & =?"]}

        document = RequestData(
            [
                RequestParameter.from_input("chat_id", 5),
                RequestParameter.from_input(
                    "document", InputFile(b"%PDF-1.4 bytes", filename="报告.pdf", attach=True)
                ),
            ]
        )
        status, _ = await request.do_request(url, "POST", document)
        head, sent = server.requests[-1]
        assert status == 200
        assert "multipart/form-data" in head.lower()
        assert b"%PDF-1.4 bytes" in sent
        assert 'name="chat_id"' in sent.decode("utf-8", "replace")
    finally:
        await request.shutdown()


async def test_no_more_requests_than_connections_are_on_the_wire(server: Server) -> None:
    request = BotApiRequest(connections=2)
    await request.initialize()
    server.delay = 0.1
    try:
        url = f"http://127.0.0.1:{server.port}/bot1:x/getMe"
        answers = await asyncio.gather(*(request.do_request(url, "POST") for _ in range(6)))
        assert [status for status, _ in answers] == [200] * 6
        assert server.most == 2  # the others waited for a free connection, without failing
    finally:
        await request.shutdown()


async def test_a_server_that_does_not_answer_is_a_timeout(server: Server) -> None:
    request = BotApiRequest()
    await request.initialize()
    server.hang = True
    try:
        url = f"http://127.0.0.1:{server.port}/bot1:x/getMe"
        with pytest.raises(TimedOut):
            await request.do_request(url, "POST", read_timeout=0.2, write_timeout=0.2)
    finally:
        await request.shutdown()


async def test_a_server_that_is_not_there_is_a_network_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nobody listens there
    request = BotApiRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await request.do_request(f"http://127.0.0.1:{port}/bot1:x/getMe", "POST")
        assert not isinstance(raised.value, TimedOut)
    finally:
        await request.shutdown()


async def test_it_works_again_after_a_shutdown(server: Server) -> None:
    request = BotApiRequest()
    url = f"http://127.0.0.1:{server.port}/bot1:x/getMe"
    with pytest.raises(RuntimeError):
        await request.do_request(url, "POST")  # not initialised
    for _ in range(2):
        await request.initialize()
        assert (await request.do_request(url, "POST"))[0] == 200
        await request.shutdown()


async def test_a_proxy_named_in_the_environment_carries_the_requests(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Where Telegram is reached only through a proxy, the operator names it as for httpx.
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.port}")
    request = BotApiRequest()
    await request.initialize()
    try:
        status, _ = await request.do_request("http://bot-api.invalid/bot1:x/getMe", "POST")
        assert status == 200
        head, _ = server.requests[-1]
        assert head.startswith("POST http://bot-api.invalid/bot1:x/getMe HTTP/1.1")
    finally:
        await request.shutdown()
