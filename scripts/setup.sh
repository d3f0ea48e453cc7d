#!/usr/bin/env bash
# Create .venv and install kaohe with its development tools; quick when nothing changed.
# Sourced by run.sh and test.sh. Each slow phase announces itself on stderr (in KAOHE_LANGUAGE,
# from the environment or .env: the catalogs in templates/ are not installed yet at this point).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

kaohe_language() {
  local language="${KAOHE_LANGUAGE:-}"
  if [ -z "$language" ] && [ -f .env ]; then
    language=$(sed -n 's/^[[:space:]]*KAOHE_LANGUAGE[[:space:]]*=[[:space:]]*["'\'']\{0,1\}\([A-Za-z_-]*\).*/\1/p' .env | tail -n 1)
  fi
  case "$language" in
    en*|EN*) echo en ;;
    *) echo zh ;;
  esac
}

# say ZH EN: one line about what setup is doing, in the reader's language.
say() {
  if [ "$(kaohe_language)" = en ]; then echo "kaohe: $2" >&2; else echo "kaohe：$1" >&2; fi
}

pick_python() {
  for candidate in "${KAOHE_PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  say "需要 Python 3.11 或更新版本；请用 KAOHE_PYTHON 指定一个。" \
    "kaohe needs Python 3.11 or newer; set KAOHE_PYTHON to one."
  return 1
}

if [ ! -x .venv/bin/python ]; then
  python=$(pick_python)
  say "正在创建虚拟环境 .venv（$python）……" "creating the virtual environment .venv ($python)..."
  "$python" -m venv .venv
fi
stamp=.venv/.kaohe-installed
wanted=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  if [ -f "$stamp" ]; then
    say "依赖有变化，正在更新 .venv 中的软件包（通常不到 1 分钟）……" \
      "the dependencies changed; updating the packages in .venv (usually under a minute)..."
  else
    say "正在安装 kaohe 及其依赖（首次运行约需 1–2 分钟，以后几乎立即启动）……" \
      "installing kaohe and its dependencies (the first run takes about 1-2 minutes, later runs start at once)..."
  fi
  started=$SECONDS
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
  echo "$wanted" > "$stamp"
  say "安装完成（用时 $((SECONDS - started)) 秒）。" "installed (in $((SECONDS - started)) s)."
fi
