"""Command menus per role, set through Telegram's scoped bot commands."""

from __future__ import annotations

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault

from bot.context import KaoheContext
from services.access import Role
from templates import render

# The commands each role sees in its menu, in menu order.
_COORDINATOR = (
    "finding", "review", "matrix", "grade", "bonus", "templates", "standings", "unit",
    "export", "result", "publish", "supervision_report", "supervision_plan", "broadcast",
    "invite", "peer", "help", "language", "cancel",
)  # fmt: skip
COMMANDS: dict[Role, tuple[str, ...]] = {
    Role.LIAISON: (
        "tasks",
        "report",
        "rectify",
        "extend",
        "myscore",
        "peer",
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
    done[chat_id] = (role, language)


def forget_menu(context: KaoheContext, chat_id: int) -> None:
    """Make the next update of this chat set its menu again (after a role or language change)."""
    context.bot_data.setdefault(_MENU_KEY, {}).pop(chat_id, None)
