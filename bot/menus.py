"""Command menus per role, set through Telegram's scoped bot commands."""

from __future__ import annotations

import logging

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    MenuButtonWebApp,
    WebAppInfo,
)
from telegram.error import TelegramError

from bot.context import KaoheContext
from services.access import Role
from templates import render

log = logging.getLogger(__name__)

# The commands each role sees in its menu, in menu order.
_COORDINATOR = (
    "finding", "review", "matrix", "grade", "bonus", "templates", "standings", "unit",
    "export", "result", "publish", "supervision_report", "supervision_plan", "broadcast",
    "invite", "peer", "dashboard", "help", "language", "cancel",
)  # fmt: skip
COMMANDS: dict[Role, tuple[str, ...]] = {
    Role.LIAISON: (
        "tasks",
        "report",
        "rectify",
        "extend",
        "myscore",
        "peer",
        "dashboard",
        "language",
        "help",
        "cancel",
    ),
    Role.COORDINATOR: _COORDINATOR,
    Role.ADMIN: _COORDINATOR,
    Role.RATER: ("grade", "help", "language", "cancel"),
    Role.VIEWER: (
        "standings",
        "unit",
        "export",
        "approve",
        "supervision_report",
        "dashboard",
        "help",
        "language",
    ),
}
PUBLIC_COMMANDS: tuple[str, ...] = ("start", "help")
_MENU_KEY = "menu_set_for"


def commands_for(role: Role, language: str) -> list[BotCommand]:
    """The menu of a role in a language."""
    return [BotCommand(name, render(f"menu.{name}", language)) for name in COMMANDS[role]]


async def set_public_menu(bot: Bot, language: str) -> None:
    """The menu strangers see (only /start and /help)."""
    await bot.set_my_commands(
        [BotCommand(name, render(f"menu.{name}", language)) for name in PUBLIC_COMMANDS],
        scope=BotCommandScopeDefault(),
    )


async def ensure_menu(context: KaoheContext, role: Role, chat_id: int) -> None:
    """Give a person the menu of their role, once per role and language in this process."""
    who = context.who
    language = who.language if who is not None else context.deps.settings.language
    done = context.bot_data.setdefault(_MENU_KEY, {})
    if done.get(chat_id) == (role, language):
        return
    await context.bot.set_my_commands(
        commands_for(role, language), scope=BotCommandScopeChat(chat_id)
    )
    await _set_web_app_button(context, chat_id, language)
    done[chat_id] = (role, language)


async def _set_web_app_button(context: KaoheContext, chat_id: int, language: str) -> None:
    """The dashboard as the chat's menu button (a Mini App), when it has a public https
    address; Telegram refuses others, and the menu of commands stays as it is then."""
    base = (context.deps.settings.web_url or "").rstrip("/")
    if not base.startswith("https://"):
        return
    try:
        await context.bot.set_chat_menu_button(
            chat_id,
            MenuButtonWebApp(render("menu.dashboard_button", language), WebAppInfo(base + "/")),
        )
    except TelegramError as exc:  # only a convenience: /dashboard still works
        log.warning("the dashboard's menu button was refused: %s", exc)


def forget_menu(context: KaoheContext, chat_id: int) -> None:
    """Make the next update of this chat set its menu again (after a role or language change);
    not this one, whose person was read before the change."""
    context.bot_data.setdefault(_MENU_KEY, {}).pop(chat_id, None)
    context.menu_forgotten = True
