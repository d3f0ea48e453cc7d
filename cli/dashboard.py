"""The dashboard beside the bot: `kaohe run` and `kaohe console` serve web/ on the bot's loop.

The bot and the dashboard know nothing of each other; here the dashboard gets the bot's
database, clock and settings, the token to check Mini App sign-ins with, and a way to fetch
evidence through the bot (getFile), so that the token never reaches a browser.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from cli.common import t
from services.dashboard import issue_dashboard_link, login_url, user_by_telegram_id
from web.app import WebDeps, create_app
from web.server import DashboardServer

if TYPE_CHECKING:
    from bot.app import KaoheApplication

log = logging.getLogger("kaohe.run")


class DashboardCompanion:
    """Starts the dashboard when the bot starts and stops it when the bot stops."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.server = DashboardServer(host, port)
        self.token = token
        self.running = False

    async def start(self, application: KaoheApplication) -> None:
        """Serve the dashboard on the bot's loop; a port already taken leaves the bot running
        without it (logged), rather than no bot at all."""
        from bot.context import BotDeps

        deps: BotDeps = application.bot_data["deps"]
        try:
            self.server.bind()
        except OSError as exc:
            log.error(
                "the dashboard cannot listen on %s:%s (%s); the bot runs without it",
                self.server.host,
                self.server.port,
                exc,
            )
            return

        async def fetch(file_id: str) -> bytes:
            file = await application.bot.get_file(file_id)
            return bytes(await file.download_as_bytearray())

        web = WebDeps(
            settings=deps.settings,
            uow=deps.uow,
            read_uow=deps.read_uow,
            clock=deps.clock,
            bot_token=self.token,
            fetch_file=fetch,
        )
        await self.server.start(create_app(web))
        self.running = True
        log.info("dashboard: %s (public: %s)", self.server.url, deps.settings.web_url or "-")

    async def stop(self) -> None:
        """Stop serving."""
        await self.server.stop()
        self.running = False

    def login_link(self, application: KaoheApplication, telegram_user_id: int) -> str | None:
        """A one-time local sign-in link for the person of a Telegram account (the console's
        coordinator), or None if they are not registered or the dashboard is not running."""
        from bot.context import BotDeps

        if not self.running:
            return None
        deps: BotDeps = application.bot_data["deps"]
        user = user_by_telegram_id(deps.read_uow(), telegram_user_id)
        if user is None:
            return None
        link = issue_dashboard_link(deps.uow(), user.actor)
        return login_url(self.server.url, link.token)

    async def note(
        self, application: KaoheApplication, telegram_user_id: int, name: str
    ) -> str | None:
        """The console's line: a local sign-in link as the sample coordinator."""
        if not self.running:
            return t("web.console_no_link")
        url = await asyncio.to_thread(self.login_link, application, telegram_user_id)
        return t("web.console_link", url=url, name=name) if url else None
