#!/usr/bin/env bash
# Make sure the browser the dashboard's tests drive is here: Debian's chromium and the Noto CJK
# fonts (Playwright drives /usr/bin/chromium; it never downloads a browser of its own).
# Sourced by test.sh; installs only what is missing, quietly, saying so in one line.
browser_missing() {
  [ ! -x /usr/bin/chromium ] || ! dpkg -s fonts-noto-cjk >/dev/null 2>&1
}
if browser_missing; then
  echo "== installing chromium and fonts-noto-cjk (apt-get) for the dashboard's browser tests"
  apt_get="apt-get"
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then apt_get="sudo apt-get"; fi
  export DEBIAN_FRONTEND=noninteractive
  $apt_get update -qq >/dev/null
  $apt_get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null
fi
