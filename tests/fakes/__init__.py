"""Fakes of the outside world (the Telegram Bot API) for tests."""
