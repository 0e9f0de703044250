"""Each detector's time on a database, in one process through the library.

    python bench/profile_detectors.py DB
"""

from __future__ import annotations

import sys
import time

from loganalyze.detectors import list_detectors, run_detector
from loganalyze.store import connect


def main(argv: list[str]) -> int:
    con = connect(argv[0], read_only=True)
    con.execute("SET enable_progress_bar = false")  # it would draw on stdout, into the table
    rows = []
    started = time.perf_counter()
    for spec in list_detectors():
        t0 = time.perf_counter()
        try:
            frame = run_detector(con, spec.name)
            outcome = f"{frame.height} rows"
        except Exception as exc:  # a failing detector is a finding of the benchmark
            outcome = "failed: " + str(exc).splitlines()[0][:80]
        rows.append((time.perf_counter() - t0, spec.name, outcome))
    total = time.perf_counter() - started
    print(f"{'seconds':>8} {'share':>6}  detector")
    for seconds, name, outcome in sorted(rows, reverse=True):
        print(f"{seconds:8.2f} {seconds / total:6.1%}  {name} ({outcome})")
    print(f"{total:8.2f} 100.0%  all detectors")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
