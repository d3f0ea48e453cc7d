"""Telegram's text rules: HTML parse mode into entities, UTF-16 lengths, image dimensions."""

from __future__ import annotations

import html
import re
import struct
from html.parser import HTMLParser

from bot.fake_bot_api.models import JSON, bad_request

# Tags Telegram's HTML parse mode accepts and the entity each one makes.
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}


def utf16_length(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


class _HtmlError(Exception):
    pass


class _TelegramHtmlParser(HTMLParser):
    """Turns Telegram-flavoured HTML into plain text and MessageEntity dicts."""

    def __init__(self, source: str) -> None:
        # Character references are handled here so that a raw "<" can be told from "&lt;".
        super().__init__(convert_charrefs=False)
        self._source = source
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self._parts: list[str] = []
        self._position = 0  # UTF-16 offset of the next character
        self._stack: list[tuple[str, JSON | None]] = []
        self._entities: list[JSON] = []

    def _byte_offset(self) -> int:
        line, column = self.getpos()
        index = self._line_starts[line - 1] + column
        return len(self._source[:index].encode())

    def _unsupported(self, tag: str) -> _HtmlError:
        return _HtmlError(f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}')

    def _append(self, text: str) -> None:
        self._parts.append(text)
        self._position += utf16_length(text)

    def handle_data(self, data: str) -> None:
        if "<" in data:
            raise self._unsupported("")
        self._append(data)

    def handle_entityref(self, name: str) -> None:
        self._append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self._append(html.unescape(f"&#{name};"))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise self._unsupported(tag)

    def handle_comment(self, data: str) -> None:
        raise self._unsupported("!--")

    def handle_decl(self, decl: str) -> None:
        raise self._unsupported("!")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        entity: JSON | None
        if tag in _SIMPLE_TAGS:
            entity = {"type": _SIMPLE_TAGS[tag]}
            if tag == "blockquote" and "expandable" in attributes:
                entity = {"type": "expandable_blockquote"}
            language = attributes.get("class", "")
            if tag == "code" and self._stack and self._stack[-1][0] == "pre":
                # <pre><code class="language-x"> is one pre entity with a language.
                pre = self._stack[-1][1]
                if pre is not None and language.startswith("language-"):
                    pre["language"] = language.removeprefix("language-")
                    entity = None
        elif tag == "span" and attributes.get("class") == "tg-spoiler":
            entity = {"type": "spoiler"}
        elif tag == "a":
            href = attributes.get("href")
            entity = {"type": "text_link", "url": href} if href else None
        elif tag == "tg-emoji":
            entity = {"type": "custom_emoji", "custom_emoji_id": attributes.get("emoji-id", "")}
        else:
            raise self._unsupported(tag)
        if entity is not None:
            entity["offset"] = self._position
        self._stack.append((tag, entity))

    def handle_endtag(self, tag: str) -> None:
        if not self._stack:
            raise _HtmlError(f"Unexpected end tag at byte offset {self._byte_offset()}")
        open_tag, entity = self._stack.pop()
        if open_tag != tag:
            raise _HtmlError(
                f"Unmatched end tag at byte offset {self._byte_offset()}, "
                f'expected "</{open_tag}>", found "</{tag}>"'
            )
        if entity is not None:
            entity["length"] = self._position - entity["offset"]
            if entity["length"] > 0:
                self._entities.append(entity)

    def result(self) -> tuple[str, list[JSON]]:
        """The plain text and the sorted entities, once the whole source was fed."""
        self.close()
        if self._stack:
            tag = self._stack[-1][0]
            raise _HtmlError(f'Can\'t find end tag corresponding to start tag "{tag}"')
        ordered = sorted(self._entities, key=lambda e: (e["offset"], -e["length"]))
        # Telegram lists offset and length first; keep that order for readable diffs.
        entities = [
            {"offset": e["offset"], "length": e["length"]}
            | {k: v for k, v in e.items() if k not in ("offset", "length")}
            for e in ordered
        ]
        return "".join(self._parts), entities


def parse_html(source: str) -> tuple[str, list[JSON]]:
    """Parse Telegram HTML into (plain text, entities); raise ApiError 400 as Telegram would."""
    parser = _TelegramHtmlParser(source)
    try:
        parser.feed(source)
        return parser.result()
    except _HtmlError as exc:
        raise bad_request(f"can't parse entities: {exc}") from None


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, JPEG or GIF image, or None when ``data`` is none of those."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 9 <= len(data):
        if data[index] != 0xFF:
            index += 1
            continue
        marker = data[index + 1]
        if marker == 0xFF:  # fill byte
            index += 1
            continue
        # Start-of-frame markers carry the size; C4, C8 and CC are other segments.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return int(width), int(height)
        (segment_length,) = struct.unpack(">H", data[index + 2 : index + 4])
        index += 2 + int(segment_length)
    return None
