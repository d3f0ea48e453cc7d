"""What people send, as kaohe reads it: every free-text field through the one rule of
services.free_text, here at the edge, before any dialog or service sees it."""

from __future__ import annotations

from telegram import Message, User

from bot.context import KaoheContext
from services.free_text import clean_text

# Longer file names are cut (keeping the extension): the archive keeps at most 300 characters.
MAX_FILE_NAME = 200


def typed_text(message: Message) -> str:
    """The text of a message, cleaned and stripped ('' for none)."""
    return clean_text(message.text or "").strip()


def command_args(context: KaoheContext) -> list[str]:
    """The words after a command, cleaned (words that were nothing but control marks go)."""
    return [word for word in (clean_text(a).strip() for a in context.args or []) if word]


def display_name(user: User) -> str:
    """A Telegram account's name as shown to others: cleaned, else its id."""
    return " ".join(clean_text(user.full_name or "").split()) or str(user.id)


def file_name(name: str | None) -> str | None:
    """A file's name as the sender gave it, cleaned (None when there is none)."""
    if name is None:
        return None
    cleaned = " ".join(clean_text(name).split())
    if len(cleaned) > MAX_FILE_NAME:
        stem, dot, extension = cleaned.rpartition(".")
        keep = MAX_FILE_NAME - len(extension) - 1
        cleaned = f"{stem[:keep]}.{extension}" if dot and keep > 0 else cleaned[:MAX_FILE_NAME]
    return cleaned or None
