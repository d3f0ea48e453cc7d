"""The dialogs the bot offers, in one place."""

from __future__ import annotations

from bot.dialogs.engine import Dialog


def all_dialogs() -> list[Dialog]:
    """Every dialog besides the built-in ones (language)."""
    from bot.dialogs.extend import ExtendDialog
    from bot.dialogs.finding import FindingDialog
    from bot.dialogs.invite import InviteDialog
    from bot.dialogs.myscore import MyScoreDialog
    from bot.dialogs.rectify import RectifyDialog
    from bot.dialogs.report import ReportDialog
    from bot.dialogs.review import ReviewDialog
    from bot.dialogs.tasks_view import TasksDialog

    return [
        TasksDialog(),
        ReportDialog(),
        RectifyDialog(),
        ExtendDialog(),
        MyScoreDialog(),
        FindingDialog(),
        ReviewDialog(),
        InviteDialog(),
    ]
