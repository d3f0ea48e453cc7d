"""The catalog's words as tests expect them: a test names the message it expects, not its wording.

A wording change in `templates/messages` then changes the expectation with it, and a test still
fails when the bot says something else (another message, other values, or nothing).

- `said(key, **params)`: the text a Telegram user reads. The bot renders with `html=True` and
  Telegram turns the HTML into plain text (tags gone, entities unescaped); the fake Bot API's
  `message.text` is that plain text, and so is this.
- `said_html(key, **params)`: the HTML source exactly as the bot sends it (`message.source_text`).
- `text_of(key, **params)`: the plain rendering, as the command line, workbooks and button labels
  show it.
"""

from __future__ import annotations

from typing import Any

from bot.fake_bot_api.formatting import parse_html
from templates import render


def text_of(key: str, language: str = "zh", **params: Any) -> str:
    """Catalog entry `key` rendered as plain text (the command line, workbooks, button labels)."""
    return render(key, language, **params)


def said_html(key: str, language: str = "zh", **params: Any) -> str:
    """Catalog entry `key` as the bot sends it to Telegram: HTML, every value escaped."""
    return render(key, language, html=True, **params)


def said(key: str, language: str = "zh", **params: Any) -> str:
    """Catalog entry `key` as a Telegram user reads it: the bot's HTML parsed into plain text."""
    text, _ = parse_html(said_html(key, language, **params))
    return text
