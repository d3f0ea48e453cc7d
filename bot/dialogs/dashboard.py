"""/dashboard: a one-time link into the dashboard (web/) for a desk browser; and the Mini App's
buttons that /standings, /unit and /matrix add when the dashboard has a public address.

The link (services.dashboard.issue_dashboard_link) works once, within 10 minutes, and starts a
12-hour session; it is sent without a link preview, so that no preview fetches it (the page it
opens signs in only when its button is pressed, all the same). Inside Telegram the dashboard
opens as a Mini App (KAOHE_WEB_URL, https only, as Telegram requires), signed in by Telegram.

A view: it answers at once and keeps no state, so it declares no steps (`begin` only).
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions

from bot.dialogs.engine import Dialog, Turn
from bot.dialogs.helpers import local_time
from services.access import Role
from services.dashboard import IssuedLink, issue_dashboard_link, login_url


class DashboardDialog(Dialog):
    """/dashboard: the one-time sign-in link for a desk browser (no state kept)."""

    kind = "dashboard"
    command = "dashboard"
    # Raters see nothing there: their work is /grade.
    roles = frozenset({Role.COORDINATOR, Role.ADMIN, Role.VIEWER, Role.LIAISON})

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """Issue the link and send it, with no preview."""
        deps = turn.context.deps
        link: IssuedLink = await turn.call(issue_dashboard_link, deps.uow(), turn.who.actor)
        url = login_url(deps.settings.resolved_web_url, link.token)
        text = turn.t(
            "web.bot_link",
            url=url,
            expires=local_time(turn, link.expires_at),
        )
        buttons = None
        if url.startswith("https://"):  # Telegram takes URL buttons to public addresses only
            buttons = InlineKeyboardMarkup(
                [[InlineKeyboardButton(turn.plain("web.bot_open_button"), url=url)]]
            )
        await turn.context.bot.send_message(
            turn.who.chat_id,
            text,
            reply_markup=buttons,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
