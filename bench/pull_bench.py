"""`loganalyze pull` at scale: how much of a pull is the client's own work.

A local endpoint (tests/fake_logs_api.py, in its own process) serves N rows from chDB:
synth's ClickHouse-era rows of the incident, copied with shifted timestamps and
suffixed ids until there are N. The pull runs in this process with concurrency 1, every
HTTP request's wall-clock interval recorded; "waiting" is the time at least one request
was outstanding (the server's query and serialization, and the transfer), "client" is
the rest of the wall time (ingest, page inspection, ledger, bookkeeping not hidden
behind a request in flight). Target: client < 1/3 of the total. CPU seconds of both
processes are reported too: on a shared machine they are the load-independent part.

    python bench/pull_bench.py                  # 1,000,000 rows
    python bench/pull_bench.py --rows 200000    # quicker
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from loganalyze.pull import PullOptions, RetryPolicy, pull  # noqa: E402
from loganalyze.store import connect  # noqa: E402
from loganalyze.synth import synth  # noqa: E402

BASE_MINUTES = 10
BASE_USERS = 200


class RequestClock:
    """Records the wall-clock interval of every HTTP request the pull makes."""

    def __init__(self) -> None:
        self.intervals: list[tuple[float, float]] = []
        self.lock = threading.Lock()
        self.original = httpx.Client.get

    def __enter__(self) -> RequestClock:
        clock = self

        def timed_get(client, *args, **kwargs):  # type: ignore[no-untyped-def]
            began = time.perf_counter()
            try:
                return clock.original(client, *args, **kwargs)
            finally:
                with clock.lock:
                    clock.intervals.append((began, time.perf_counter()))

        httpx.Client.get = timed_get  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        httpx.Client.get = self.original  # type: ignore[method-assign]

    def busy_seconds(self) -> float:
        """Wall time during which at least one request was outstanding."""
        total, end = 0.0, float("-inf")
        for lo, hi in sorted(self.intervals):
            if hi <= end:
                continue
            total += hi - max(lo, end)
            end = hi
        return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--page-rows", type=int, default=10_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="pull-bench-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        result = synth("incident", work / "base", users=BASE_USERS, minutes=BASE_MINUTES,
                       formats=("clickhouse",), start="2026-03-12T10:00:00Z")
        base_rows = sum(v for k, v in result.manifest["rows"].items()
                        if k in ("edge_logs", "postgres_logs", "auth_logs", "realtime_logs"))
        copies = max(1, -(-args.rows // base_rows))
        server = subprocess.Popen(
            [sys.executable, str(REPO / "tests" / "fake_logs_api.py"),
             "--load", str(work / "base" / "logs.clickhouse.*.json"),
             "--replicate", str(copies), "--shift-minutes", str(BASE_MINUTES + 1)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
        )
        try:
            assert server.stdout is not None
            info = json.loads(server.stdout.readline())
            print(f"server: {info['rows']:,} rows ({copies} copies of {base_rows:,}) ready "
                  f"in {time.perf_counter() - started:.0f}s", file=sys.stderr)
            con = connect(work / "pulled.duckdb")
            span_minutes = copies * (BASE_MINUTES + 1) + 5
            options = PullOptions(api_url=info["url"], page_rows=args.page_rows,
                                  concurrency=args.concurrency, slice_length=timedelta(hours=1),
                                  policy=RetryPolicy(base=0.05, cap=1.0, total=3600))
            with RequestClock() as clock:
                began = time.perf_counter()
                client_cpu, server_cpu = time.process_time(), _cpu_seconds(server.pid)
                summary = pull(con, info["project"], info["token"], since="2026-03-12T09:59:00Z",
                               until=_plus_minutes("2026-03-12T10:00:00+00:00", span_minutes),
                               options=options)
                total = time.perf_counter() - began
                client_cpu = time.process_time() - client_cpu
                server_cpu = _cpu_seconds(server.pid) - server_cpu
            stored = sum(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
                         for t in ("edge_logs", "postgres_logs", "auth_logs", "realtime_logs"))
        finally:
            if server.stdin:
                server.stdin.close()
            server.wait(timeout=60)
    waiting = clock.busy_seconds()
    client = total - waiting
    figures = {
        "rows_served": info["rows"],
        "rows_read": summary.rows,
        "rows_stored": stored,
        "complete": not summary.incomplete,
        "requests": summary.stats.requests,
        "slices": len(summary.slices),
        "total_s": round(total, 2),
        "waiting_s": round(waiting, 2),
        "client_s": round(client, 2),
        "client_share": round(client / total, 3),
        "ingest_s": round(summary.ingest.seconds, 2),
        "client_cpu_s": round(client_cpu, 2),
        "server_cpu_s": round(server_cpu, 2),
        "client_cpu_us_per_row": round(client_cpu / max(1, summary.rows) * 1e6, 1),
        "rows_per_s": round(summary.rows / total),
        "target_met": client / total < 1 / 3,
    }
    print(json.dumps(figures, indent=2))


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of another process so far, from /proc."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _plus_minutes(iso: str, minutes: int) -> str:
    from datetime import datetime

    return (datetime.fromisoformat(iso) + timedelta(minutes=minutes)).isoformat()


if __name__ == "__main__":
    main()
