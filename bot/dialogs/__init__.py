"""Guided dialogs of the bot, one per module, run by the dialog engine."""
