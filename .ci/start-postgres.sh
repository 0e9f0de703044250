#!/usr/bin/env bash
# Installs Debian's PostgreSQL server binaries for the real-server tests
# (tests/test_ingest_postgres_server.py, marker `postgres`). The tests start and stop
# their own throwaway cluster on loopback (tests/pg_server.py); this script starts no
# server. Idempotent: does nothing when an initdb is already installed. Needs root (CI
# runs as root); touches the network only through apt's own package sources.
set -euo pipefail

find_initdb() {
    ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1
}

if [ -n "$(find_initdb)" ]; then
    echo "postgresql present: $(find_initdb)"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "start-postgres: need root to apt-get install postgresql (run: sudo $0)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq postgresql >/dev/null
# Debian's package creates and starts a default cluster; the tests need none of it.
if command -v pg_lsclusters >/dev/null 2>&1; then
    pg_lsclusters --no-header 2>/dev/null | while read -r ver name _; do
        pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true
    done
fi
echo "installed: $(find_initdb)"
