"""chDB vs DuckDB on the same data: loading the normalized tables and running the
detectors both engines support, same machine, same run; the ratio is chDB / DuckDB.

The incident replay is ingested into a DuckDB file, grown to EVENTS by bench/replicate.py
(copies of the webinar held back to back), then copied into an in-process chDB in Arrow
batches. Each detector runs `--runs` times per engine on one analysis of the whole range
(1-minute windows); the best wall time and its process CPU time are reported. The
findings of both engines are compared on every detector (the bench doubles as a check
at a size the tests do not reach).

    python bench/engines_bench.py                       # 1,000,000 events
    python bench/engines_bench.py --events 200000 --runs 1
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()

    from polars.testing import assert_frame_equal

    from loganalyze.engines import DuckDBEngine, EngineAnalysis, open_engine, support_table
    from loganalyze.ingest import ingest
    from loganalyze.store import connect, table_counts

    sys.path.insert(0, str(REPO / "bench"))
    import replicate

    with tempfile.TemporaryDirectory() as work:
        db = str(Path(work) / "bench.duckdb")
        con = connect(db)
        ingest([str(REPO / "sample_logs" / "eventlive-incident")], con)
        con.close()
        replicate.main([db, str(args.events)])
        con = connect(db)
        events = sum(table_counts(con).values())
        ch, load_wall, load_cpu = _timed(lambda: open_engine("chdb", con))
        names = [spec.name for spec, reason in support_table("chdb") if reason is None]
        print(f"# chDB vs DuckDB: {events:,} events (eventlive-incident replicated)\n")
        print(f"chDB load from DuckDB (Arrow batches): {load_wall:.2f} s wall, {load_cpu:.2f} s CPU\n")
        print("| detector | DuckDB s | chDB s | chDB / DuckDB | rows | same findings |")
        print("|---|---:|---:|---:|---:|---|")
        total = {"duckdb": 0.0, "chdb": 0.0}
        for name in names:
            best: dict[str, float] = {}
            frames = {}
            for engine in (DuckDBEngine(con), ch):
                for _ in range(args.runs):
                    with EngineAnalysis(engine) as analysis:
                        finding, wall, _cpu = _timed(lambda a=analysis, n=name: a.finding(n))
                    best[engine.name] = min(best.get(engine.name, wall), wall)
                    frames[engine.name] = finding.frame
                total[engine.name] += best[engine.name]
            try:
                assert_frame_equal(frames["chdb"], frames["duckdb"])
                same = "yes"
            except AssertionError:
                same = "**no**"
            ratio = best["chdb"] / best["duckdb"] if best["duckdb"] else float("nan")
            print(
                f"| {name} | {best['duckdb']:.2f} | {best['chdb']:.2f} | {ratio:.2f} | "
                f"{frames['duckdb'].height} | {same} |"
            )
        print(
            f"| **all of them** | {total['duckdb']:.2f} | {total['chdb']:.2f} | "
            f"{total['chdb'] / total['duckdb']:.2f} | | |"
        )
        ch.close()
        con.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
