#!/usr/bin/env bash
# Installs the benchmark peers from Debian's packages: pgBadger (Postgres log analyzer,
# Perl) and lnav (the log file navigator, run headless). bench/run.py compares loganalyze
# against them. Idempotent: installs only what is missing. Needs root and apt; exits 0
# with a message (and installs nothing) where either is unavailable, because the
# benchmark then skips those peers and says so.
set -euo pipefail

missing=()
for tool in pgbadger lnav; do
    if command -v "$tool" >/dev/null 2>&1; then
        echo "$tool present: $(command -v "$tool")"
    else
        missing+=("$tool")
    fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-bench-tools: apt-get not available; the benchmark will skip: ${missing[*]}" >&2
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-bench-tools: need root to apt-get install ${missing[*]} (run: sudo $0)" >&2
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for tool in "${missing[@]}"; do
    echo "installed: $tool ($(command -v "$tool" || echo 'not found after install'))"
done
