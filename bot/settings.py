"""Settings of kaohe, read once from the environment (and an optional `.env` file)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything kaohe reads from its environment; nothing else touches `os.environ`."""

    model_config = SettingsConfigDict(
        env_prefix="KAOHE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    language: str = "zh"
    timezone: str = "Asia/Shanghai"
    data_dir: Path = Path("data")
    database_url: str | None = None
    bot_username: str | None = None
    archive_dir: Path | None = None
    telegram_bot_token: SecretStr | None = Field(
        default=None, validation_alias="TELEGRAM_BOT_TOKEN"
    )

    @property
    def resolved_database_url(self) -> str:
        """KAOHE_DATABASE_URL, or an SQLite file in the data folder."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'kaohe.db').as_posix()}"

    @property
    def resolved_archive_dir(self) -> Path:
        """Where evidence files are archived by their hash."""
        return self.archive_dir or self.data_dir / "archive"


@cache
def get_settings() -> Settings:
    """The settings of this process, read on first use."""
    return Settings()
