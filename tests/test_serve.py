"""`loganalyze serve` driven for real: a server process on 127.0.0.1, deliveries over
HTTP, `kill -9` mid-stream, and readers in other processes while it commits.

Cadences are short (commit every 0.2 s) and request counts bounded, so the whole file
takes seconds, not minutes."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from loganalyze.ingest import ingest
from loganalyze.store import LOG_TABLES, connect

SAMPLE = Path(__file__).resolve().parents[1] / "sample_logs" / "eventlive-incident"
SUPABASE_SECRET = "drain-secret-7f3a"
VERCEL_SECRET = "vercel-secret-91bc"


def drain_lines(name: str) -> list[bytes]:
    with gzip.open(SAMPLE / f"{name}.drain.ndjson.gz", "rb") as fh:
        return fh.read().splitlines()


def as_array(lines: list[bytes]) -> bytes:
    return b"[" + b",".join(lines) + b"]"


def signed(body: bytes, secret: str = VERCEL_SECRET) -> dict[str, str]:
    return {"x-vercel-signature": hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()}


BEARER = {"Authorization": f"Bearer {SUPABASE_SECRET}"}


class Server:
    """One `loganalyze serve` process; restartable on the same database."""

    def __init__(self, tmp: Path, db: Path, *extra: str) -> None:
        self.tmp, self.db, self.extra = tmp, db, extra
        (tmp / "supabase.secret").write_text(SUPABASE_SECRET + "\n")
        (tmp / "vercel.secret").write_text(VERCEL_SECRET + "\n")
        self.runs = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> Server:
        self.runs += 1
        self.log = self.tmp / f"serve-{self.runs}.err"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "loganalyze", "serve", "--db", str(self.db), "--port", "0",
             "--commit-every", "0.2", "--status-every", "0",
             "--secret-file", str(self.tmp / "supabase.secret"),
             "--vercel-secret-file", str(self.tmp / "vercel.secret"),
             "--vercel-verify", "verify-me", *self.extra],
            stdout=subprocess.DEVNULL, stderr=self.log.open("wb"), stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = re.search(r"serving on (http://127\.0\.0\.1:\d+)", self.log.read_text())
            if found:
                self.url = found.group(1)
                return self
            if self.proc.poll() is not None:
                pytest.fail("serve exited at start:\n" + self.log.read_text())
            time.sleep(0.05)
        pytest.fail("serve did not start:\n" + self.log.read_text())

    def post(self, path: str, body: bytes, headers: dict[str, str] | None = None,
             timeout: float = 30) -> tuple[int, dict, dict[str, str]]:
        request = urllib.request.Request(self.url + path, data=body, headers=headers or {},
                                         method="POST")
        return _send(request, timeout)

    def get(self, path: str) -> tuple[int, dict, dict[str, str]]:
        return _send(urllib.request.Request(self.url + path), 30)

    def stop(self) -> str:
        """SIGTERM; the server commits what it accepted and exits 0."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=120) == 0, self.log.read_text()
        return self.log.read_text()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)


def _send(request: urllib.request.Request, timeout: float) -> tuple[int, dict, dict[str, str]]:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}"), dict(exc.headers)


@pytest.fixture
def server(tmp_path: Path):
    srv = Server(tmp_path, tmp_path / "drain.duckdb")
    yield srv
    if srv.proc is not None and srv.proc.poll() is None:
        srv.kill()


def read_db(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = connect(db, read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def table_rows(con, table: str) -> list[tuple]:
    return con.execute(f"SELECT * EXCLUDE (file_id) FROM {table} ORDER BY id").fetchall()


# ---------------------------------------------------------------------- the drains
def test_both_drains_end_in_the_tables_an_ingest_of_the_same_events_gives(server: Server, tmp_path: Path) -> None:
    edge, auth, pg = drain_lines("edge_logs")[:300], drain_lines("auth_logs")[:100], drain_lines("postgres_logs")[:100]
    vercel = drain_lines("vercel")[:200]
    server.start()
    supabase_bodies = [as_array(edge[:150]), as_array(auth + pg),
                       gzip.compress(as_array(edge[150:]))]
    for i, body in enumerate(supabase_bodies):
        headers = {**BEARER, **({"Content-Encoding": "gzip"} if i == 2 else {})}
        status, answer, _ = server.post("/drains/supabase", body, headers)
        assert status == 200, answer
    ndjson = b"\n".join(vercel[:120]) + b"\n"
    assert server.post("/drains/vercel", ndjson, signed(ndjson))[0] == 200
    array = as_array(vercel[100:])  # 20 events delivered twice (a retried batch)
    status, answer, headers = server.post("/drains/vercel", array, signed(array))
    assert (status, answer["accepted"], headers.get("x-vercel-verify")) == (200, 100, "verify-me")
    server.stop()

    expected = connect()
    (tmp_path / "direct").mkdir()
    (tmp_path / "direct" / "supabase.ndjson").write_bytes(b"\n".join(edge + auth + pg) + b"\n")
    (tmp_path / "direct" / "vercel.ndjson").write_bytes(b"\n".join(vercel) + b"\n")
    ingest([tmp_path / "direct"], expected)
    served = connect(server.db, read_only=True)
    try:
        for table in LOG_TABLES:
            assert table_rows(served, table) == table_rows(expected, table), table
        assert served.execute("SELECT count(*) FROM rejected_rows").fetchone() == (0,)
    finally:
        served.close()
        expected.close()
    assert sum(len(x) for x in (edge, auth, pg, vercel)) == 700


def test_refused_deliveries_store_nothing(server: Server) -> None:
    server.start()
    body = as_array(drain_lines("edge_logs")[:10])
    assert server.post("/drains/supabase", body)[0] == 401
    assert server.post("/drains/supabase", body, {"Authorization": "Bearer wrong"})[0] == 401
    vercel = as_array(drain_lines("vercel")[:10])
    assert server.post("/drains/vercel", vercel)[0] == 403
    status, _, headers = server.post("/drains/vercel", vercel, signed(vercel, "not-the-secret"))
    assert status == 403 and headers.get("x-vercel-verify") == "verify-me"
    tampered = vercel.replace(b"lambda", b"static", 1)
    assert server.post("/drains/vercel", tampered, signed(vercel))[0] == 403
    # Vercel's ownership check when a drain is added
    status, _, headers = server.get("/drains/vercel")
    assert status == 200 and headers["x-vercel-verify"] == "verify-me"
    health = server.get("/healthz")
    assert health[0] == 200 and health[1]["accepted_events"] == 0
    log = server.stop()
    counts = read_db(server.db, "SELECT " + " + ".join(
        f"(SELECT count(*) FROM {t})" for t in (*LOG_TABLES, "rejected_rows")))
    assert counts == [(0,)]
    assert SUPABASE_SECRET not in log and VERCEL_SECRET not in log and "wrong" not in log


def test_oversized_and_malformed_bodies(tmp_path: Path) -> None:
    server = Server(tmp_path, tmp_path / "drain.duckdb", "--max-body", "1").start()
    try:
        edge = drain_lines("edge_logs")
        big = as_array(edge[:1000])  # ~2 MB
        assert len(big) > 1 << 20
        assert server.post("/drains/supabase", big, BEARER)[0] == 413
        bomb = gzip.compress(b"[" + b" " * (8 << 20) + b"]")
        assert server.post("/drains/supabase", bomb, {**BEARER, "Content-Encoding": "gzip"})[0] == 413

        status, answer, _ = server.post("/drains/supabase", b"this is not json", BEARER)
        assert status == 400 and answer["accepted"] == 0
        cut = as_array(edge[:5])[:-300]  # the fifth event cut short
        status, answer, _ = server.post("/drains/supabase", cut, BEARER)
        assert status == 400 and answer["accepted"] == 4
        vercel = drain_lines("vercel")[:3]
        ndjson = b"\n".join([vercel[0], b"{not json", vercel[1], vercel[2]])
        status, answer, _ = server.post("/drains/vercel", ndjson, signed(ndjson))
        assert (status, answer["accepted"], answer["rejected"]) == (400, 3, 1)
        server.stop()
    finally:
        if server.proc and server.proc.poll() is None:
            server.kill()
    rejected = read_db(server.db, "SELECT line, reason, raw FROM rejected_rows ORDER BY reason")
    reasons = [r[1] for r in rejected]
    assert len(rejected) == 3
    assert any(r.startswith("POST /drains/supabase: malformed JSON") and raw == "this is not json"
               for _, r, raw in rejected)
    assert ("POST /drains/vercel: malformed JSON line" in " ".join(reasons))
    assert (2, "{not json") in [(line, raw) for line, _, raw in rejected]
    ids = {json.loads(x)["id"] for x in edge[:4]} | {json.loads(x)["id"] for x in vercel}
    stored = {r[0] for r in read_db(server.db, "SELECT id FROM edge_logs UNION ALL SELECT id FROM vercel_logs")}
    assert stored == ids


# ---------------------------------------------------------------------- durability
def test_kill_9_mid_stream_loses_no_acknowledged_event_and_stores_none_twice(server: Server) -> None:
    edge = drain_lines("edge_logs")[:2400]
    vercel = drain_lines("vercel")[:800]
    batches = [("/drains/supabase", as_array(edge[i:i + 40]), BEARER) for i in range(0, len(edge), 40)]
    for i in range(0, len(vercel), 40):
        body = b"\n".join(vercel[i:i + 40])
        batches.append(("/drains/vercel", body, signed(body)))
    acked: set[int] = set()
    lock = threading.Lock()

    def send(indices: list[int]) -> None:
        for index in indices:
            path, body, headers = batches[index]
            try:
                status = server.post(path, body, headers, timeout=10)[0]
            except OSError:
                continue  # the server died under this request: not acknowledged
            if status == 200:
                with lock:
                    acked.add(index)

    server.start()
    order = list(range(len(batches)))
    senders = [threading.Thread(target=send, args=(order[k::4],)) for k in range(4)]
    for t in senders:
        t.start()
    while len(acked) < 20:
        time.sleep(0.005)
    server.kill()
    for t in senders:
        t.join()
    first_run = set(acked)
    # acknowledged deliveries the killed server had not committed yet
    assert list((server.db.parent / "drain.duckdb.spool").glob("seg-*"))
    assert 20 <= len(first_run) < len(batches), "the kill must land mid-stream"

    server.start()  # the spool left by the killed server is committed now
    # senders retry what was not acknowledged, plus some that were (lost responses)
    retry = [i for i in order if i not in first_run] + sorted(first_run)[:10]
    senders = [threading.Thread(target=send, args=(retry[k::3],)) for k in range(3)]
    for t in senders:
        t.start()
    for t in senders:
        t.join()
    server.stop()

    assert acked == set(order)
    want_edge = {json.loads(x)["id"] for x in edge}
    want_vercel = {json.loads(x)["id"] for x in vercel}
    for table, want in (("edge_logs", want_edge), ("vercel_logs", want_vercel)):
        ((rows, distinct),) = read_db(server.db, f"SELECT count(*), count(DISTINCT id) FROM {table}")
        assert rows == distinct == len(want), table
        assert {r[0] for r in read_db(server.db, f"SELECT id FROM {table}")} == want
    assert read_db(server.db, "SELECT count(*) FROM rejected_rows") == [(0,)]
    assert read_db(server.db, "SELECT count(*) - count(DISTINCT file) FROM ingested_files") == [(0,)]
    assert not list((server.db.parent / "drain.duckdb.spool").glob("seg-*"))


def test_readers_in_other_processes_work_while_it_serves(server: Server) -> None:
    edge = drain_lines("edge_logs")[:1200]
    server.start()
    stop = threading.Event()
    statuses: list[int] = []

    def send() -> None:
        for i in range(0, len(edge), 30):
            if stop.is_set():
                return
            statuses.append(server.post("/drains/supabase", as_array(edge[i:i + 30]), BEARER)[0])
            time.sleep(0.05)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        # fresh data shows up in another process within a few commits
        deadline = time.monotonic() + 30
        seen = 0
        while seen == 0 and time.monotonic() < deadline:
            seen = read_db(server.db, "SELECT count(*) FROM edge_logs")[0][0]
            time.sleep(0.1)
        assert seen > 0
        env = {**os.environ, "LOGANALYZE_LOCK_TIMEOUT": "60"}
        for command in (["report", "--format", "json", "--last", "1h"],
                        ["query", "SELECT count(*) AS n FROM edge_logs", "--format", "json"]):
            done = subprocess.run([sys.executable, "-m", "loganalyze", *command, "--db", str(server.db)],
                                  capture_output=True, text=True, env=env, timeout=300)
            assert done.returncode == 0, done.stderr
            assert "lock" not in done.stderr.lower()
            json.loads(done.stdout)
    finally:
        stop.set()
        sender.join()
    server.stop()
    assert statuses and set(statuses) == {200}
    assert read_db(server.db, "SELECT count(*) FROM edge_logs") == [(len(edge),)]


def test_a_reader_holding_the_database_fills_the_spool_then_backpressure(tmp_path: Path) -> None:
    server = Server(tmp_path, tmp_path / "drain.duckdb", "--max-backlog", "1").start()
    edge = drain_lines("edge_logs")[:1000]
    bodies = [as_array(edge[i:i + 100]) for i in range(0, len(edge), 100)]  # ~220 kB each
    try:
        reader = connect(server.db, read_only=True)  # holds the file: no commit can happen
        try:
            answers = [server.post("/drains/supabase", body, BEARER) for body in bodies]
            deadline = time.monotonic() + 30
            while True:  # the committer's next tick finds the database held
                health = server.get("/healthz")[1]
                if health["waiting_for_db_s"] is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        finally:
            reader.close()
        statuses = [status for status, _, _ in answers]
        assert statuses[:4] == [200] * 4
        assert 503 in statuses
        refused = [headers for status, _, headers in answers if status == 503]
        assert all(int(h["Retry-After"]) >= 1 for h in refused)
        assert health["stored_rows"] == 0 and health["backlog_bytes"] >= 1 << 20
        assert health["waiting_for_db_s"] is not None
        # the reader is gone: the backlog drains and refused batches are taken again
        deadline = time.monotonic() + 60
        while server.get("/healthz")[1]["backlog_bytes"] and time.monotonic() < deadline:
            time.sleep(0.1)
        for i, status in enumerate(statuses):
            if status != 200:
                assert server.post("/drains/supabase", bodies[i], BEARER)[0] == 200
        log = server.stop()
    finally:
        if server.proc and server.proc.poll() is None:
            server.kill()
    assert "database busy" in log
    assert read_db(server.db, "SELECT count(*), count(DISTINCT id) FROM edge_logs") == [(1000, 1000)]


def test_memory_budget_refuses_with_429_while_a_body_is_in_flight(tmp_path: Path) -> None:
    import socket

    server = Server(tmp_path, tmp_path / "drain.duckdb", "--max-body", "1", "--max-inflight", "1").start()
    body = as_array(drain_lines("edge_logs")[:400])[:700_000]
    port = int(server.url.rsplit(":", 1)[1])
    try:
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(
            b"POST /drains/supabase HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
            + SUPABASE_SECRET.encode() + b"\r\nContent-Type: application/json\r\n"
            + b"Content-Length: %d\r\n\r\n" % len(body) + body[:1000]
        )
        deadline = time.monotonic() + 30
        while True:  # the slow body holds 700 kB of the 1 MiB budget
            status, answer, headers = server.post("/drains/supabase", body, BEARER)
            if status == 429 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert status == 429 and int(headers["Retry-After"]) >= 1
        slow.sendall(body[1000:])
        reply = slow.recv(65536)
        slow.close()
        assert reply.startswith(b"HTTP/1.1 400")  # the body was cut at 700 kB: malformed
        assert server.post("/drains/supabase", as_array(drain_lines("edge_logs")[:10]), BEARER)[0] == 200
        server.stop()
    finally:
        if server.proc and server.proc.poll() is None:
            server.kill()


def test_sigterm_commits_what_was_accepted(tmp_path: Path) -> None:
    server = Server(tmp_path, tmp_path / "drain.duckdb", "--commit-every", "600",
                    "--status-every", "0.2").start()
    try:
        edge = drain_lines("edge_logs")[:100]
        assert server.post("/drains/supabase", as_array(edge), BEARER)[0] == 200
        assert read_db(server.db, "SELECT count(*) FROM edge_logs") == [(0,)]  # not yet committed
        time.sleep(0.5)
        log = server.stop()
    finally:
        if server.proc and server.proc.poll() is None:
            server.kill()
    assert read_db(server.db, "SELECT count(*) FROM edge_logs") == [(100,)]
    # the periodic status line, and the last one after the final commit
    assert "accepted 100 · stored 0 " in log
    assert log.rstrip().splitlines()[-1].startswith("0 ev/s · accepted 100 · stored 100 (dup 0)")


def test_a_public_address_without_secrets_does_not_start(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loganalyze", "serve", "--db", str(tmp_path / "x.duckdb"),
         "--host", "0.0.0.0", "--port", "0"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert "without a secret" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x.duckdb").exists()
