"""The composition root of the Telegram bot: one Application, its handlers, its lifecycle."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Sequence
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.bot_api_request import BotApiRequest
from bot.buttons import ButtonSigner
from bot.context import BotDeps, KaoheContext
from bot.delivery import ack_handler, register_broadcast_jobs
from bot.dialogs.engine import Dialog
from bot.digest import details_handler
from bot.handlers import common
from bot.handlers.gate import gate, set_menu
from bot.handlers.router import DialogRouter
from bot.jobs import register_jobs
from bot.menus import set_public_menu
from bot.update_processor import PerChatUpdateProcessor
from services.files.isolation import start_readers
from services.settings import Settings
from storage.archive import EvidenceArchive
from storage.clock import Clock, SystemClock
from storage.database import Database

# Opt in to python-telegram-bot's timedelta durations (its deprecation path) before any use.
os.environ.setdefault("PTB_TIMEDELTA", "1")

KaoheApplication = Application[Any, KaoheContext, Any, Any, Any, Any]


class Companion(Protocol):
    """Something that runs beside the bot on its event loop (the dashboard): started once the
    bot is initialised, stopped when it stops."""

    async def start(self, application: KaoheApplication) -> None:
        """Start on the bot's loop."""

    async def stop(self) -> None:
        """Stop."""


def make_deps(settings: Settings, database: Database, clock: Clock | None = None) -> BotDeps:
    """The bot's dependencies from the settings."""
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    secret = settings.button_secret.get_secret_value() if settings.button_secret else token
    return BotDeps(
        settings=settings,
        database=database,
        clock=clock or SystemClock(),
        archive=EvidenceArchive(settings.resolved_archive_dir),
        # Button signatures need a stable secret: the configured one, else one derived from
        # the token, so buttons sent before a restart still verify after it.
        signer=ButtonSigner(hashlib.sha256(f"kaohe-buttons:{secret}".encode()).digest()),
        admin_ids=frozenset(settings.admin_ids),
    )


def dialogs() -> list[Dialog]:
    """Every dialog of the bot."""
    from bot.dialogs.registry import all_dialogs

    return [common.LanguageDialog(), *all_dialogs()]


def build_application(
    deps: BotDeps,
    token: str,
    *,
    base_url: str | None = None,
    base_file_url: str | None = None,
    request: BaseRequest | None = None,
    updater: bool = True,
    extra_dialogs: Sequence[Dialog] = (),
    jobs: bool = True,
    companions: Sequence[Companion] = (),
) -> KaoheApplication:
    """The bot's Application with every handler registered, ready to initialize and start.

    With `jobs`, the reminder and broadcast-delivery jobs run on its JobQueue once started
    (tests that drive jobs themselves turn them off). `companions` start after the bot is
    initialised (post_init) and stop after it stops (post_stop), when the bot is run with
    run_polling or run_webhook.
    """
    settings = deps.settings
    _favour_the_event_loop()
    builder = (
        ApplicationBuilder()
        .token(token)
        .context_types(ContextTypes(context=KaoheContext))
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=ZoneInfo(settings.timezone)))
        .base_url(base_url or settings.bot_api_url)
        .base_file_url(base_file_url or settings.bot_file_url)
        .post_init(_post_init)
        .post_stop(_post_stop)
        .concurrent_updates(PerChatUpdateProcessor())
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:
        # Long polling holds one connection of its own, as python-telegram-bot's default does.
        builder = builder.request(BotApiRequest()).get_updates_request(BotApiRequest(1))
    if not updater:
        builder = builder.updater(None)
    application: KaoheApplication = builder.build()
    application.bot_data["deps"] = deps
    application.bot_data["companions"] = list(companions)
    register_handlers(application, [*dialogs(), *extra_dialogs])
    if jobs:
        register_jobs(application)
        register_broadcast_jobs(application)
    return application


# Seconds a busy thread keeps the interpreter while another waits for it (Python's default is
# 0.005).
SWITCH_INTERVAL = 0.001


def _favour_the_event_loop() -> None:
    """Let the event loop have the interpreter back sooner from a service thread busy in Python.

    A large import spends seconds building rows in a thread. Each time the event loop comes
    back from the database or the network it waits for the interpreter until that thread is
    made to give it up, up to the switch interval; an answer comes back hundreds of times."""
    if sys.getswitchinterval() > SWITCH_INTERVAL:
        sys.setswitchinterval(SWITCH_INTERVAL)


def register_handlers(application: KaoheApplication, all_dialogs: Sequence[Dialog]) -> None:
    """The gate first, then commands, dialogs and the catch-alls; the error handler last."""
    router = DialogRouter({d.kind: d for d in all_dialogs})
    application.add_handler(TypeHandler(object, gate), group=-1)
    # The 已知悉 button of a broadcast belongs to no dialog: it goes before the router's.
    application.add_handler(ack_handler())
    application.add_handler(details_handler())
    application.add_handler(CommandHandler("start", common.start))
    application.add_handler(CommandHandler("help", common.help_command))
    application.add_handler(CommandHandler("cancel", common.cancel))
    for dialog in all_dialogs:
        application.add_handler(CommandHandler(dialog.command, router.command))
    application.add_handler(CallbackQueryHandler(router.button))
    application.add_handler(MessageHandler(filters.UpdateType.EDITED, router.edited))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, router.text))
    application.add_handler(MessageHandler(filters.PHOTO | filters.Document.ALL, router.file))
    application.add_handler(MessageHandler(filters.COMMAND, common.unknown_command))
    application.add_handler(MessageHandler(filters.ALL, router.unusable))
    # After the update's handler, in a group of its own: the menu never delays an answer.
    application.add_handler(TypeHandler(object, set_menu), group=1)
    application.add_error_handler(common.on_error)


async def _post_init(application: KaoheApplication) -> None:
    deps: BotDeps = application.bot_data["deps"]
    # Workbooks are parsed in child processes forked from a zygote: start it while we start.
    start_readers()
    await set_public_menu(application.bot, deps.settings.language)
    for companion in application.bot_data.get("companions", []):
        await companion.start(application)


async def _post_stop(application: KaoheApplication) -> None:
    for companion in reversed(application.bot_data.get("companions", [])):
        await companion.stop()
