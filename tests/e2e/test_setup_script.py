"""`./run.sh` and scripts/setup.sh: a line per phase while setting up, nothing when all is set.

The scripts run in a copy of the project with a stand-in Python (KAOHE_PYTHON) whose `venv` and
`pip install` only leave their traces, so the phases are checked without a network or minutes
of installing.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The stand-in interpreter: it passes the version check, makes a .venv whose python records
# each pip install and says "no token", and whose kaohe prints its arguments.
FAKE_PYTHON = """#!/usr/bin/env bash
set -e
if [ "$1" = "-m" ] && [ "$2" = venv ]; then
  mkdir -p "$3/bin"
  cp "$0" "$3/bin/python"
  printf '#!/usr/bin/env bash\\necho "kaohe $*"\\n' > "$3/bin/kaohe"
  chmod +x "$3/bin/kaohe"
  exit 0
fi
if [ "$1" = "-m" ] && [ "$2" = pip ]; then
  echo install >> "$(dirname "$0")/../pip.log"
  exit 0
fi
case "$2" in *version_info*) exit 0 ;; esac  # the version check passes
exit 1  # the token check: no token
"""


def _executable(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the scripts and pyproject.toml, with the stand-in Python next to it."""
    folder = tmp_path / "kaohe"
    (folder / "scripts").mkdir(parents=True)
    for name in ("run.sh", "scripts/setup.sh", "pyproject.toml"):
        shutil.copy2(ROOT / name, folder / name)
    _executable(tmp_path / "python-stand-in", FAKE_PYTHON)
    return folder


def _run(project: Path, *args: str, language: str = "en") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAOHE_")}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    env.update(KAOHE_PYTHON=str(project.parent / "python-stand-in"), KAOHE_LANGUAGE=language)
    return subprocess.run(
        ["bash", *args], cwd=project, env=env, capture_output=True, text=True, timeout=60,
        check=True,
    )  # fmt: skip


def test_the_first_run_says_each_phase_and_how_long_it_takes(project: Path) -> None:
    first = _run(project, "run.sh", "--reset")
    lines = first.stderr.splitlines()
    assert [line.split(" ")[1] for line in lines] == ["creating", "installing", "installed", "no"]
    assert "1-2 minutes" in lines[1]
    assert "starting the local console" in lines[3]
    assert first.stdout.strip() == "kaohe console --reset"

    again = _run(project, "run.sh")
    assert again.stderr.splitlines() == [lines[3]]  # set up already: straight to the console
    assert (project / ".venv" / "pip.log").read_text().split() == ["install"]


def test_changed_dependencies_are_announced_as_an_update(project: Path) -> None:
    _run(project, "scripts/setup.sh")
    with (project / "pyproject.toml").open("a", encoding="utf-8") as pyproject:
        pyproject.write("\n# changed\n")
    update = _run(project, "scripts/setup.sh")
    assert "updating the packages" in update.stderr
    assert "creating" not in update.stderr
    assert _run(project, "scripts/setup.sh").stderr == ""


def test_the_lines_follow_kaohe_language_from_the_environment_or_env_file(project: Path) -> None:
    chinese = _run(project, "scripts/setup.sh", language="")
    assert "首次运行约需 1–2 分钟" in chinese.stderr
    shutil.rmtree(project / ".venv")
    (project / ".env").write_text("KAOHE_LANGUAGE=en\n", encoding="utf-8")
    english = _run(project, "scripts/setup.sh", language="")
    assert "the first run takes about 1-2 minutes" in english.stderr
