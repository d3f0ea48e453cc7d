#!/usr/bin/env bash
# Set everything up and run kaohe's main job. With a bot token (TELEGRAM_BOT_TOKEN in the
# environment or in .env) that is the Telegram bot (`kaohe run`); without one it is
# `kaohe console`: the real bot on a local fake Telegram with the bundled sample district, to
# try it without a Telegram account. Extra arguments go to the command (e.g. --reset).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup.sh
# Ask kaohe's own settings, so that .env is read exactly as `kaohe run` reads it.
if .venv/bin/python -c 'import sys
from services.settings import get_settings
token = get_settings().telegram_bot_token
sys.exit(0 if token and token.get_secret_value().strip() else 1)'; then
  say "正在启动机器人（kaohe run，连接 Telegram；Ctrl-C 停止）……" \
    "starting the bot (kaohe run, talking to Telegram; Ctrl-C stops it)..."
  exec .venv/bin/kaohe run "$@"
fi
say "没有机器人令牌：正在启动本地控制台（kaohe console：模拟的 Telegram 和示例区县）……" \
  "no bot token: starting the local console (kaohe console: a fake Telegram and the sample district)..."
exec .venv/bin/kaohe console "$@"
