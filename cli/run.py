"""`kaohe run` (the Telegram bot) and `kaohe console` (the bot on a local fake Telegram)."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import re
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer

from bot.logging_setup import configure_logging
from cli.common import BAD_INPUT, UNAVAILABLE, fail, handled, t
from services import wiring
from services.settings import Settings, get_settings
from storage import migrate

if TYPE_CHECKING:
    from bot.app import KaoheApplication

log = logging.getLogger("kaohe.run")

# Telegram accepts 1-256 of these characters as a webhook's secret token.
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
# Where the webhook listens; TLS is terminated by a reverse proxy in front of it, and the
# secret token (checked by python-telegram-bot) keeps out updates that did not come from it.
WEBHOOK_LISTEN = "0.0.0.0"


def register(app: typer.Typer) -> None:
    """Add `run` and `console` to the `kaohe` command."""
    app.command("run", help=t("console.run_help"))(run_command)
    app.command("console", help=t("console.console_help"))(console_command)


def run_command(
    verbose: Annotated[
        bool, typer.Option("--verbose", help=t("console.run_verbose_help"))
    ] = False,
) -> None:
    """Run the bot until SIGINT or SIGTERM: long polling, or a webhook when one is configured."""
    # Imported here so that the other commands do not pay for importing python-telegram-bot.
    from telegram import Update
    from telegram.error import InvalidToken, NetworkError

    settings = get_settings()
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    if not token.strip():
        fail([t("console.no_token")], BAD_INPUT)
    secret = webhook_secret(settings)
    configure_logging(token, logging.DEBUG if verbose else logging.INFO)
    application = _application(settings, token)
    try:
        if settings.webhook_url:
            log.info(
                "kaohe bot starting: webhook %s, listening on port %s",
                settings.webhook_url,
                settings.webhook_port,
            )
            application.run_webhook(
                listen=WEBHOOK_LISTEN,
                port=settings.webhook_port,
                url_path=urlsplit(settings.webhook_url).path.lstrip("/"),
                webhook_url=settings.webhook_url,
                secret_token=secret,
                allowed_updates=Update.ALL_TYPES,
                drop_pending_updates=False,
            )
        else:
            log.info("kaohe bot starting: long polling %s", settings.bot_api_url)
            application.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    except InvalidToken:
        fail([t("console.token_refused", url=settings.bot_api_url)], BAD_INPUT)
    except NetworkError as exc:
        detail = str(exc).replace(token, "***")
        fail([t("console.api_unreachable", url=settings.bot_api_url, detail=detail)], UNAVAILABLE)
    finally:
        wiring.database().dispose()
    log.info("kaohe bot stopped")


def webhook_secret(settings: Settings) -> str | None:
    """The webhook's secret token; refuses (exit 2) a webhook without a valid one."""
    if not settings.webhook_url:
        return None
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    if not secret:
        fail([t("console.webhook_without_secret")], BAD_INPUT)
    if not _WEBHOOK_SECRET.fullmatch(secret):
        fail([t("console.webhook_secret_invalid")], BAD_INPUT)
    if not webhooks_available():
        fail([t("console.webhook_unavailable")], BAD_INPUT)
    return secret


def webhooks_available() -> bool:
    """Whether python-telegram-bot's webhook server (its `webhooks` extra: tornado) is there."""
    return importlib.util.find_spec("tornado") is not None


def _application(settings: Settings, token: str) -> KaoheApplication:
    """The bot's Application on the upgraded database of the settings."""
    from bot.app import build_application, make_deps

    with handled():
        database = wiring.database()
        migrate.upgrade(database)
    log.info(
        "database %s at revision %s",
        database.safe_url,
        migrate.current_revision(database),
    )
    from cli.dashboard import DashboardCompanion

    dashboard = DashboardCompanion(settings.web_host, settings.web_port, token)
    return build_application(make_deps(settings, database), token, companions=[dashboard])


def console_command(
    reset: Annotated[bool, typer.Option("--reset", help=t("console.console_reset_help"))] = False,
) -> None:
    """Try the bot as a sample user on a local fake Telegram (no account, no network)."""
    from bot.console import CONSOLE_TOKEN, reset_console, run_console

    settings = get_settings()
    if reset:
        reset_console(settings)
    from cli.dashboard import DashboardCompanion

    # The dashboard on its configured port, or any free one when that is taken (a second
    # console, a bot running beside it).
    dashboard = DashboardCompanion(settings.web_host, settings.web_port, CONSOLE_TOKEN)
    try:
        dashboard.server.bind()
    except OSError:
        dashboard = DashboardCompanion(settings.web_host, 0, CONSOLE_TOKEN)
    if settings.web_url is None:
        with contextlib.suppress(OSError):
            settings = settings.model_copy(update={"web_url": dashboard.server.bind()})
    with handled():
        status = run_console(settings, [dashboard])
    raise typer.Exit(status)
