"""`loganalyze serve` under load: sustained events/s, acknowledgement latency, and a soak
with `kill -9` of the server at random points while senders retry.

    python bench/serve_bench.py                        # both parts, prints the section
    python bench/serve_bench.py --out bench/RESULTS.md # and writes it into RESULTS.md
    python bench/serve_bench.py --quick                # small counts: keeps the script working

The load generator runs on the same machine and talks to 127.0.0.1 only, with a fixed
number of requests. Bodies are real drain batches: the bundled replay's Supabase drain
events (edge, auth, postgres, realtime) in batches of 250 as the generic HTTP drain sends
them, and its Vercel drain events as NDJSON batches of 100, signed. Each round over the
replay renames the ids (`"id":"` → `"id":"r7-`, one bytes.replace per body), so every
event sent is a distinct event and "delivered = stored" can be checked exactly.

Part 1 measures: events acknowledged per second over the whole run, p50/p99 latency from
sending a request to its 2xx, how long after the last acknowledgement the database holds
everything, and the server's peak RSS. Part 2 kills the server with SIGKILL at random
moments, restarts it on the same port and database, and lets every sender retry each
batch until acknowledged; at the end every event sent must be stored exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gzip
import hashlib
import hmac
import itertools
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[1]
REPLAY = REPO / "sample_logs" / "eventlive-incident"
SUPABASE_SOURCES = ("edge_logs", "auth_logs", "postgres_logs", "realtime_logs")
SECRET = "bench-drain-secret"
VERCEL_SECRET = "bench-vercel-secret"
MARK_BEGIN = "<!-- serve-bench:begin (python bench/serve_bench.py --out bench/RESULTS.md) -->"
MARK_END = "<!-- serve-bench:end -->"
TARGET_EVENTS_PER_S = 20_000
TARGET_P99_MS = 200.0


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- the load
@dataclass(frozen=True)
class Template:
    path: str
    body: bytes
    events: int


def templates() -> list[Template]:
    """Drain batches of the replay, Supabase and Vercel interleaved as they would arrive."""
    supabase: list[bytes] = []
    for source in SUPABASE_SOURCES:
        with gzip.open(REPLAY / f"{source}.drain.ndjson.gz", "rb") as fh:
            supabase += fh.read().splitlines()
    with gzip.open(REPLAY / "vercel.drain.ndjson.gz", "rb") as fh:
        vercel = fh.read().splitlines()
    sup = [Template("/drains/supabase", b"[" + b",".join(supabase[i:i + 250]) + b"]",
                    len(supabase[i:i + 250])) for i in range(0, len(supabase), 250)]
    ver = [Template("/drains/vercel", b"\n".join(vercel[i:i + 100]) + b"\n",
                    len(vercel[i:i + 100])) for i in range(0, len(vercel), 100)]
    mixed: list[Template] = []
    for i in range(max(len(sup), len(ver))):
        mixed += sup[i:i + 1] + ver[i:i + 1]
    return mixed


def request_body(pool: list[Template], number: int) -> tuple[Template, bytes]:
    template = pool[number % len(pool)]
    round_ = number // len(pool)
    return template, template.body.replace(b'"id":"', b'"id":"r%d-' % round_)


def headers_for(template: Template, body: bytes) -> dict[str, str]:
    if template.path.endswith("vercel"):
        sig = hmac.new(VERCEL_SECRET.encode(), body, hashlib.sha1).hexdigest()
        return {"x-vercel-signature": sig, "Content-Type": "application/x-ndjson"}
    return {"Authorization": "Bearer " + SECRET, "Content-Type": "application/json"}


# ---------------------------------------------------------------------- the server
class Server:
    def __init__(self, work: Path, db: Path, port: int) -> None:
        self.work, self.db, self.port = work, db, port
        (work / "drain.secret").write_text(SECRET)
        (work / "vercel.secret").write_text(VERCEL_SECRET)
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.starts += 1
        err = (self.work / f"serve-{self.starts}.err").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "loganalyze", "serve", "--db", str(self.db),
             "--port", str(self.port), "--status-every", "0",
             "--secret-file", str(self.work / "drain.secret"),
             "--vercel-secret-file", str(self.work / "vercel.secret")],
            stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL,
        )
        log_path = Path(err.name)
        deadline = time.monotonic() + 120
        while "serving on" not in log_path.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("serve did not start:\n" + log_path.read_text(errors="replace"))
            time.sleep(0.05)

    def peak_rss_mb(self) -> float | None:
        assert self.proc is not None
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return None
        found = re.search(r"VmHWM:\s+(\d+) kB", status)
        return int(found.group(1)) / 1024 if found else None

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the server so far."""
        assert self.proc is not None
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        if self.proc.wait(timeout=600) != 0:
            raise SystemExit(f"serve exited {self.proc.returncode}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def health(session: aiohttp.ClientSession, server: Server) -> dict:
    async with session.get(server.url + "/healthz") as response:
        return await response.json()


# ---------------------------------------------------------------------- part 1
@dataclass
class LoadResult:
    requests: int
    events: int
    seconds: float
    latencies_ms: list[float]
    refused: int
    drain_seconds: float
    peak_rss_mb: float | None
    server_cpu_s: float | None
    client_cpu_s: float = 0.0
    stored: dict[str, tuple[int, int]] = field(default_factory=dict)
    rejected: int = 0

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds

    @property
    def stored_per_s(self) -> float:
        return self.events / (self.seconds + self.drain_seconds)

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def load(server: Server, pool: list[Template], requests: int, concurrency: int) -> LoadResult:
    latencies: list[float] = []
    refused = 0
    events = 0
    next_number = iter(range(requests))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def sender() -> None:
            nonlocal refused, events
            for number in next_number:
                template, body = request_body(pool, number)
                headers = headers_for(template, body)
                while True:
                    sent = time.perf_counter()
                    async with session.post(server.url + template.path, data=body, headers=headers) as resp:
                        await resp.read()
                        if resp.status == 200:
                            latencies.append((time.perf_counter() - sent) * 1000)
                            events += template.events
                            break
                        if resp.status in (429, 503):
                            refused += 1
                            await asyncio.sleep(float(resp.headers.get("Retry-After", "1")))
                            continue
                        raise SystemExit(f"unexpected {resp.status}: {await resp.text()}")

        started = time.perf_counter()
        client_cpu = _own_cpu_seconds()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        client_cpu = _own_cpu_seconds() - client_cpu
        seconds = time.perf_counter() - started
        acked_at = time.perf_counter()
        while (await health(session, server))["backlog_bytes"]:
            await asyncio.sleep(0.05)
        drain_seconds = time.perf_counter() - acked_at
    return LoadResult(requests, events, seconds, latencies, refused, drain_seconds,
                      server.peak_rss_mb(), server.cpu_seconds(), client_cpu)


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def stored_counts(db: Path) -> tuple[dict[str, tuple[int, int]], int]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        counts = {
            table: con.execute(f"SELECT count(*), count(DISTINCT id) FROM {table}").fetchone()
            for table in ("edge_logs", "auth_logs", "postgres_logs", "realtime_logs", "vercel_logs")
        }
        (rejected,) = con.execute("SELECT count(*) FROM rejected_rows").fetchone()  # type: ignore[misc]
    finally:
        con.close()
    return counts, int(rejected)  # type: ignore[return-value]


# ---------------------------------------------------------------------- part 2
@dataclass
class SoakResult:
    requests: int
    events: int
    kills: int
    retries: int
    seconds: float
    stored: dict[str, tuple[int, int]] = field(default_factory=dict)
    rejected: int = 0


async def soak(server: Server, pool: list[Template], requests: int, concurrency: int,
               kills: int, seed: int) -> SoakResult:
    rng = random.Random(seed)
    retries = 0
    events = 0
    done = asyncio.Event()
    kills_done = asyncio.Event()
    next_number = itertools.count()
    sent = 0
    timeout = aiohttp.ClientTimeout(total=30)

    async with aiohttp.ClientSession(timeout=timeout) as session:
        async def sender() -> None:
            nonlocal retries, events, sent
            for number in next_number:
                # at least `requests`, and on until every kill has happened: on an idle
                # machine the requests alone can be sent before the first kill
                if number >= requests and kills_done.is_set():
                    return
                sent += 1
                template, body = request_body(pool, number)
                headers = headers_for(template, body)
                while True:  # a drain retries a batch until it is acknowledged
                    try:
                        async with session.post(server.url + template.path, data=body,
                                                headers=headers) as resp:
                            await resp.read()
                            if resp.status == 200:
                                events += template.events
                                break
                            if resp.status not in (429, 503):
                                raise SystemExit(f"unexpected {resp.status}")
                    except (TimeoutError, aiohttp.ClientError, ConnectionError):
                        pass
                    retries += 1
                    await asyncio.sleep(0.2)

        async def killer() -> int:
            done_kills = 0
            while done_kills < kills and not done.is_set():
                await asyncio.sleep(rng.uniform(0.3, 2.5))
                if done.is_set():
                    break
                server.kill()
                done_kills += 1
                log(f"soak: kill -9 #{done_kills}")
                await asyncio.to_thread(server.start)
            kills_done.set()
            return done_kills

        started = time.perf_counter()
        kill_task = asyncio.create_task(killer())
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        done.set()
        performed = await kill_task
        seconds = time.perf_counter() - started
    return SoakResult(sent, events, performed, retries, seconds)


# ---------------------------------------------------------------------- the document
def render(load_result: LoadResult, soak_result: SoakResult, args: argparse.Namespace,
           load_avg: tuple[str, str]) -> str:
    lr, sr = load_result, soak_result
    stored_load = sum(n for n, _ in lr.stored.values())
    distinct_load = sum(d for _, d in lr.stored.values())
    stored_soak = sum(n for n, _ in sr.stored.values())
    distinct_soak = sum(d for _, d in sr.stored.values())
    p50, p99 = lr.pct(0.50), lr.pct(0.99)
    server_cpu = (lr.server_cpu_s or 0) / lr.events * 1e4
    client_cpu = lr.client_cpu_s / lr.events * 1e4
    ceiling = 2e4 / max(server_cpu + client_cpu, 1e-9)
    met = lambda ok: "yes" if ok else "**no**"  # noqa: E731
    lines = [
        MARK_BEGIN,
        "## 7. `loganalyze serve`: drain throughput, acknowledgement latency, kill -9 soak",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC{' (--quick)' if args.quick else ''}, "
        f"{os.cpu_count()} cpus, load average {load_avg[0]} at start and {load_avg[1]} at end "
        "(the machine is shared; the load generator runs on the same cores as the server). "
        f"Server defaults (commit every 2 s); {args.concurrency} concurrent senders on "
        "127.0.0.1; bodies are the bundled replay's drain batches (Supabase: 250 events per "
        "JSON array, Vercel: 100 per signed NDJSON body), ids renamed per round so every "
        "event is distinct.",
        "",
        "| figure | measured | target | met |",
        "|---|---|---|---|",
        f"| events stored per second, first request → all in the database ({lr.requests} requests, {lr.events:,} events) | "
        f"{lr.stored_per_s:,.0f} | ≥ {TARGET_EVENTS_PER_S:,} | {met(lr.stored_per_s >= TARGET_EVENTS_PER_S)} |",
        f"| events acknowledged per second (on disk in the spool) | {lr.events_per_s:,.0f} | | |",
        f"| acknowledgement latency p50 | {p50:.1f} ms | | |",
        f"| acknowledgement latency p99 | {p99:.1f} ms | < {TARGET_P99_MS:.0f} ms | {met(p99 < TARGET_P99_MS)} |",
        f"| all in the database after the last acknowledgement | {lr.drain_seconds:.2f} s | | |",
        f"| stored rows / distinct ids / events delivered | {stored_load:,} / {distinct_load:,} / {lr.events:,} | equal | {met(stored_load == distinct_load == lr.events)} |",
        f"| requests refused (429/503, retried) | {lr.refused} | | |",
        f"| server peak RSS | {lr.peak_rss_mb or 0:,.0f} MB | | |",
        f"| server CPU (user + system) per 10,000 events, everything from HTTP to commit | {server_cpu:.2f} s | | |",
        f"| load generator CPU per 10,000 events | {client_cpu:.2f} s | | |",
        f"| derived, not measured: CPU-bound ceiling with 2 idle cores for server + generator (2 / CPU per event) | {ceiling:,.0f} events/s | | |",
        f"| derived, not measured: the server alone on 2 idle cores | {2e4 / server_cpu:,.0f} events/s | | |",
        f"| soak: kill -9 of the server | {sr.kills} kills, {sr.requests:,} requests sent, {sr.retries} retried, {sr.seconds:.1f} s | | |",
        f"| soak: stored rows / distinct ids / events delivered | {stored_soak:,} / {distinct_soak:,} / {sr.events:,} | equal | {met(stored_soak == distinct_soak == sr.events)} |",
        "",
        "Per table after the throughput run (rows, distinct ids): "
        + ", ".join(f"{t} {n:,}/{d:,}" for t, (n, d) in lr.stored.items())
        + f"; rejected rows {lr.rejected}. After the soak: "
        + ", ".join(f"{t} {n:,}/{d:,}" for t, (n, d) in sr.stored.items())
        + f"; rejected rows {sr.rejected}.",
        "",
        "```",
        f"python bench/serve_bench.py --requests {args.requests} --concurrency {args.concurrency} "
        f"--soak-requests {args.soak_requests} --kills {args.kills}",
        "```",
        MARK_END,
    ]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if MARK_BEGIN in text and MARK_END in text:
        head, rest = text.split(MARK_BEGIN, 1)
        _, tail = rest.split(MARK_END, 1)
        text = head + section.rstrip("\n") + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--soak-requests", type=int, default=600)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="60 requests, 120 in the soak, 2 kills")
    parser.add_argument("--out", type=Path, help="write the section into this markdown file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.soak_requests, args.kills = 60, 120, 2
    pool = templates()
    log(f"{len(pool)} batch templates, {sum(t.events for t in pool):,} events per round")
    work = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    load_avg_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    try:
        server = Server(work, work / "load.duckdb", free_port())
        server.start()
        log(f"part 1: {args.requests} requests, {args.concurrency} senders")
        load_result = asyncio.run(load(server, pool, args.requests, args.concurrency))
        server.stop()
        load_result.stored, load_result.rejected = stored_counts(server.db)
        log(f"part 1: {load_result.stored_per_s:,.0f} events/s stored, "
            f"{load_result.events_per_s:,.0f} acknowledged, p50 {load_result.pct(0.5):.1f} ms, "
            f"p99 {load_result.pct(0.99):.1f} ms")

        soak_dir = work / "soak"
        soak_dir.mkdir()
        soaker = Server(soak_dir, soak_dir / "soak.duckdb", free_port())
        soaker.start()
        log(f"part 2: {args.soak_requests} requests, {args.kills} kills")
        soak_result = asyncio.run(soak(soaker, pool, args.soak_requests, args.concurrency,
                                       args.kills, args.seed))
        soaker.stop()
        soak_result.stored, soak_result.rejected = stored_counts(soaker.db)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    load_avg_end = " ".join(f"{x:.2f}" for x in os.getloadavg())
    section = render(load_result, soak_result, args, (load_avg_start, load_avg_end))
    sys.stdout.write(section)
    if args.out:
        write_section(args.out, section)
        log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
