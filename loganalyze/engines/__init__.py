"""Where the detectors run: DuckDB (embedded, the default), chDB (ClickHouse in this
process), a ClickHouse server or cluster. docs/scale-out.md says what runs where.

An engine holds the normalized tables and runs a detector's SQL → the same frame DuckDB
gives; everything a result means (Finding, metric kinds, caveats, inputs) stays in
analysis.py and findings.py. `EngineAnalysis` is an `Analysis` whose detectors, input
counts and data span are read from the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import polars as pl

from ..analysis import DEFAULT_WINDOW, Analysis
from ..detectors import DetectorSpec, execute, get_detector, list_detectors
from ..errors import DetectorError, UsageError
from ..findings import Finding

ENGINES = ("duckdb", "chdb", "clickhouse", "supabase")
ENGINE_HELP = {
    "duckdb": "embedded DuckDB (default): every detector",
    "chdb": "ClickHouse in this process (chDB), loaded from the DuckDB database",
    "clickhouse": "a ClickHouse server or cluster (--clickhouse-url), tables made by `loganalyze init`",
    "supabase": "pushed down to a hosted project's own log store (--project REF): only findings travel",
}


@runtime_checkable
class Engine(Protocol):
    """What the analysis layer needs from an engine."""

    name: str

    def supports(self, spec: DetectorSpec) -> bool: ...
    def unsupported_reason(self, spec: DetectorSpec) -> str | None: ...
    def run(self, spec: DetectorSpec, bound: dict[str, object]) -> pl.DataFrame: ...
    def execute(self, sql: str, params: dict[str, object] | None = None) -> Any: ...
    def close(self) -> None: ...


class DuckDBEngine:
    """Today's path: the detectors' own SQL on a DuckDB connection."""

    name = "duckdb"

    def __init__(self, con) -> None:
        self.con = con

    def supports(self, spec: DetectorSpec) -> bool:
        return True

    def unsupported_reason(self, spec: DetectorSpec) -> str | None:
        return None

    def run(self, spec: DetectorSpec, bound: dict[str, object]) -> pl.DataFrame:
        return execute(self.con, spec, bound)

    def execute(self, sql: str, params: dict[str, object] | None = None) -> Any:
        return self.con.execute(sql, params or {})

    def frame(self, sql: str, params: dict[str, object] | None = None) -> pl.DataFrame:
        cursor = self.con.cursor()  # the caller's connection may hold an unfinished result
        try:
            return cursor.sql(sql, params=params or {}).pl()
        finally:
            cursor.close()

    def close(self) -> None:
        """The connection belongs to the caller."""


class UnsupportedOnEngine(DetectorError):
    """A detector the engine cannot run (`loganalyze detectors --engine X` says why)."""

    def __init__(self, detector: str, engine: str, reason: str) -> None:
        super().__init__(
            f"detector {detector} is not supported on engine {engine}: {reason}",
            hint=f"`loganalyze detectors --engine {engine}` lists what runs there",
        )
        self.detector, self.engine, self.reason = detector, engine, reason


def check_engine(name: str) -> str:
    if name not in ENGINES:
        raise UsageError(f"unknown engine {name!r}", hint="use one of: " + ", ".join(ENGINES))
    return name


def open_engine(
    name: str, con=None, *, url: str | None = None, chdb_path: str | None = None,
    **supabase: Any,
) -> Engine:
    """An engine holding the data: `duckdb` is `con` itself; `chdb` is the chDB store at
    `chdb_path` (filled by `loganalyze ingest --engine chdb`), else a fresh in-process
    ClickHouse loaded from `con` (in Arrow batches); `clickhouse` is the server at `url`,
    whose tables already hold the data."""
    check_engine(name)
    if name == "duckdb":
        if con is None:
            raise UsageError("--engine duckdb needs a database")
        return DuckDBEngine(con)
    if name == "chdb":
        from .clickhouse import chdb_engine

        if chdb_path:
            return chdb_engine(chdb_path)
        if con is None:
            raise UsageError("--engine chdb loads the DuckDB database (--db or log PATHs)")
        engine = chdb_engine()
        try:
            engine.copy_from_duckdb(con)
        except BaseException:
            engine.close()
            raise
        return engine
    if name == "supabase":  # project, since, until[, token, api_url]: supabase.open_supabase
        from .supabase import open_supabase

        return open_supabase(**supabase)
    if not url:
        raise UsageError(
            "--engine clickhouse needs --clickhouse-url",
            hint="e.g. --clickhouse-url http://default:@localhost:8123/default",
        )
    from .clickhouse import server_engine

    return server_engine(url)


def init_engine(
    name: str, *, db=None, url: str | None = None, chdb_path: str | None = None
) -> str:
    """Create the normalized tables on an engine → where they are. duckdb: the database
    file (`--db`, else $LOGANALYZE_DB, else ./loganalyze.duckdb); chdb: a chDB store at
    `chdb_path`; clickhouse: the server at `url` (CREATE TABLE IF NOT EXISTS: an existing
    table is left as it is)."""
    check_engine(name)
    if name == "duckdb":
        from ..store import connect, resolve_db_path

        target = resolve_db_path(db, have_paths=False)
        connect(target).close()
        return target
    if name == "chdb":
        if not chdb_path:
            raise UsageError(
                "--engine chdb needs --chdb-path DIR for tables that outlive this process",
                hint="`loganalyze run NAME --engine chdb` loads the DuckDB database by itself",
            )
        from .clickhouse import chdb_engine

        chdb_engine(chdb_path).close()
        return chdb_path
    engine = open_engine(name, url=url)
    try:
        engine.create_tables()  # type: ignore[attr-defined]
    finally:
        engine.close()
    return str(url)


def support_table(engine_name: str) -> list[tuple[DetectorSpec, str | None]]:
    """Every detector with why it cannot run on `engine_name` (None = it runs there)."""
    check_engine(engine_name)
    if engine_name == "duckdb":
        return [(spec, None) for spec in list_detectors()]
    if engine_name == "supabase":
        from .supabase import support_table as pushed_down

        return pushed_down()
    from .clickhouse import UNSUPPORTED_REASON, supported

    return [(s, None if supported(s.name) else UNSUPPORTED_REASON) for s in list_detectors()]


def require_support(engine_name: str, detector: str) -> None:
    """Refuse a detector the engine cannot run, before any data is moved."""
    spec = get_detector(detector)
    for listed, reason in support_table(engine_name):
        if listed.name == spec.name and reason:
            raise UnsupportedOnEngine(spec.name, engine_name, reason)


class EngineAnalysis(Analysis):
    """An `Analysis` on an engine: the range, input counts and detectors all read the
    engine's tables. A detector the engine cannot run raises `UnsupportedOnEngine`, or,
    with `mark_unsupported` (report, check), gives an empty `Finding` whose `missing`
    names the engine and the reason — listed as not judged, never silently absent."""

    def __init__(self, engine: Engine, *, mark_unsupported: bool = False, **kwargs: Any) -> None:
        super().__init__(engine if not isinstance(engine, DuckDBEngine) else engine.con, **kwargs)
        self.engine = engine
        self.mark_unsupported = mark_unsupported

    def unsupported(self, name: str | DetectorSpec) -> str | None:
        """Why the engine cannot run detector `name`, or None."""
        spec = name if isinstance(name, DetectorSpec) else get_detector(name)
        return self.engine.unsupported_reason(spec)

    def finding(self, name: str | DetectorSpec, **kwargs: Any) -> Finding:
        spec = name if isinstance(name, DetectorSpec) else get_detector(name)
        reason = self.engine.unsupported_reason(spec)
        if reason is None:
            return super().finding(spec, **kwargs)
        if not self.mark_unsupported:
            raise UnsupportedOnEngine(spec.name, self.engine.name, reason)
        return Finding(
            spec,
            empty_frame(spec),
            self.time_range,
            {},
            notice=self.notice,
            missing=(unsupported_text(self.engine.name, reason),),
        )

    def examples(self, finding: Finding, limit: int = 3) -> list[tuple[datetime, str, str]]:
        """Example lines are DuckDB SQL (the detectors' `example` conditions): on another
        engine a report shows none (docs/scale-out.md)."""
        if isinstance(self.engine, DuckDBEngine):
            return super().examples(finding, limit)
        return []

    def _run(self, spec: DetectorSpec, bound: dict[str, object]) -> pl.DataFrame:
        if isinstance(self.engine, DuckDBEngine):
            return super()._run(spec, bound)
        return self.engine.run(spec, bound)


UNSUPPORTED_PREFIX = "not available on engine "


def unsupported_text(engine: str, reason: str) -> str:
    """How a report and a check name a detector the engine cannot run."""
    return f"{UNSUPPORTED_PREFIX}{engine}: {reason}"


def unsupported_in(finding: Finding) -> str | None:
    """The not-available text of a finding `EngineAnalysis` marked, else None."""
    return next((m for m in finding.missing if m.startswith(UNSUPPORTED_PREFIX)), None)


def empty_frame(spec: DetectorSpec) -> pl.DataFrame:
    """No rows, the detector's columns: times as timestamps, metrics as numbers."""
    metrics = {m.name for m in spec.metric_specs}
    schema: dict[str, pl.DataType] = {}
    for column in spec.columns:
        if column in ("window_start", "window_end"):
            schema[column] = pl.Datetime("us", "UTC")
        elif column in metrics:
            schema[column] = pl.Float64()
        else:
            schema[column] = pl.String()
    return pl.DataFrame(schema=schema)


def analysis_over(source: Any, **kwargs: Any) -> Analysis:
    """An `Analysis` over `source`: a DuckDB connection, an `Engine`, or an `Analysis`
    (returned as it is). On an engine other than DuckDB a detector it cannot run gives
    a finding marked not available (`unsupported_in`) instead of an error."""
    if isinstance(source, Analysis):
        return source
    if isinstance(source, DuckDBEngine):
        source = source.con
    if isinstance(source, Engine):
        return EngineAnalysis(source, mark_unsupported=True, **kwargs)
    return Analysis(source, **kwargs)


def detect_on(
    engine: Engine,
    name: str,
    *,
    since: str | datetime | timedelta | None = None,
    until: str | datetime | timedelta | None = None,
    last: str | timedelta | None = None,
    window: str | timedelta = DEFAULT_WINDOW,
    **params: object,
) -> Finding:
    """One detector on `engine` → its `Finding` (as `analysis.detect` on DuckDB)."""
    with EngineAnalysis(engine, since=since, until=until, last=last, window=window) as analysis:
        return analysis.finding(name, **params)


@dataclass
class EngineIngest:
    """What `ingest_to_engine` did: the DuckDB ingest's own summary (sniffing, rejected
    rows, duplicates inside this run) and where the rows went."""

    summary: Any
    engine: str
    target: str
    inserted: dict[str, int] = field(default_factory=dict)
    """Rows inserted per table."""
    already_there: dict[str, int] = field(default_factory=dict)
    """Rows per log table skipped because the table already held their id."""

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.summary.to_dict(),
            "engine": self.engine,
            "target": self.target,
            "inserted": self.inserted,
            "already_there": self.already_there,
        }


def ingest_to_engine(
    name: str,
    paths: list[Any],
    *,
    url: str | None = None,
    chdb_path: str | None = None,
    memory_limit: str | None = None,
    **ingest_options: Any,
) -> EngineIngest:
    """Ingest log exports into ClickHouse (`clickhouse`: the server at `url`; `chdb`: the
    store at `chdb_path`). The files are read as `loganalyze ingest` reads them, into a
    temporary in-memory DuckDB (sniffing, rejected rows, dedup inside the run), then the
    normalized rows go to the engine in Arrow batches, skipping rows whose id the table
    already holds (`ClickHouseEngine.load_from_duckdb`). A file that cannot be read fails
    before the engine is touched."""
    check_engine(name)
    if name not in ("chdb", "clickhouse"):
        raise UsageError(
            f"ingest writes to duckdb, chdb or clickhouse, not {name}",
            hint="DuckDB: `loganalyze ingest PATHS --db FILE` (la.ingest)",
        )
    if name == "chdb" and not chdb_path:
        raise UsageError(
            "ingest --engine chdb needs --chdb-path DIR (an in-memory chDB would be gone "
            "when the command ends)"
        )
    if name == "clickhouse" and not url:
        raise UsageError(
            "--engine clickhouse needs --clickhouse-url",
            hint="e.g. --clickhouse-url http://default:@localhost:8123/default",
        )
    from ..ingest import ingest
    from ..store import MEMORY, analysis_memory_limit, connect

    con = connect(MEMORY, memory_limit=analysis_memory_limit(memory_limit))
    try:
        summary = ingest(paths, con, memory_limit=memory_limit, **ingest_options)
        engine = open_engine(name, url=url, chdb_path=chdb_path)
        try:
            if name == "clickhouse":
                engine.create_tables()  # type: ignore[attr-defined]
            inserted, already_there = engine.load_from_duckdb(con)  # type: ignore[attr-defined]
        finally:
            engine.close()
    finally:
        con.close()
    target = chdb_path if name == "chdb" else _without_password(str(url))
    return EngineIngest(summary, name, str(target), inserted, already_there)


def _without_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = (parts.username or "") + ":***@" + (parts.hostname or "")
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


__all__ = [
    "ENGINES",
    "DuckDBEngine",
    "Engine",
    "EngineAnalysis",
    "EngineIngest",
    "UnsupportedOnEngine",
    "analysis_over",
    "check_engine",
    "detect_on",
    "empty_frame",
    "ingest_to_engine",
    "init_engine",
    "open_engine",
    "require_support",
    "support_table",
    "unsupported_in",
    "unsupported_text",
]
