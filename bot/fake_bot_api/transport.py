"""Minimal HTTP/1.1 over asyncio streams: enough for httpx (PTB's client) and curl.

Keep-alive connections, Content-Length or chunked request bodies, query strings,
``application/x-www-form-urlencoded`` (what PTB sends), ``multipart/form-data`` (PTB's
uploads) and ``application/json`` bodies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.fake_bot_api.models import JSON, UploadedFile

# Form values PTB sends as raw strings; everything else arrives JSON-encoded (see
# telegram.request.RequestData.json_parameters), so only these must not be JSON-decoded.
STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "secret_token",
        "file_id",
        "action",
        "language_code",
        "emoji",
        "name",
        "description",
        "short_description",
        "title",
        "business_connection_id",
        "message_effect_id",
        "photo",
        "document",
        "sticker",
        "voice",
        "audio",
        "video",
        "animation",
    }
)


class PayloadTooLarge(Exception):
    """The request body exceeds the upload limit."""


class ClientGone(Exception):
    """The client closed the connection while its request was held."""


@dataclass(frozen=True)
class HttpRequest:
    """One parsed HTTP request."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def keep_alive(self) -> bool:
        """Whether the client wants the connection kept open after the answer."""
        return self.headers.get("connection", "").lower() != "close"


async def read_request(reader: asyncio.StreamReader, upload_limit: int) -> HttpRequest | None:
    """Read one request; None when the client closed the connection between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader, upload_limit)
    else:
        length = int(headers.get("content-length", "0") or 0)
        if length > upload_limit:
            raise PayloadTooLarge
        body = await reader.readexactly(length)
    split = urlsplit(target)
    return HttpRequest(method.upper(), split.path, split.query, headers, body)


async def _read_chunked(reader: asyncio.StreamReader, upload_limit: int) -> bytes:
    body = bytearray()
    while True:
        line = await reader.readuntil(b"\r\n")
        size = int(line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass  # trailers, which nobody needs here
            return bytes(body)
        body += await reader.readexactly(size)
        if len(body) > upload_limit:
            raise PayloadTooLarge
        await reader.readexactly(2)


def http_response(status: int, body: bytes, content_type: str = "application/json") -> bytes:
    """A complete HTTP/1.1 response with a Content-Length, keeping the connection open."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Server: kaohe-fake-bot-api\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: keep-alive\r\n\r\n"
    )
    return head.encode("latin-1") + body


def json_response(status: int, payload: JSON) -> bytes:
    """An HTTP response carrying ``payload`` as UTF-8 JSON."""
    return http_response(status, json.dumps(payload, ensure_ascii=False).encode())


def decode_parameters(request: HttpRequest) -> tuple[JSON, dict[str, UploadedFile]]:
    """The Bot API parameters of a request (query string and body) and its uploaded files."""
    params: JSON = {
        name: _decode_form_value(name, value)
        for name, value in parse_qsl(request.query, keep_blank_values=True)
    }
    files: dict[str, UploadedFile] = {}
    if not request.body:
        return params, files
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        try:
            body = json.loads(request.body)
        except ValueError:
            raise ValueError("can't parse JSON body") from None
        if not isinstance(body, dict):
            raise ValueError("JSON body must be an object")
        params.update(body)
    elif media_type == "multipart/form-data":
        boundary = _header_parameter(content_type, "boundary")
        if not boundary:
            raise ValueError("multipart body without a boundary")
        fields, files = parse_multipart(request.body, boundary)
        params.update({name: _decode_form_value(name, value) for name, value in fields.items()})
    else:
        form = parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        params.update({name: _decode_form_value(name, value) for name, value in form})
    return params, files


def _decode_form_value(name: str, value: str) -> Any:
    if name in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # e.g. chat_id "@channel"


_FORM_PARAM = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
_FORM_ESCAPE = re.compile(r"%(22|[01][0-9A-F])|\\\\")


def _unescape_form_param(value: str) -> str:
    # Undo httpx's HTML5 form encoding of quotes, backslashes and control characters.
    return _FORM_ESCAPE.sub(
        lambda m: "\\" if m.group(0) == "\\\\" else chr(int(m.group(1), 16)), value
    )


def parse_multipart(body: bytes, boundary: str) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """Split a multipart/form-data body into text fields and uploaded files."""
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for chunk in body.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        part = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, separator, content = part.partition(b"\r\n\r\n")
        if not separator:
            continue
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = {
            key.lower(): _unescape_form_param(value)
            for key, value in _FORM_PARAM.findall(headers.get("content-disposition", ""))
        }
        field_name = disposition.get("name")
        if field_name is None:
            continue
        # A part is a file if it names one, or carries content other than text: clients send
        # plain fields with or without "text/plain" (aiohttp does, httpx does not).
        media_type = headers.get("content-type", "text/plain").split(";", 1)[0].strip().lower()
        if "filename" in disposition or media_type != "text/plain":
            files[field_name] = UploadedFile(
                field_name, disposition.get("filename"), headers.get("content-type"), content
            )
        else:
            fields[field_name] = content.decode("utf-8", "replace")
    return fields, files


def _header_parameter(header: str, key: str) -> str | None:
    for piece in header.split(";")[1:]:
        name, _, value = piece.strip().partition("=")
        if name.lower() == key:
            return value.strip('"')
    return None


async def wait_or_disconnect(reader: asyncio.StreamReader, waiting: Awaitable[None]) -> bool:
    """Await ``waiting``; True if the client closed the connection first."""
    # The client sends nothing while it awaits our answer, so a read only ends at EOF.
    gone = asyncio.ensure_future(reader.read(1))
    work = asyncio.ensure_future(waiting)
    try:
        done, _ = await asyncio.wait({gone, work}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (gone, work):
            if not task.done():
                task.cancel()
        # Collect both outcomes so that no exception is left unretrieved.
        await asyncio.gather(gone, work, return_exceptions=True)
    return gone in done


async def close_writer(writer: asyncio.StreamWriter) -> None:
    """Close a connection, ignoring a client that already went away."""
    writer.close()
    with contextlib.suppress(ConnectionError, asyncio.CancelledError):
        await writer.wait_closed()
