"""Where the detectors run: DuckDB (embedded, the default), chDB (ClickHouse in this
process), a ClickHouse server or cluster. docs/scale-out.md says what runs where.

An engine holds the normalized tables and runs a detector's SQL → the same frame DuckDB
gives; everything a result means (Finding, metric kinds, caveats, inputs) stays in
analysis.py and findings.py. `EngineAnalysis` is an `Analysis` whose detectors, input
counts and data span are read from the engine.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

import polars as pl

from ..analysis import DEFAULT_WINDOW, Analysis
from ..detectors import DetectorSpec, execute, get_detector, list_detectors
from ..errors import UsageError
from ..findings import Finding

ENGINES = ("duckdb", "chdb", "clickhouse")
ENGINE_HELP = {
    "duckdb": "embedded DuckDB (default): every detector",
    "chdb": "ClickHouse in this process (chDB), loaded from the DuckDB database",
    "clickhouse": "a ClickHouse server or cluster (--clickhouse-url), tables made by `loganalyze init`",
}


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

    def close(self) -> None:
        """The connection belongs to the caller."""


def check_engine(name: str) -> str:
    if name not in ENGINES:
        raise UsageError(f"unknown engine {name!r}", hint="use one of: " + ", ".join(ENGINES))
    return name


def open_engine(name: str, con=None, *, url: str | None = None) -> Engine:
    """An engine holding the data: `duckdb` is `con` itself; `chdb` is a fresh in-process
    ClickHouse loaded from `con` (in Arrow batches); `clickhouse` is the server at `url`,
    whose tables already hold the data."""
    check_engine(name)
    if name == "duckdb":
        if con is None:
            raise UsageError("--engine duckdb needs a database")
        return DuckDBEngine(con)
    if name == "chdb":
        from .clickhouse import chdb_engine

        if con is None:
            raise UsageError("--engine chdb loads the DuckDB database (--db or log PATHs)")
        engine = chdb_engine()
        try:
            engine.copy_from_duckdb(con)
        except BaseException:
            engine.close()
            raise
        return engine
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
    from .clickhouse import UNSUPPORTED_REASON, supported

    return [(s, None if supported(s.name) else UNSUPPORTED_REASON) for s in list_detectors()]


def require_support(engine_name: str, detector: str) -> None:
    """Refuse a detector the engine cannot run, before any data is moved."""
    spec = get_detector(detector)
    for listed, reason in support_table(engine_name):
        if listed.name == spec.name and reason:
            from ..errors import DetectorError

            raise DetectorError(
                f"detector {spec.name} is not supported on engine {engine_name}: {reason}",
                hint=f"`loganalyze detectors --engine {engine_name}` lists what runs there",
            )


class EngineAnalysis(Analysis):
    """An `Analysis` on an engine: the range, input counts and detectors all read the
    engine's tables. A detector the engine cannot run raises instead of answering."""

    def __init__(self, engine: Engine, **kwargs: Any) -> None:
        super().__init__(engine if not isinstance(engine, DuckDBEngine) else engine.con, **kwargs)
        self.engine = engine

    def finding(self, name: str | DetectorSpec, **kwargs: Any) -> Finding:
        spec = name if isinstance(name, DetectorSpec) else get_detector(name)
        reason = self.engine.unsupported_reason(spec)
        if reason is not None:
            from ..errors import DetectorError

            raise DetectorError(
                f"detector {spec.name} is not supported on engine {self.engine.name}: {reason}",
                hint=f"`loganalyze detectors --engine {self.engine.name}` lists what runs there",
            )
        return super().finding(spec, **kwargs)

    def _run(self, spec: DetectorSpec, bound: dict[str, object]) -> pl.DataFrame:
        if isinstance(self.engine, DuckDBEngine):
            return super()._run(spec, bound)
        return self.engine.run(spec, bound)


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


__all__ = [
    "ENGINES",
    "DuckDBEngine",
    "Engine",
    "EngineAnalysis",
    "check_engine",
    "detect_on",
    "init_engine",
    "open_engine",
    "require_support",
    "support_table",
]
