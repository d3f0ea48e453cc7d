"""Who is asking: Telegram Mini App init data, and the desk session cookie.

Init data is checked as Telegram documents it (core.telegram.org/bots/webapps, "Validating
data received via the Mini App"): the fields but `hash`, sorted, as `key=value` lines, signed
with HMAC-SHA256 under the key HMAC-SHA256("WebAppData", bot token); `auth_date` must be recent.
The session cookie is `person_id.expires.signature`, signed with a key derived from the same
secret; the person is looked up again on every request, so a deactivated account is out at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

# How old init data may be: Telegram signs it when the Mini App opens, and the page keeps
# using it while it is open; a working day's session, like the desk cookie.
INIT_DATA_MAX_AGE = timedelta(hours=12)
# Clocks differ a little; init data from further in the future than this is refused.
CLOCK_SKEW = timedelta(minutes=5)


class Unauthorized(Exception):
    """The request carries no valid credentials (401)."""


@dataclass(frozen=True)
class TelegramUser:
    """The Telegram user that signed init data: their id and the language of their app."""

    id: int
    language_code: str | None


def init_data_secret(bot_token: str) -> bytes:
    """The key init data is signed with: HMAC-SHA256 of the bot token under "WebAppData"."""
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def sign_init_data(fields: dict[str, str], bot_token: str) -> str:
    """Init data as Telegram would send it (the console and the tests make their own)."""
    from urllib.parse import urlencode

    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    digest = hmac.new(init_data_secret(bot_token), check.encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest})


def validate_init_data(init_data: str, bot_token: str, now: datetime) -> TelegramUser:
    """The user of valid, fresh init data; Unauthorized for anything else."""
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError as exc:
        raise Unauthorized("init data unreadable") from exc
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise Unauthorized("a field given twice")
    received = fields.pop("hash", "")
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    expected = hmac.new(init_data_secret(bot_token), check.encode(), hashlib.sha256).hexdigest()
    if not received or not hmac.compare_digest(expected, received.lower()):
        raise Unauthorized("bad signature")
    try:
        signed_at = int(fields["auth_date"])
    except (KeyError, ValueError) as exc:
        raise Unauthorized("no auth_date") from exc
    age = now.timestamp() - signed_at
    if age > INIT_DATA_MAX_AGE.total_seconds() or age < -CLOCK_SKEW.total_seconds():
        raise Unauthorized("stale auth_date")
    try:
        user = json.loads(fields["user"])
        user_id = int(user["id"])
    except (KeyError, ValueError, TypeError) as exc:
        raise Unauthorized("no user") from exc
    language = user.get("language_code")
    return TelegramUser(user_id, language if isinstance(language, str) else None)


def session_key(secret: str) -> bytes:
    """The key session cookies are signed with, derived from the server's secret."""
    return hashlib.sha256(f"kaohe-dashboard-session:{secret}".encode()).digest()


def session_cookie(person_id: int, expires: datetime, key: bytes) -> str:
    """A signed cookie value naming a person until `expires`."""
    body = f"{person_id}.{int(expires.timestamp())}"
    signature = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{signature}"


def session_person(cookie: str, key: bytes, now: datetime) -> int:
    """The person id of a valid, unexpired session cookie; Unauthorized otherwise."""
    parts = cookie.split(".")
    if len(parts) != 3:
        raise Unauthorized("bad session")
    body = f"{parts[0]}.{parts[1]}"
    expected = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, parts[2]):
        raise Unauthorized("bad session")
    try:
        person_id, expires = int(parts[0]), int(parts[1])
    except ValueError as exc:
        raise Unauthorized("bad session") from exc
    if expires <= now.timestamp():
        raise Unauthorized("session expired")
    return person_id
