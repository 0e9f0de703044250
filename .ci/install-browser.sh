#!/usr/bin/env bash
# Installs Debian's chromium, the headless browser that draws PNG/SVG charts
# (`loganalyze charts`) and renders the HTML report in tests/test_html_browser.py.
# Idempotent: does nothing when a chromium is already on PATH. Needs root (CI runs as
# root); touches the network only through apt's own package sources.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    echo "chromium present: $(chromium --version 2>/dev/null || echo "$(command -v chromium)")"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-browser: need root to apt-get install chromium (run: sudo $0)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
echo "installed: $(chromium --version 2>/dev/null)"
