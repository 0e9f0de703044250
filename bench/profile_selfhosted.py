"""Where an ingest of self-hosted container logs or a Vercel drain spends time and memory.

    python bench/profile_selfhosted.py [--format NAME] [--date YYYY-MM-DD] [--memory-limit 1GB] FILE

The same statement-by-statement profile as bench/profile_postgres.py (wall seconds, CPU
seconds of the process, peak RSS while each statement ran, what DuckDB holds after it),
for the readers that need `--format`/`--date` rather than a `log_line_prefix`. The last
line is the whole ingest: MB/s of the file, CPU seconds, peak RSS.

Big inputs: `loganalyze synth incident --out /tmp/sh --users 3000 --minutes 10
-f selfhosted -f vercel`, then concatenate copies of a log for size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from profile_postgres import ProfiledConnection, _cpu, _peak_mb

from loganalyze.ingest import ingest
from loganalyze.store import connect


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memory-limit")
    parser.add_argument("--format", dest="fmt")
    parser.add_argument("--date", type=dt.date.fromisoformat)
    parser.add_argument("--quiet", action="store_true", help="only the summary line")
    parser.add_argument("file")
    args = parser.parse_args(argv)
    con = connect(memory_limit=args.memory_limit)
    profiled = ProfiledConnection(con)
    size_mb = Path(args.file).stat().st_size / 1e6
    wall, cpu = time.perf_counter(), _cpu()
    summary = ingest([args.file], profiled, fmt=args.fmt, reference_date=args.date)  # type: ignore[arg-type]
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    if not args.quiet:
        print(f"{'wall s':>7} {'cpu s':>7} {'peak MB':>8} {'held MB':>8}  statement")
        for text, w, c, peak, held in profiled.rows:
            if w >= 0.01:
                print(f"{w:7.2f} {c:7.2f} {peak:8.0f} {held:8.0f}  {text}")
    peak_all = max([peak for *_, peak, _ in profiled.rows] + [_peak_mb()])
    print(f"{Path(args.file).name}: {summary.rows:,} rows, {summary.rejected:,} rejected, "
          f"{summary.duplicates:,} duplicates from {size_mb:.1f} MB in {wall:.2f} s "
          f"= {size_mb / wall:.1f} MB/s; CPU {cpu:.2f} s; peak RSS {peak_all:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
