"""Build tests/data/sqlstate/regress_errors.sql: a curated subset of PostgreSQL's own
regression SQL (src/test/regress/sql/), chosen for the most distinct server errors per
second of running, on which tests/test_sqlstate_server.py measures SQLSTATE inference.

    apt-get source --download-only postgresql-15 && dpkg-source -x postgresql-15_*.dsc pg15
    python tools/build_sqlstate_regress_corpus.py pg15 [--budget-seconds 20]

Needs Debian's PostgreSQL server binaries (.ci/start-postgres.sh). Every regression file
that needs nothing from outside the SQL (no data files, no C test library, no shell, no
reconnects) is run on a throwaway cluster, each file in its own session, in the
schedule's order, with the server logging csvlog; the files are then taken greedily by
distinct (message, SQLSTATE) pairs they add per second until the budgets (seconds of
running, kB of SQL) are spent, and
written in schedule order, each after a `-- regress file: NAME` line (the test runs each
section in its own psql session, as pg_regress does). The PostgreSQL licence covers the
SQL (loganalyze/ingest/sqlstate_catalog.COPYRIGHT).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.pg_server import remove, start_server  # noqa: E402

OUT = REPO / "tests" / "data" / "sqlstate" / "regress_errors.sql"
SECTION = "-- regress file: "
# psql meta-commands and variables that reach outside the SQL (files, the C test
# library, the shell, other connections): such files are left out.
NEEDS_OUTSIDE = re.compile(r"\\getenv|abs_srcdir|abs_builddir|regresslib|:libdir|dlsuffix|\\!|^\\c\b|\\connect|\\copy"
                           r"|\\lo_import|\\i\b|\\ir\b", re.M)
SLOW_SECONDS = 3.0
"""A file slower than this alone (parallel query, hash join sizing) is left out."""


def schedule(regress: Path) -> list[str]:
    names: list[str] = []
    for line in (regress / "parallel_schedule").read_text(encoding="utf-8").splitlines():
        if line.startswith("test:"):
            names += line.split()[1:]
    return names


def run_sections(sections: list[tuple[str, str]], prefix: str = "%m [%p] %e %a ") -> tuple[dict[str, float], Path]:
    """Run each (name, sql) in its own session; seconds per section, and the csvlog."""
    server = start_server(prefix, 1_000_000)
    seconds: dict[str, float] = {}
    try:
        psql = [str(server.bindir / "psql"), "-X", "-q", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres"]
        subprocess.run([*psql, "-d", "postgres", "-c", "CREATE DATABASE regression"], check=True, capture_output=True)
        for name, sql in sections:
            started = time.perf_counter()
            try:
                subprocess.run([*psql, "-d", "regression", "-v", "ON_ERROR_STOP=0", "-f", "-"], input=sql, text=True,
                               capture_output=True, timeout=60, env=dict(os.environ, PGAPPNAME=name))
            except subprocess.TimeoutExpired:
                seconds[name] = float("inf")
                continue
            seconds[name] = time.perf_counter() - started
        server.stop()
        kept = Path(f"/tmp/loganalyze-regress-{os.getpid()}.csv")
        kept.write_bytes(server.log_file(".csv").read_bytes())
    finally:
        remove(server)
    return seconds, kept


def errors_per_section(csvlog: Path) -> dict[str, set[tuple[str, str]]]:
    found: dict[str, set[tuple[str, str]]] = {}
    csv.field_size_limit(sys.maxsize)  # statements logged whole
    with csvlog.open(encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh):
            if len(row) > 22 and row[11] in ("ERROR", "FATAL"):
                found.setdefault(row[22], set()).add((row[13], row[12]))
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tree", type=Path, help="unpacked PostgreSQL source tree")
    parser.add_argument("--budget-seconds", type=float, default=15.0)
    parser.add_argument("--budget-kb", type=float, default=1000.0, help="size of the written SQL")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    regress = args.tree / "src" / "test" / "regress"
    sections = []
    for name in schedule(regress):
        path = regress / "sql" / f"{name}.sql"
        if path.exists():
            sql = path.read_text(encoding="utf-8")
            if not NEEDS_OUTSIDE.search(sql):
                sections.append((name, sql))
    seconds, csvlog = run_sections(sections)
    errors = errors_per_section(csvlog)
    csvlog.unlink()
    chosen: set[str] = set()
    covered: set[tuple[str, str]] = set()
    spent, size = 0.0, 0.0
    kb = {n: len(sql.encode()) / 1000 for n, sql in sections}
    candidates = {n for n, _ in sections if seconds.get(n, float("inf")) < SLOW_SECONDS and errors.get(n)}
    while candidates:
        gains = {name: len(errors[name] - covered) / max(seconds[name], 0.05) for name in candidates}
        best = max(sorted(candidates), key=gains.__getitem__)
        if gains[best] <= 0 or spent + seconds[best] > args.budget_seconds or size + kb[best] > args.budget_kb:
            candidates.discard(best)
            continue
        chosen.add(best)
        covered |= errors[best]
        spent += seconds[best]
        size += kb[best]
        candidates.discard(best)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write("-- A subset of PostgreSQL 15's regression SQL (src/test/regress/sql/, PostgreSQL\n"
                 "-- Licence: loganalyze/ingest/sqlstate_catalog.COPYRIGHT), chosen for distinct server\n"
                 "-- errors; made by tools/build_sqlstate_regress_corpus.py. Each section runs in its\n"
                 "-- own session.\n")
        for name, sql in sections:
            if name in chosen:
                fh.write(f"\n{SECTION}{name}\n{sql.rstrip()}\n")
    print(f"{len(chosen)} files, {len(covered)} distinct (message, SQLSTATE) errors, about {spent:.1f} s "
          f"→ {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
