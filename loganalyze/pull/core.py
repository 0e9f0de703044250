"""`pull`: the rows of a hosted project's sources over a time range, complete by
construction, into the store.

Slices (one source, at most 24 h) are read in parallel worker threads: pages in
`(timestamp, id)` order continued by keyset, each answer inspected by DuckDB (row count,
last key, error) and its rows appended to the slice's file one JSON object per line,
without a Python loop over rows. A slice is done when its rows match a `count()` of the same slice;
otherwise it is read again, and reported incomplete if the counts never agree. The
main thread ingests each finished slice through the hosted-rows reader (same
normalization and rejected rows as `loganalyze ingest`) and records it in the ledger.
"""

from __future__ import annotations

import itertools
import json
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from ..errors import LogAnalyzeError, UsageError
from ..exit_codes import ExitCode
from ..ingest import IngestSummary, ingest
from ..ingest.supabase_hosted import HOSTED_TABLES
from ..timeparse import parse_instant
from . import ledger
from .client import ClientStats, LogsClient, TimeBudgetSpent, check_project_ref
from .retry import Deadline, RetryPolicy, Throttle
from .slicing import Key, Slice, count_sql, iso, parse_row_time, plan_slices, rows_sql, subtract

ProgressCallback = Callable[["PullProgress"], None]


@dataclass(frozen=True)
class PullOptions:
    sources: tuple[str, ...] | None = None
    """Sources to pull (default: every hosted source the store has a table for)."""
    slice_length: timedelta = timedelta(hours=1)
    page_rows: int = 10_000
    """Rows asked for per request (LIMIT); a service answering fewer is continued."""
    concurrency: int = 2
    """Requests in flight at most; lowered while the service answers 429."""
    lag: timedelta = timedelta(minutes=5)
    """Ingestion lag: the last minutes before a pull are fetched again by the next one."""
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    api_url: str | None = None
    timeout: float = 120.0
    """Seconds one request may take."""


@dataclass
class SliceResult:
    slice: Slice
    rows: int = 0
    """Rows read for the slice (in the read that decided its state)."""
    counted: int | None = None
    """Rows the service's count() reported for the slice."""
    verified: bool = False
    reason: str | None = None
    """Why the slice is incomplete."""
    pages: list[Path] = field(default_factory=list)
    pulled_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class PullProgress:
    slices_done: int
    slices_total: int
    rows: int


@dataclass
class PullSummary:
    project: str
    start: datetime
    end: datetime
    sources: tuple[str, ...]
    slices: list[SliceResult] = field(default_factory=list)
    skipped: dict[str, list[tuple[datetime, datetime]]] = field(default_factory=dict)
    """Per source, the parts of the range the ledger already had."""
    ingest: IngestSummary = field(default_factory=IngestSummary)
    stats: ClientStats = field(default_factory=ClientStats)
    lowest_concurrency: int = 0
    seconds: float = 0.0

    @property
    def incomplete(self) -> list[SliceResult]:
        return sorted((s for s in self.slices if not s.verified), key=lambda s: s.slice)

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.slices)

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "start": iso(self.start),
            "end": iso(self.end),
            "sources": list(self.sources),
            "complete": not self.incomplete,
            "rows_read": self.rows,
            "slices": len(self.slices),
            "incomplete": [
                {"source": s.slice.source, "start": iso(s.slice.start), "end": iso(s.slice.end),
                 "rows": s.rows, "counted": s.counted, "reason": s.reason}
                for s in self.incomplete
            ],
            "already_pulled": {
                src: [[iso(lo), iso(hi)] for lo, hi in spans]
                for src, spans in self.skipped.items() if spans
            },
            "requests": self.stats.requests,
            "retries": self.stats.retries,
            "throttled": self.stats.throttled,
            "seconds": round(self.seconds, 3),
            "ingest": self.ingest.to_dict(),
        }


def resolve_sources(sources: tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if not sources:
        return HOSTED_TABLES
    unknown = [s for s in sources if s not in HOSTED_TABLES]
    if unknown:
        raise UsageError(
            "unknown source " + ", ".join(repr(s) for s in unknown),
            hint="sources: " + ", ".join(HOSTED_TABLES),
        )
    return tuple(dict.fromkeys(sources))


def pull(
    con: duckdb.DuckDBPyConnection,
    project: str,
    token: str,
    *,
    since: str | datetime | timedelta = "2h",
    until: str | datetime | timedelta | None = None,
    options: PullOptions | None = None,
    progress: ProgressCallback | None = None,
    now: datetime | None = None,
) -> PullSummary:
    """Pull `project`'s logs over `[since, until)` (until: now) into `con`.

    Returns the summary; incomplete slices are listed in `summary.incomplete` (their
    rows are kept). Raises PullError for refusals a user must act on (bad token,
    missing permission, unknown project, plan, moved endpoint)."""
    options = options or PullOptions()
    check_project_ref(project)
    sources = resolve_sources(options.sources)
    clock = now or datetime.now(UTC)
    start = parse_instant(since, now=clock)
    end = parse_instant(until, now=clock) if until is not None else clock
    if start >= end:
        raise UsageError(
            f"empty time range: {iso(start)} is not before {iso(end)}",
            hint="--since must be earlier than --until",
        )
    if options.page_rows < 1 or options.concurrency < 1:
        raise UsageError("page size and concurrency must be at least 1")
    started = time.perf_counter()
    ledger.ensure(con)
    summary = PullSummary(project, start, end, sources)
    missing: dict[str, list[tuple[datetime, datetime]]] = {}
    for source in sources:
        have = ledger.covered(con, project, source)
        missing[source] = subtract((start, end), have)
        summary.skipped[source] = subtract((start, end), missing[source])
    slices = plan_slices(list(sources), missing, options.slice_length)
    throttle = Throttle(options.concurrency)
    client = LogsClient(
        project, token, base_url=options.api_url, policy=options.policy, throttle=throttle,
        deadline=Deadline(options.policy.total), timeout=options.timeout,
    )
    summary.stats = client.stats
    fatal: LogAnalyzeError | None = None
    rows_done = 0
    try:
        with (
            tempfile.TemporaryDirectory(prefix="loganalyze-pull-") as tmp,
            ThreadPoolExecutor(max_workers=options.concurrency) as pool,
        ):
            reader = _SliceReader(client, Path(tmp), options)
            pending: set[Future[SliceResult]] = {pool.submit(reader.read, s) for s in slices}
            if progress:
                progress(PullProgress(0, len(slices), 0))
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    if future.cancelled():
                        continue
                    try:
                        result = future.result()
                    except LogAnalyzeError as exc:
                        if fatal is None:
                            fatal = exc
                            client.stop()
                            for other in pending:
                                other.cancel()
                        continue
                    _store(con, project, result, options.lag, summary)
                    rows_done += result.rows
                    if progress:
                        progress(PullProgress(len(summary.slices), len(slices), rows_done))
    finally:
        client.close()
        summary.lowest_concurrency = throttle.lowest
        summary.seconds = time.perf_counter() - started
    if fatal is not None:
        raise fatal
    return summary


def _store(
    con: duckdb.DuckDBPyConnection,
    project: str,
    result: SliceResult,
    lag: timedelta,
    summary: PullSummary,
) -> None:
    """Ingest one slice's pages and record it; a kill between the two only costs a
    re-read of the slice (its rows dedupe by id)."""
    if result.pages:
        ingested = ingest(result.pages, con, fmt="supabase-ndjson")
        summary.ingest.files.extend(ingested.files)
        summary.ingest.seconds += ingested.seconds
        for page in result.pages:
            page.unlink(missing_ok=True)
    settled = min(result.slice.end, result.pulled_at - lag)
    ledger.record(
        con, project, result.slice, rows=result.rows, counted=result.counted,
        verified=result.verified, pulled_at=result.pulled_at, settled_until=settled,
    )
    summary.slices.append(result)


@dataclass(frozen=True)
class _Page:
    rows: int
    last: Key | None
    lines: str
    """The page's rows, one JSON object per line."""


class _ServiceError(Exception):
    """HTTP 200 whose body carries an error (or no result) instead of rows."""


class _SliceReader:
    """Reads slices in worker threads; each thread inspects pages with its own DuckDB."""

    def __init__(self, client: LogsClient, workdir: Path, options: PullOptions) -> None:
        self.client = client
        self.workdir = workdir
        self.options = options
        self.policy = options.policy
        self._numbers = itertools.count(1)
        self._local = threading.local()

    def read(self, piece: Slice) -> SliceResult:
        result = SliceResult(piece)
        kept: list[Path] = []
        """Pages of every read of the slice: an incomplete slice keeps all it got."""
        try:
            for attempt in range(1, self.policy.verify_attempts + 1):
                result.pulled_at = datetime.now(UTC)
                current: list[Path] = []
                fetched, counted = self._read_once(piece, current, kept)
                result.rows, result.counted = fetched, counted
                if fetched == counted:
                    # Earlier reads hold a subset of these rows: drop them.
                    for page in kept:
                        if page not in current:
                            page.unlink(missing_ok=True)
                    result.pages, result.verified, result.reason = current, True, None
                    return result
                result.reason = f"read {fetched:,} rows where the service counts {counted:,}"
                if attempt < self.policy.verify_attempts:
                    self.client.sleep(self.policy.delay(attempt))
        except TimeBudgetSpent:
            result.reason = "the time budget (--max-time) ran out"
        result.pages = kept
        return result

    def _read_once(self, piece: Slice, current: list[Path], kept: list[Path]) -> tuple[int, int]:
        """Pages until the service says the slice is read: (rows, count()). The read's rows
        go to one file, one JSON object per line: the store's reader takes them faster
        that way than out of one large envelope object per page."""
        fetched = 0
        after: Key | None = None
        full = self.options.page_rows
        out = None
        try:
            while True:
                page = self._page(piece, after)
                if page.rows:
                    if out is None:
                        path = self.workdir / f"{piece.source}-{next(self._numbers):06d}.ndjson"
                        current.append(path)
                        kept.append(path)
                        out = path.open("w", encoding="utf-8")
                    out.write(page.lines)
                    out.write("\n")
                    out.flush()
                fetched += page.rows
                if page.last is not None:
                    after = page.last
                if page.rows >= full:
                    continue
                counted = self._count(piece)
                if fetched >= counted or page.rows == 0:
                    return fetched, counted
                # Fewer rows than asked for and fewer than the slice holds: the service
                # cut the answer at a cap of its own. Go on after the last row, taking a
                # page of that size as full from now on.
                full = page.rows
        finally:
            if out is not None:
                out.close()

    def _page(self, piece: Slice, after: Key | None) -> _Page:
        sql = rows_sql(piece, after, self.options.page_rows)
        attempt = 0
        while True:
            attempt += 1
            body = self.client.get(sql, piece.start, piece.end)
            answer = self.workdir / f"answer-{next(self._numbers):06d}.json"
            answer.write_bytes(body)
            try:
                return self._inspect(answer)
            except _ServiceError as exc:
                self._retry_or_fail(attempt, str(exc))
            finally:
                answer.unlink(missing_ok=True)

    def _count(self, piece: Slice) -> int:
        sql = count_sql(piece)
        attempt = 0
        while True:
            attempt += 1
            body = self.client.get(sql, piece.start, piece.end)
            try:
                answer = json.loads(body)
                error = answer.get("error")
                if error not in (None, ""):
                    raise _ServiceError(_error_text(error))
                return int(answer["result"][0]["rows"])
            except _ServiceError as exc:
                self._retry_or_fail(attempt, str(exc))
            except (ValueError, KeyError, IndexError, TypeError, AttributeError):
                self._retry_or_fail(attempt, "an answer without a row count")

    def _retry_or_fail(self, attempt: int, problem: str) -> None:
        from .client import PullError

        if attempt >= self.policy.attempts:
            raise PullError(
                f"the logs endpoint kept answering with an error: {problem[:300]}",
                hint="try again later (Supabase answers 'Backend error! Retry your query' "
                "while it is overloaded)",
            )
        self.client.stats.add(retries=1)
        self.client.sleep(self.policy.delay(attempt))

    def _inspect(self, path: Path) -> _Page:
        """Rows, last key and the rows as JSON lines of an answer, in one DuckDB pass."""
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = duckdb.connect()
            con.execute("SET threads = 1")
        try:
            row = con.execute(
                "SELECT json_type(json, '$.result'), json_array_length(json, '$.result'), "
                "json_extract_string(json, '$.result[#-1].timestamp'), "
                "json_extract_string(json, '$.result[#-1].id'), "
                "json_type(json, '$.error'), CAST(json_extract(json, '$.error') AS VARCHAR), "
                "array_to_string(CAST(json_extract(json, '$.result[*]') AS VARCHAR[]), chr(10)) "
                "FROM read_json_objects($path, format = 'auto', maximum_object_size = $size)",
                {"path": str(path), "size": path.stat().st_size + 1},
            ).fetchone()
        except duckdb.Error as exc:
            raise _ServiceError("an answer that is not JSON: " + str(exc).splitlines()[0]) from None
        if row is None:
            raise _ServiceError("an empty answer")
        kind, rows, last_ts, last_id, error_kind, error, lines = row
        if error_kind not in (None, "NULL") and error not in ('""', None):
            raise _ServiceError(_error_text(json.loads(error)))
        if kind != "ARRAY":
            raise _ServiceError("an answer without a result")
        if not rows:
            return _Page(0, None, "")
        if last_ts is None or last_id is None:
            raise _ServiceError("rows without timestamp or id (cannot continue after them)")
        try:
            return _Page(int(rows), Key(parse_row_time(last_ts), last_id), lines)
        except ValueError:
            raise _ServiceError(f"a row timestamp that is not a time: {last_ts[:40]!r}") from None


def _error_text(error: object) -> str:
    if isinstance(error, str):
        return error
    return json.dumps(error)[:300]



class PullIncomplete(LogAnalyzeError):
    """Some slices could not be confirmed complete (what was fetched is kept)."""

    exit_code = ExitCode.INCOMPLETE


def incomplete_error(summary: PullSummary) -> PullIncomplete:
    missing = summary.incomplete
    listed = "; ".join(f"{s.slice.describe()}: {s.reason}" for s in missing[:5])
    more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
    return PullIncomplete(
        f"{len(missing)} slice(s) of project {summary.project} are incomplete: {listed}{more}",
        hint="the rows fetched are kept; run the same pull again later to fetch only what "
        "is missing (raise --max-time if the time budget ran out)",
    )
