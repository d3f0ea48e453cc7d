"""The dialogs the bot offers, in one place."""

from __future__ import annotations

from bot.dialogs.engine import Dialog


def all_dialogs() -> list[Dialog]:
    """Every dialog besides the built-in ones (language)."""
    from bot.dialogs.bonus import BonusDialog
    from bot.dialogs.broadcast import BroadcastDialog
    from bot.dialogs.dashboard import DashboardDialog
    from bot.dialogs.export import ExportDialog
    from bot.dialogs.extend import ExtendDialog
    from bot.dialogs.finding import FindingDialog
    from bot.dialogs.grade import GradeDialog
    from bot.dialogs.invite import InviteDialog
    from bot.dialogs.matrix import MatrixDialog
    from bot.dialogs.myscore import MyScoreDialog
    from bot.dialogs.peer import PeerDialog
    from bot.dialogs.publish import PublishDialog
    from bot.dialogs.rectify import RectifyDialog
    from bot.dialogs.report import ReportDialog
    from bot.dialogs.result import ApproveDialog, ResultDialog
    from bot.dialogs.review import ReviewDialog
    from bot.dialogs.standings_view import StandingsDialog, UnitDialog
    from bot.dialogs.supervision import SupervisionDialog
    from bot.dialogs.tasks_view import TasksDialog
    from bot.dialogs.templates_dialog import TemplatesDialog
    from bot.dialogs.upload import UploadDialog

    return [
        TasksDialog(),
        StandingsDialog(),
        UnitDialog(),
        ExportDialog(),
        PublishDialog(),
        SupervisionDialog(),
        ReportDialog(),
        RectifyDialog(),
        ExtendDialog(),
        MyScoreDialog(),
        FindingDialog(),
        ReviewDialog(),
        InviteDialog(),
        GradeDialog(),
        BonusDialog(),
        UploadDialog(),
        TemplatesDialog(),
        MatrixDialog(),
        BroadcastDialog(),
        PeerDialog(),
        ResultDialog(),
        ApproveDialog(),
        DashboardDialog(),
    ]
