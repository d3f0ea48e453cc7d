"""The language read without pydantic is the one the settings read."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.language import configured_language
from services.settings import Settings


@pytest.fixture
def clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("KAOHE_LANGUAGE", "kaohe_language", "Kaohe_Language"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _both() -> tuple[str, str]:
    return configured_language(), Settings().language


def test_default(clean: Path) -> None:
    assert _both() == ("zh", "zh")


@pytest.mark.parametrize("name", ["KAOHE_LANGUAGE", "kaohe_language"])
def test_environment_in_any_case(clean: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "en")
    assert _both() == ("en", "en")


def test_env_file(clean: Path) -> None:
    (clean / ".env").write_text('OTHER=1\nKAOHE_LANGUAGE="en"  # English\n', encoding="utf-8")
    assert _both() == ("en", "en")


def test_environment_wins_over_env_file(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean / ".env").write_text("KAOHE_LANGUAGE=en\n", encoding="utf-8")
    monkeypatch.setenv("KAOHE_LANGUAGE", "zh")
    assert _both() == ("zh", "zh")
