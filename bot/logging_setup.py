"""Logging that never shows the bot token, nor people's text from a failed database statement."""

from __future__ import annotations

import logging
import re


class RedactSecrets(logging.Filter):
    """Replace every occurrence of the secrets in a log record's message with ***."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place; never drops it."""
        if not self.secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self.secrets:
            redacted = redacted.replace(secret, "***")
        if redacted != message or record.exc_info:
            record.msg = redacted
            record.args = None
            if record.exc_info and record.exc_info[1] is not None:
                text = record.exc_text or logging.Formatter().formatException(record.exc_info)
                for secret in self.secrets:
                    text = text.replace(secret, "***")
                record.exc_text = text
        return True


# PostgreSQL's DETAIL line repeats values of the failing row ("Key (name)=(…) already exists",
# "Failing row contains (…)"); statement parameters are hidden by the engine (storage.database).
_DETAIL = re.compile(r"^DETAIL:.*(?:\n|$)", re.MULTILINE)


class HideDatabaseDetails(logging.Filter):
    """Drop the DETAIL lines of database errors from a record's traceback; never drops it."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Format the record's exception without DETAIL lines (kept in `exc_text`)."""
        if record.exc_info and record.exc_info[1] is not None:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            if _DETAIL.search(text):
                record.exc_text = _DETAIL.sub("", text)
        return True


def configure_logging(token: str | None, level: int = logging.INFO) -> None:
    """Log to stderr with the token redacted from every line, including tracebacks."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(HideDatabaseDetails())
    handler.addFilter(RedactSecrets([token or ""]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    quiet_scheduler()


# APScheduler (under python-telegram-bot's JobQueue) logs "Running job …" and "… executed
# successfully" at INFO for every run: two lines a second, ~170,000 a day, with the bot's jobs.
SCHEDULER_LOGGERS = ("apscheduler", "apscheduler.scheduler", "apscheduler.executors.default")


def quiet_scheduler() -> None:
    """Log only the scheduler's warnings and errors (a job that raised, a missed run)."""
    for name in SCHEDULER_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
