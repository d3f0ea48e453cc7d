"""Text for Telegram's message limit: lengths as Telegram counts them, and long text split
into messages that fit (used by the dialog engine and every dialog that sends long answers)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

# Telegram's limit on a message's text, in UTF-16 code units.
MESSAGE_LIMIT = 4096


def utf16_length(text: str) -> int:
    """The length Telegram counts: UTF-16 code units (an emoji counts as two)."""
    return len(text.encode("utf-16-le")) // 2


def split_messages(blocks: Iterable[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join blocks (each complete HTML) with newlines into as few messages as fit under
    `limit`; a block is cut only if it cannot fit on its own (at its line ends, or, for a
    single line that long, hard)."""
    messages: list[str] = []
    current = ""
    for block in _fitting(blocks, limit):
        if not current and not block:
            continue  # no message starts with a blank line
        candidate = f"{current}\n{block}" if current else block
        if current and utf16_length(candidate) > limit:
            messages.append(current)
            current = block
        else:
            current = candidate
    if current:
        messages.append(current)
    return messages


def _fitting(blocks: Iterable[str], limit: int) -> Iterator[str]:
    """The blocks, each too long one in pieces that fit (its lines, or cuts of a line)."""
    for block in blocks:
        if utf16_length(block) <= limit:
            yield block
            continue
        for line in block.split("\n"):
            while utf16_length(line) > limit:
                # Cut by characters at a safe length (a character is at most two units).
                yield line[: limit // 2]
                line = line[limit // 2 :]
            yield line
