"""Every detector over one range in one `Analysis`, the way `report` and `check` run them
(shared results built once, by the first detector that reads them): wall and CPU seconds
per detector and in total (the machine is shared, so CPU seconds say more than wall time
when neighbours are busy).

    python bench/profile_detectors_run.py DB [--repeat N] [--only NAME] [--memory-limit 1GB]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from loganalyze.analysis import Analysis
from loganalyze.detectors import list_detectors
from loganalyze.store import analysis_memory_limit, connect
from loganalyze.timeparse import resolve_range


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("--repeat", type=int, default=1, help="passes over every detector")
    parser.add_argument("--only", action="append", help="just this detector (repeatable)")
    parser.add_argument("--memory-limit", default=None, help="DuckDB budget (default: report's)")
    args = parser.parse_args(argv)
    con = connect(args.db, read_only=True, memory_limit=analysis_memory_limit(args.memory_limit))
    con.execute("SET enable_progress_bar = false")
    time_range = resolve_range(con, None, None, None)
    for run in range(args.repeat):
        wall0, cpu0 = time.perf_counter(), cpu_seconds()
        print(f"pass {run + 1}: {'detector':<22} {'wall s':>7} {'cpu s':>7} {'rows':>7}")
        with Analysis(con, time_range=time_range) as analysis:
            for spec in list_detectors():
                if args.only and spec.name not in args.only:
                    continue
                t0, c0 = time.perf_counter(), cpu_seconds()
                frame = analysis.finding(spec).frame
                print(f"        {spec.name:<22} {time.perf_counter() - t0:7.2f} "
                      f"{cpu_seconds() - c0:7.2f} {frame.height:7d}")
        print(f"        {'total':<22} {time.perf_counter() - wall0:7.2f} "
              f"{cpu_seconds() - cpu0:7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
