"""Every detector's findings identical on DuckDB and chDB at a million events and more.

A synthetic incident (`loganalyze synth`: drain, Vercel and cron exports) is ingested into a DuckDB file,
grown to EVENTS when smaller by bench/replicate.py (copies of the webinar held back to back), copied
into an in-process chDB in Arrow batches, and every detector is compared on both engines,
per minute and over the whole range as one window, with the comparison of
tests/test_engines_port.py: exact, except percentiles (relative 1e-9) and the sums of
doubles DuckDB adds in its hash table's order (relative 1e-12; docs/scale-out.md). Too
slow for the test suite on two shared cores (chDB alone spends minutes here), so it is a
bench; it prints a Markdown section for bench/RESULTS-engines.md and exits 1 when a
detector differs.

    python bench/engines_identity.py                    # 1,000,000 events
    python bench/engines_identity.py --events 200000 --users 300
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=1000, help="synth --users")
    parser.add_argument("--minutes", type=int, default=30, help="synth --minutes")
    parser.add_argument("--scenario", default="incident")
    args = parser.parse_args()

    from loganalyze.detectors import list_detectors
    from loganalyze.engines import DuckDBEngine, open_engine
    from loganalyze.ingest import ingest
    from loganalyze.store import connect, table_counts
    from loganalyze.synth import synth
    from tests.test_engines_port import assert_same_findings

    sys.path.insert(0, str(REPO / "bench"))
    import replicate

    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        logs = Path(work) / "logs"
        synth(
            args.scenario,
            logs,
            users=args.users,
            minutes=args.minutes,
            formats=("drain", "vercel", "cron"),
        )
        db = str(Path(work) / "identity.duckdb")
        con = connect(db)
        ingest([str(logs)], con)
        synthesized = sum(table_counts(con).values())
        con.close()
        replicate.main([db, str(args.events)])
        con = connect(db)
        counts = {t: n for t, n in table_counts(con).items() if n}
        ch = open_engine("chdb", con)
        duck = DuckDBEngine(con)
        rows: list[tuple[str, str, str]] = []
        failed = 0
        for spec in list_detectors():
            for window in ("1m", "all"):
                try:
                    assert_same_findings(duck, ch, spec.name, {}, window)
                    verdict = "identical"
                except AssertionError as exc:
                    failed += 1
                    verdict = "**differs**: " + str(exc).strip().splitlines()[0][:120]
                rows.append((spec.name, window, verdict))
                print(spec.name, window, verdict, file=sys.stderr, flush=True)
        ch.close()
        con.close()

    total = sum(counts.values())
    print(
        f"## Findings identical at {total:,} events "
        f"(`python bench/engines_identity.py --events {args.events}`)\n"
    )
    print(
        f"`loganalyze synth {args.scenario} --users {args.users} --minutes {args.minutes}` "
        f"({synthesized:,} events)"
        + (f", grown by bench/replicate.py to {total:,}" if total > synthesized else "")
        + ": "
        + ", ".join(f"{t} {n:,}" for t, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        + ".\n"
    )
    print("| detector | window | DuckDB vs chDB |")
    print("|---|---|---|")
    for name, window, verdict in rows:
        print(f"| {name} | {window} | {verdict} |")
    print(
        f"\n{len(rows) - failed} of {len(rows)} identical (exact, but for the tolerances of "
        f"tests/test_engines_port.py); {time.perf_counter() - began:.0f} s wall."
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
