"""Where an ingest spends its time: every SQL statement the ingest runs, timed.

    python bench/profile_ingest.py [--memory-limit 1GB] [--quiet] DB FILE...

The ingest runs in-process through the library (`loganalyze.ingest.ingest`) on a
connection wrapper that times each `execute`; statements are grouped by their first
words so the table reads as "the stage CTAS of the edge reader took N s".
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import defaultdict

from loganalyze.ingest import ingest
from loganalyze.store import connect


class TimedConnection:
    """Delegates to a DuckDB connection, timing `execute` calls by statement shape."""

    def __init__(self, con) -> None:  # type: ignore[no-untyped-def]
        self._con = con
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def execute(self, sql, *args, **kwargs):  # type: ignore[no-untyped-def]
        label = shape(sql)
        started = time.perf_counter()
        try:
            return self._con.execute(sql, *args, **kwargs)
        finally:
            self.seconds[label] += time.perf_counter() - started
            self.calls[label] += 1

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._con, name)


def shape(sql: str) -> str:
    text = re.sub(r"\s+", " ", sql).strip()
    reader = re.search(r"read_(json|csv|text)\w*", text)
    head = text[:70]
    return head + (f" … {reader.group(0)}" if reader and reader.group(0) not in head else "")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memory-limit")
    parser.add_argument("--quiet", action="store_true", help="print only the summary line")
    parser.add_argument("--log-line-prefix")
    parser.add_argument("db")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    con = connect(args.db, memory_limit=args.memory_limit)
    con.execute("SET enable_progress_bar = false")  # it would draw on stdout, into the profile
    timed = TimedConnection(con)
    started = time.perf_counter()
    # ingest() sets its own memory budget for the run; the limit is handed to it too.
    summary = ingest(args.files, timed, log_line_prefix=args.log_line_prefix,  # type: ignore[arg-type]
                     memory_limit=args.memory_limit)
    total = time.perf_counter() - started
    print(f'{{"rows": {summary.rows}, "seconds": {total:.3f}}}' if args.quiet else
          f"ingest of {len(args.files)} file(s): {summary.rows:,} rows in {total:.2f} s")
    if args.quiet:
        return 0
    accounted = sum(timed.seconds.values())
    print(f"{'seconds':>8} {'share':>6} {'calls':>5}  statement")
    for label, seconds in sorted(timed.seconds.items(), key=lambda kv: -kv[1])[:15]:
        print(f"{seconds:8.2f} {seconds / total:6.1%} {timed.calls[label]:5d}  {label}")
    print(f"{total - accounted:8.2f} {(total - accounted) / total:6.1%}        "
          "outside SQL (hashing, sampling, Python)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
