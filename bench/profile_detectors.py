"""Each detector's time on a database, in one process through the library, and for the
slowest ones the operators of their main query that take the time (DuckDB's profiler).

    python bench/profile_detectors.py [--explain N] DB
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from loganalyze.analysis import Analysis
from loganalyze.detectors import list_detectors
from loganalyze.store import connect


class Recording:
    """Delegates to a DuckDB connection, keeping the last `sql()` query and its params:
    the detector's own query (the library builds it as a relation)."""

    def __init__(self, con) -> None:  # type: ignore[no-untyped-def]
        self._con = con
        self.last: tuple[str, dict] | None = None

    def sql(self, query, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.last = (query, kwargs.get("params") or (args[0] if args else {}) or {})
        return self._con.sql(query, *args, **kwargs)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._con, name)


def operators(node: dict, out: list[tuple[float, str, int, str]]) -> None:
    extra = node.get("extra_info") or {}
    detail = "; ".join(f"{k}: {v}" for k, v in extra.items()
                       if k in ("Table", "Join Type", "Conditions", "Function", "Aggregates",
                                "Groups", "Partition By", "Order By", "Text"))
    out.append((float(node.get("timing") or 0.0), str(node.get("name") or node.get("type")),
                int(node.get("intermediate_rows") or 0), detail))
    for child in node.get("children") or []:
        operators(child, out)


def explain(con, query: str, params: dict, top: int = 6) -> list[str]:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "profile.json"
        con.execute("PRAGMA enable_profiling = 'json'")
        con.execute("SET profiling_output = '" + str(target).replace("'", "''") + "'")
        started = time.perf_counter()
        con.execute(query, params).fetchall()
        seconds = time.perf_counter() - started
        con.execute("PRAGMA disable_profiling")
        doc = json.loads(target.read_text())
    found: list[tuple[float, str, int, str]] = []
    for root in doc.get("operator") or []:
        operators(root, found)
    lines = [f"    query alone: {seconds:.2f} s; its costliest operators (operator time, rows out):"]
    for t, name, rows, detail in sorted(found, reverse=True)[:top]:
        lines.append(f"    {t:7.2f} s  {name:<22} {rows:>12,}  {detail[:110]}")
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--explain", type=int, default=0, help="profile the N slowest detectors")
    parser.add_argument("db")
    args = parser.parse_args(argv)
    con = connect(args.db, read_only=True)
    con.execute("SET enable_progress_bar = false")  # it would draw on stdout, into the table
    recording = Recording(con)
    rows = []
    started = time.perf_counter()
    # one analysis for every detector, as report and check run them; it stays open for the
    # profiles below, whose queries read the shared results it built
    with Analysis(recording) as analysis:
        for spec in list_detectors():
            t0 = time.perf_counter()
            recording.last = None
            try:
                frame = analysis.finding(spec.name).frame
                outcome = f"{frame.height} rows"
            except Exception as exc:  # a failing detector is a finding of the benchmark
                outcome = "failed: " + str(exc).splitlines()[0][:80]
            rows.append((time.perf_counter() - t0, spec.name, outcome, recording.last))
        total = time.perf_counter() - started
        print(f"{'seconds':>8} {'share':>6}  detector")
        for seconds, name, outcome, _ in sorted(rows, key=lambda r: -r[0]):
            print(f"{seconds:8.2f} {seconds / total:6.1%}  {name} ({outcome})")
        print(f"{total:8.2f} 100.0%  all detectors")
        for seconds, name, _, last in sorted(rows, key=lambda r: -r[0])[: args.explain]:
            if last is None:
                continue
            print(f"\n{name} ({seconds:.2f} s):")
            print("\n".join(explain(con, *last)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
