"""Settings of kaohe, read once from the environment (and an optional `.env` file)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Everything kaohe reads from its environment; nothing else touches `os.environ` (but
    services.language, which reads `language` the same way without pydantic, for a fast start)."""

    model_config = SettingsConfigDict(
        env_prefix="KAOHE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    language: str = "zh"
    timezone: str = "Asia/Shanghai"
    data_dir: Path = Path("data")
    database_url: str | None = None
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    bot_api_url: str = "https://api.telegram.org/bot"
    bot_file_url: str = "https://api.telegram.org/file/bot"
    button_secret: SecretStr | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_port: int = 8443
    bot_username: str | None = None
    # The dashboard (web/): where it listens, and its public https address behind the TLS
    # proxy (the Mini App's and the one-time links' address; without it, the local one).
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    web_url: str | None = None
    archive_dir: Path | None = None
    telegram_bot_token: SecretStr | None = Field(
        default=None, validation_alias="TELEGRAM_BOT_TOKEN"
    )

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        """KAOHE_ADMIN_IDS is a comma- or space-separated list of Telegram user ids."""
        if isinstance(value, str):
            return [int(part) for part in value.replace(",", " ").split()]
        return value

    @property
    def resolved_database_url(self) -> str:
        """KAOHE_DATABASE_URL, or an SQLite file in the data folder."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'kaohe.db').as_posix()}"

    @property
    def resolved_web_url(self) -> str:
        """KAOHE_WEB_URL without a trailing slash, or the local address of the dashboard."""
        return (self.web_url or f"http://{self.web_host}:{self.web_port}").rstrip("/")

    @property
    def resolved_archive_dir(self) -> Path:
        """Where evidence files are archived by their hash."""
        return self.archive_dir or self.data_dir / "archive"


@cache
def get_settings() -> Settings:
    """The settings of this process, read on first use."""
    return Settings()
