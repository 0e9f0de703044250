"""Where a Postgres native-log ingest spends time and memory, statement by statement.

    python bench/profile_postgres.py [--log-line-prefix P] [--memory-limit 1GB] FILE

Runs the ingest in-process (into a fresh in-memory database) and prints, for every SQL
statement the reader runs: wall seconds, CPU seconds of the process (both cores count),
the peak resident set size while it ran (Linux: the high-water mark is reset before each
statement), and what DuckDB's buffer manager holds after it. The last line is the whole
ingest: MB/s of the file, CPU seconds, peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

from loganalyze.ingest import ingest
from loganalyze.store import connect


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class ProfiledConnection:
    """Delegates to a DuckDB connection, measuring each `execute`."""

    def __init__(self, con) -> None:  # type: ignore[no-untyped-def]
        self._con = con
        self.rows: list[tuple[str, float, float, float, float]] = []
        # a second connection to the same database: asking on the first would replace
        # the result the reader is about to fetch
        self._side = con.cursor()

    def execute(self, sql, *args, **kwargs):  # type: ignore[no-untyped-def]
        _reset_peak()
        wall, cpu = time.perf_counter(), _cpu()
        try:
            return self._con.execute(sql, *args, **kwargs)
        finally:
            wall, cpu = time.perf_counter() - wall, _cpu() - cpu
            peak = _peak_mb()
            (held,) = self._side.execute("SELECT sum(memory_usage_bytes) / 2^20 FROM duckdb_memory()").fetchone()
            self.rows.append((" ".join(sql.split())[:70], wall, cpu, peak, held))

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._con, name)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memory-limit")
    parser.add_argument("--log-line-prefix")
    parser.add_argument("file")
    args = parser.parse_args(argv)
    con = connect(memory_limit=args.memory_limit)
    profiled = ProfiledConnection(con)
    size_mb = Path(args.file).stat().st_size / 1e6
    wall, cpu = time.perf_counter(), _cpu()
    summary = ingest([args.file], profiled, log_line_prefix=args.log_line_prefix)  # type: ignore[arg-type]
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    print(f"{'wall s':>7} {'cpu s':>7} {'peak MB':>8} {'held MB':>8}  statement")
    for text, w, c, peak, held in profiled.rows:
        if w >= 0.01:
            print(f"{w:7.2f} {c:7.2f} {peak:8.0f} {held:8.0f}  {text}")
    # the high-water mark was reset before each statement: the peak is the largest of theirs
    peak_all = max([peak for *_, peak, _ in profiled.rows] + [_peak_mb()])
    print(f"{summary.rows:,} rows, {summary.rejected:,} rejected from {size_mb:.1f} MB in {wall:.2f} s "
          f"= {size_mb / wall:.1f} MB/s; CPU {cpu:.2f} s; peak RSS {peak_all:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
