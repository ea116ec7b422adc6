#!/usr/bin/env bash
# Headless Chromium for the report's browser test (tests/test_report.py).
# Debian's package: no download outside the package registries. Playwright
# itself comes from PyPI with the test extra and drives this browser.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
chromium --version
