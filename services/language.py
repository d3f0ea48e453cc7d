"""The configured language (KAOHE_LANGUAGE) read without loading pydantic.

`services.settings.Settings` reads every setting through pydantic-settings, which takes longer
to import than the whole `kaohe --help`. The command line needs the language before anything
else (every help text is a catalog message), so it reads that one setting here, the way
pydantic-settings reads it: the environment first (names in any case), then the `.env` file of
the working folder, else the default. tests/services/test_language.py holds the two together.
"""

from __future__ import annotations

import os
from pathlib import Path

_NAME = "kaohe_language"
_DEFAULT = "zh"


def configured_language() -> str:
    """KAOHE_LANGUAGE as `get_settings().language` gives it."""
    for name, value in os.environ.items():
        if name.lower() == _NAME:
            return value
    env_file = Path(".env")
    if env_file.is_file():
        from dotenv import dotenv_values  # only when there is a file to read

        for name, file_value in dotenv_values(env_file, encoding="utf-8").items():
            if name.lower() == _NAME and file_value is not None:
                return file_value
    return _DEFAULT
