"""A local stand-in for the Management API logs endpoint that runs the received SQL on
real ClickHouse (chDB, in process), with the service's known failures on demand.

    with FakeLogsApi(project="abcdefghijklmnopqrst", token="sbp_test") as api:
        api.load_envelopes("synth-out/logs.clickhouse.*.json")
        api.faults = Faults(rate_limit_every=3, retry_after=0.05)
        pull(con, api.project, api.token, options=PullOptions(api_url=api.url))

The contract it implements (../shared/formats.md §2.2):
`GET /v1/projects/{ref}/analytics/endpoints/logs?sql=…&iso_timestamp_start=…&iso_timestamp_end=…`
with `Authorization: Bearer <token>`; at most 24 h per request; the answer is
`{"result": [rows], "error": null}`. The SQL sees one table `logs` (`id`, `timestamp`
DateTime64(6, 'UTC'), `event_message`, `severity_text`, `source`, `log_attributes`
Map(String, String)) restricted to the request's time range, as the service does. SQL
that ClickHouse rejects answers HTTP 400 with ClickHouse's message, so a client sending
invalid ClickHouse fails loudly. `logs.all` answers 410 (retired), another project 404.

It is meant to serve other ClickHouse-SQL clients too (a push-down query engine): any
SELECT over `logs` runs as sent.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

BACKEND_ERROR = "Backend error! Retry your query. Please contact support if this continues."
MAX_RANGE = timedelta(hours=24)

TABLE_DDL = (
    "CREATE TABLE {name} (id String, timestamp DateTime64(6, 'UTC'), event_message String, "
    "severity_text String, source LowCardinality(String), log_attributes Map(String, String)) "
    "ENGINE = MergeTree ORDER BY (source, timestamp, id)"
)


@dataclass
class Faults:
    """Failures to inject; counters are per server and count every request."""

    status: int | None = None
    """Every request answers this HTTP status (401, 402, 403, 404, 410, 500…)."""
    rate_limit_every: int = 0
    """Every Nth request answers 429 — unless it repeats a query that was already
    answered 429 (a retry after waiting goes through): counted in requests, not in
    seconds, so the faults are the same on a fast machine and a slow one."""
    retry_after: float | None = None
    """Retry-After seconds sent with those 429s (None: no header)."""
    backend_errors: int = 0
    """The first N requests answer HTTP 200 with {"result": null, "error": BACKEND_ERROR}."""
    server_errors: int = 0
    """The first N requests answer HTTP 503."""
    drop_every: int = 0
    """Every Nth request: the connection is closed without an answer."""
    row_cap: int | None = None
    """Row answers are cut at this many rows whatever the LIMIT (an undocumented cap)."""
    empty_first: int = 0
    """The first N row queries answer {"result": [], "error": null} (and rows later)."""
    count_extra: int = 0
    """count() answers this many rows more than the rows queries can see (a slice that
    never confirms)."""
    count_extra_source: str | None = None
    """Only for this source (None: every source)."""
    delay: float = 0.0
    """Seconds every answer takes, after the first `delay_after` requests."""
    delay_after: int = 0


@dataclass
class Served:
    kind: str  # rows | count | other
    sql: str
    start: str
    end: str
    status: int
    rows: int = 0


@dataclass
class FakeLogsApi:
    project: str = "abcdefghijklmnopqrst"
    token: str = "sbp_0123456789abcdef0123456789abcdef01234567"
    faults: Faults = field(default_factory=Faults)
    hide_after: datetime | None = None
    """Rows with a later timestamp are not visible yet (ingestion lag)."""
    served: list[Served] = field(default_factory=list)

    def __post_init__(self) -> None:
        from chdb import session

        self._session = session.Session()
        # chDB keeps one engine per process: every server gets a table of its own
        self.table = "stored_logs_" + uuid.uuid4().hex[:12]
        self._session.query(TABLE_DDL.format(name=self.table))
        self._lock = threading.Lock()  # one chDB query at a time
        self._count_lock = threading.Lock()
        self._requests = 0
        self._row_queries = 0
        self._limited: set[tuple[str, ...]] = set()
        self._server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------ data
    def load_envelopes(self, pattern: str) -> int:
        """Load API envelope files (`synth -f clickhouse` output) matching a glob."""
        escaped = pattern.replace("\\", "\\\\").replace("'", "\\'")
        self.sql(
            "INSERT INTO " + self.table + " SELECT JSONExtractString(r, 'id'), "
            "parseDateTime64BestEffort(JSONExtractString(r, 'timestamp'), 6, 'UTC'), "
            "JSONExtractString(r, 'event_message'), JSONExtractString(r, 'severity_text'), "
            "JSONExtractString(r, 'source'), JSONExtract(r, 'log_attributes', 'Map(String, String)') "
            "FROM (SELECT arrayJoin(JSONExtractArrayRaw(json, 'result')) AS r "
            f"FROM file('{escaped}', 'JSONAsString'))"
        )
        return self.count()

    def replicate(self, times: int, shift: timedelta) -> int:
        """Make the stored rows `times` times as many: copy k is shifted k * `shift` later
        and its ids suffixed, so every copy is a distinct row (benchmarks at scale)."""
        seconds = int(shift.total_seconds())
        self.sql(
            f"INSERT INTO {self.table} SELECT concat(id, '-', toString(k)), "
            f"timestamp + toIntervalSecond(k * {seconds}), event_message, severity_text, "
            f"source, log_attributes FROM {self.table}, "
            f"(SELECT number AS k FROM numbers(1, {int(times) - 1})) AS copies"
        )
        return self.count()

    def count(self, where: str = "1") -> int:
        out = self.sql(f"SELECT count() FROM {self.table} WHERE {where}", "CSV")
        return int(out.strip())

    def sql(self, query: str, fmt: str = "CSV") -> str:
        with self._lock:
            return self._session.query(query, fmt).bytes().decode()

    # ------------------------------------------------------------------ server
    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        api = self

        class Handler(_Handler):
            owner = api

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def close(self) -> None:
        self.stop()
        try:
            self._session.query("DROP TABLE IF EXISTS " + self.table)
        finally:
            # chDB runs one embedded engine per process, kept while any session is open:
            # a store on disk (`--chdb-path`) can only be opened once every in-memory
            # session is closed
            self._session.close()

    def __enter__(self) -> FakeLogsApi:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _first_limit(self, *query: str) -> bool:
        with self._count_lock:
            if query in self._limited:
                return False
            self._limited.add(query)
            return True

    def reset(self) -> None:
        """No faults, nothing hidden, counters and the request log cleared."""
        with self._count_lock:
            self.faults = Faults()
            self.hide_after = None
            self.served = []
            self._requests = 0
            self._row_queries = 0
            self._limited = set()

    def requests_served(self) -> int:
        with self._count_lock:
            return self._requests

    # ------------------------------------------------------------------ answers
    def answer(self, path: str, query: dict[str, list[str]], auth: str | None) -> tuple[int, dict[str, str], bytes | None]:
        """(status, headers, body); body None = drop the connection."""
        with self._count_lock:
            self._requests += 1
            number = self._requests
        sql = (query.get("sql") or [""])[0]
        start = (query.get("iso_timestamp_start") or [""])[0]
        end = (query.get("iso_timestamp_end") or [""])[0]
        kind = "count" if "count()" in sql else "rows" if sql else "other"
        status, headers, body = self._answer(number, path, sql, start, end, auth, kind)
        rows = body.count(b'"id":') if body and kind == "rows" and status == 200 else 0
        with self._count_lock:
            self.served.append(Served(kind, sql, start, end, status if body is not None else 0, rows))
        return status, headers, body

    def _answer(self, number: int, path: str, sql: str, start: str, end: str,
                auth: str | None, kind: str) -> tuple[int, dict[str, str], bytes | None]:
        f = self.faults
        if f.delay and number > f.delay_after:
            time.sleep(f.delay)
        if f.status is not None:
            return f.status, {}, _json({"message": f"status {f.status}"})
        if f.drop_every and number % f.drop_every == 0:
            return 0, {}, None
        if auth != "Bearer " + self.token:
            return 401, {}, _json({"message": "Unauthorized"})
        parts = path.strip("/").split("/")
        if len(parts) != 6 or parts[:2] != ["v1", "projects"] or parts[3:5] != ["analytics", "endpoints"]:
            return 404, {}, _json({"message": "Cannot GET " + path})
        if parts[5] == "logs.all":
            return 410, {}, _json({"message": "This endpoint has been retired"})
        if parts[5] != "logs":
            return 404, {}, _json({"message": "Cannot GET " + path})
        if parts[2] != self.project:
            return 404, {}, _json({"message": "Project not found"})
        if f.rate_limit_every and number % f.rate_limit_every == 0 and self._first_limit(sql, start, end):
            headers = {} if f.retry_after is None else {"Retry-After": f"{f.retry_after:g}"}
            return 429, headers, _json({"message": "Too many requests"})
        if number <= f.server_errors:
            return 503, {}, b"Service Unavailable"
        if number <= f.backend_errors:
            return 200, {}, _json({"result": None, "error": BACKEND_ERROR})
        try:
            lo, hi = _instant(start), _instant(end)
        except ValueError as exc:
            return 400, {}, _json({"result": None, "error": f"bad iso_timestamp: {exc}"})
        if hi - lo > MAX_RANGE:
            return 400, {}, _json({"result": None, "error": "range is longer than 24 hours"})
        if kind == "rows":
            with self._count_lock:
                self._row_queries += 1
                empty = self._row_queries <= f.empty_first
            if empty:
                return 200, {}, _json({"result": [], "error": None})
        visible = f"timestamp >= {_ch_time(lo)} AND timestamp <= {_ch_time(hi)}"
        if self.hide_after is not None:
            visible += f" AND timestamp <= {_ch_time(self.hide_after)}"
        text = sql.strip().rstrip(";")
        scoped = f"WITH logs AS (SELECT * FROM {self.table} WHERE {visible}) "
        if text[:5].upper() == "WITH ":
            scoped = scoped[:-1] + ", " + text[5:]
        else:
            scoped += text
        try:
            with self._lock:
                out = self._session.query(scoped, "JSONEachRow").bytes()
        except Exception as exc:  # ClickHouse's own message, as the service would relay it
            return 400, {}, _json({"result": None, "error": str(exc)[:2000]})
        out = out.rstrip(b"\n")
        if kind == "count" and f.count_extra and (
            f.count_extra_source is None or f"'{f.count_extra_source}'" in sql
        ):
            answer = json.loads(out)
            answer = {k: int(v) + f.count_extra for k, v in answer.items()}
            out = json.dumps(answer).encode()
        if f.row_cap is not None and kind == "rows":
            out = _first_lines(out, f.row_cap)
        return 200, {}, b'{"result":[' + out.replace(b"\n", b",") + b'],"error":null}'


class _Handler(BaseHTTPRequestHandler):
    owner: FakeLogsApi
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        split = urlsplit(self.path)
        status, headers, body = self.owner.answer(
            split.path, parse_qs(split.query), self.headers.get("Authorization")
        )
        if body is None:
            self.close_connection = True
            self.connection.close()
            return
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # quiet: the test output is the assertions


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ch_time(value: datetime) -> str:
    return "toDateTime64('" + value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + "', 6, 'UTC')"


def _first_lines(data: bytes, n: int) -> bytes:
    at = -1
    for _ in range(n):
        at = data.find(b"\n", at + 1)
        if at < 0:
            return data
    return data[:at]


def main() -> None:
    """Serve from another process (benchmarks: the client then has its own interpreter):
    prints the base URL, the project and the row count as one JSON line, serves until
    stdin closes."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--load", required=True, help="glob of API envelope files")
    parser.add_argument("--replicate", type=int, default=1)
    parser.add_argument("--shift-minutes", type=int, default=60)
    args = parser.parse_args()
    with FakeLogsApi() as api:
        api.load_envelopes(args.load)
        rows = api.replicate(args.replicate, timedelta(minutes=args.shift_minutes)) \
            if args.replicate > 1 else api.count()
        print(json.dumps({"url": api.url, "project": api.project, "token": api.token,
                          "rows": rows}), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
