"""The one rule for free text that comes in from outside (Telegram, workbooks, the command line).

Every free-text field and name passes through `clean_text` at the edge where it enters kaohe:
control characters go (a NUL cannot be stored in PostgreSQL, and NUL, ESC or BEL come back out
of a workbook export as `_x0000_`), and so do the invisible marks that reorder text (U+202E and
friends), which would flip a unit's name or a note in a coordinator's list. Newlines and tabs
stay; every line break becomes a newline. A lone surrogate, which no database can store, becomes
U+FFFD. Everything else, including the joiners inside emoji and Indic words, is kept as typed.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL and the C1 controls; the bidi marks, embeddings,
# overrides and isolates (U+061C, U+200E/F, U+202A-202E, U+2066-2069); the deprecated format
# characters U+206A-206F; the byte-order mark; the interlinear annotation marks; noncharacters
# U+FFFE/U+FFFF.
_DROPPED = (
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u206f"
    "\ufeff\ufff9-\ufffb\ufffe\uffff"
)
_UNWANTED = re.compile(f"(\r\n?|[\u2028\u2029\x85])|([\ud800-\udfff])|[{_DROPPED}]")


def _replacement(match: re.Match[str]) -> str:
    if match.group(1) is not None:
        return "\n"
    if match.group(2) is not None:
        return "\ufffd"
    return ""


def clean_text(text: str) -> str:
    """`text` as kaohe keeps it: without control characters (but newline and tab) and bidi
    controls, line breaks as newlines, lone surrogates as U+FFFD; nothing else changes."""
    if _UNWANTED.search(text) is None:
        return text
    return _UNWANTED.sub(_replacement, text)
