"""Button payloads: short, signed, and tied to the dialog they belong to.

A payload is `<kind>|<version>|<action>|<arg>|<sig>`; the signature (HMAC-SHA256, truncated)
makes a forged or altered payload recognisable, and the version tells a button of the current
dialog from one of an older, finished or replaced dialog. Telegram limits payloads to 64 bytes.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

MAX_BYTES = 64
_SIG_CHARS = 10


class BadPayload(ValueError):
    """A payload that was not made by this bot, or was altered."""


@dataclass(frozen=True)
class Payload:
    """What a button says: which dialog (kind, version), what to do (action), and with what."""

    kind: str
    version: int
    action: str
    arg: str = ""


class ButtonSigner:
    """Signs and checks button payloads with a secret only the bot knows."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sig(self, body: str) -> str:
        digest = hmac.new(self._secret, body.encode("utf-8"), hashlib.sha256).hexdigest()
        return digest[:_SIG_CHARS]

    def dump(self, payload: Payload) -> str:
        """The signed text of a payload; `ValueError` if it would not fit Telegram's limit."""
        for part in (payload.kind, payload.action, payload.arg):
            if "|" in part:
                raise ValueError(f"'|' in payload part {part!r}")
        body = f"{payload.kind}|{payload.version}|{payload.action}|{payload.arg}"
        text = f"{body}|{self._sig(body)}"
        if len(text.encode("utf-8")) > MAX_BYTES:
            raise ValueError(f"payload {text!r} is over {MAX_BYTES} bytes")
        return text

    def load(self, text: str) -> Payload:
        """The payload of a signed text; `BadPayload` if it is malformed or forged."""
        parts = text.split("|")
        if len(parts) != 5:
            raise BadPayload(text)
        kind, version, action, arg, sig = parts
        if not hmac.compare_digest(sig, self._sig("|".join(parts[:4]))):
            raise BadPayload(text)
        try:
            number = int(version)
        except ValueError as exc:
            raise BadPayload(text) from exc
        return Payload(kind, number, action, arg)
