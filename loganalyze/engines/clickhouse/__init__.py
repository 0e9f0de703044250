"""The detectors on ClickHouse: in-process (chDB) or a server or cluster (clickhouse-connect).

A detector runs here when `queries/` (this package's folder) holds a ClickHouse body of the
same name: the portable logic of the DuckDB detector, written over the same normalized
tables, with the engine-specific pieces (time buckets, percentiles, regular expressions,
intervals, the most frequent value) taken from `macros.sql`. A detector without such a
body is unsupported here and says so (`loganalyze detectors --engine chdb`); it is never
approximated.

`--@include NAME` lines are replaced by the shared part `NAME.sql` (a file starting with
`_`). Other `--@` lines (`--@slice_views`, `--@slice_filter`, a line ending in
`--@after_merge`) are comments here, left as they are: they mark the pieces the push-down
to Supabase's log store adds to or drops from the same body (engines/supabase.py,
`pushdown_sql`).

Parameters are bound by ClickHouse itself (`{name:Type}` placeholders), never formatted
into the SQL text. Bound values: timestamps as `DateTime64(6, 'UTC')`, intervals (and
`$window`) as whole microseconds (`Int64`), booleans as `Bool`.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from ...detectors import DetectorSpec
from ...errors import DetectorError, InputError, LogAnalyzeError, UsageError
from .ddl import column_names, schema_ddl, table_columns

HERE = Path(__file__).parent
BODIES = HERE / "queries"
_INCLUDE = re.compile(r"^--@include (\w+)\s*$", re.MULTILINE)
_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
# Settings every detector query runs with: outer joins give NULL (not a type's default
# value) for a missing partner, as in DuckDB.
DETECTOR_SETTINGS = {"join_use_nulls": 1}
# The queries of the analysis layer (input counts, data span): min/max of no rows is NULL.
FACT_SETTINGS = {"aggregate_functions_null_for_empty": 1}
UNSUPPORTED_REASON = "no ClickHouse body yet (loganalyze/engines/clickhouse/queries/)"


@cache
def _body_texts() -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in BODIES.glob("*.sql")}


def body(name: str) -> str | None:
    """The ClickHouse SQL of detector `name` with its shared parts included, or None."""
    texts = _body_texts()
    if name.startswith("_") or name not in texts:
        return None

    def include(match: re.Match[str]) -> str:
        part = texts.get(match.group(1))
        if part is None:
            raise DetectorError(f"ClickHouse body {name}: no shared part {match.group(1)}.sql")
        return _INCLUDE.sub(include, part)

    return _INCLUDE.sub(include, texts[name])


def supported(name: str) -> bool:
    return body(name) is not None


@cache
def macro_statements() -> tuple[str, ...]:
    text = (HERE / "macros.sql").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return tuple(s.strip() for s in "\n".join(lines).split("\n;") if s.strip())


def param_value(value: object) -> object:
    """A bound Python value as ClickHouse reads its placeholder (see the module doc)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, timedelta):
        return value // timedelta(microseconds=1)
    if isinstance(value, datetime):
        instant = value.astimezone(UTC) if value.tzinfo else value
        return instant.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def placeholder_type(value: object) -> str:
    """The ClickHouse type a `$name` of the analysis layer's queries is bound as."""
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):
        return "Int64"
    if isinstance(value, float):
        return "Float64"
    if isinstance(value, datetime):
        return "DateTime64(6, 'UTC')"
    if isinstance(value, timedelta):
        return "Int64"
    if isinstance(value, str):
        return "String"
    raise UsageError(f"cannot bind a {type(value).__name__} on ClickHouse")


def to_frame(table: Any) -> pl.DataFrame:
    """A ClickHouse Arrow result as the frame DuckDB would give: unsigned counts become
    Int64 (DuckDB's count(*) is BIGINT)."""
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    unsigned = (pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)
    casts = [pl.col(n).cast(pl.Int64) for n, t in frame.schema.items() if t in unsigned]
    return frame.with_columns(casts) if casts else frame


class _Cursor:
    def __init__(self, rows: list[tuple]) -> None:
        self._rows = rows

    def fetchone(self) -> tuple | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[tuple]:
        return self._rows


class ClickHouseEngine:
    """The normalized tables in one ClickHouse database and the detectors that run there.

    `backend` runs one SQL text with bound parameters and settings and returns an Arrow
    table (`ChdbBackend`, `ServerBackend`)."""

    def __init__(self, backend: Any, name: str) -> None:
        self.backend = backend
        self.name = name
        self._prepared = False

    # ------------------------------------------------------------------ tables
    def create_tables(self) -> None:
        for statement in schema_ddl():
            self.backend.command(statement)

    def insert_arrow(self, table: str, data: Any) -> int:
        """Insert an Arrow table or record batch (columns of schema.sql) → rows inserted."""
        import pyarrow as pa

        if isinstance(data, pa.RecordBatch):
            data = pa.Table.from_batches([data])
        if data.num_rows:
            self.backend.insert_arrow(table, data.select(list(column_names(table))))
        return data.num_rows

    def copy_from_duckdb(self, con, batch_rows: int = 1_000_000) -> dict[str, int]:
        """Every normalized table of a DuckDB database, in Arrow batches → rows per table."""
        from ...store import quote_ident

        copied: dict[str, int] = {}
        cursor = con.cursor()  # the caller's connection may hold an unfinished result
        try:
            for table, _ in table_columns():
                names = ", ".join(quote_ident(c) for c in column_names(table))
                query = "SELECT " + names + " FROM " + quote_ident(table)  # quoted identifiers
                reader = cursor.sql(query).to_arrow_reader(batch_rows)
                copied[table] = sum(self.insert_arrow(table, batch) for batch in reader)
        finally:
            cursor.close()
        return copied

    def load_from_duckdb(
        self, con, batch_rows: int = 1_000_000
    ) -> tuple[dict[str, int], dict[str, int]]:
        """Add the rows of a freshly ingested DuckDB database (`ingest --engine`) → (rows
        inserted per table, rows per log table skipped because the table already holds
        their id).

        Everything is first copied into staging tables of its own (Arrow batches); only
        when all of it is there are the rows moved into the normalized tables, so a failure
        while copying leaves them as they were. The file ids continue after the largest
        one the engine holds, and each file's `rows`/`duplicates` in ingested_files count
        the rows skipped here. ClickHouse has no transaction across tables: a failure
        during the final moves (one INSERT … SELECT per table) can leave some tables
        moved; the staging tables are dropped either way."""
        from ...store import LOG_TABLES

        offset = self._scalar("SELECT coalesce(max(file_id), 0) FROM `ingested_files`")
        token = uuid.uuid4().hex[:12]
        staged: dict[str, str] = {}
        # ingested_files last: its counts take the rows skipped here
        tables = sorted((t for t, _ in table_columns()), key=lambda t: t == "ingested_files")
        try:
            already: dict[str, dict[int, int]] = {}
            for table in tables:
                if table == "ingested_files":
                    self._count_skipped_in_files(con, already, offset)
                stage = f"loganalyze_stage_{token}_{table}"
                staged[table] = self._stage(con, table, stage, offset, batch_rows)
                if table in LOG_TABLES:
                    already[table] = self._already_there(table, staged[table])
            inserted = {
                table: self._move(table, stage, dedupe=table in LOG_TABLES)
                for table, stage in staged.items()
            }
            skipped = {t: sum(per_file.values()) for t, per_file in already.items()}
            return inserted, {t: n for t, n in skipped.items() if n}
        finally:
            for stage in staged.values():
                self.backend.command(f"DROP TABLE IF EXISTS `{stage}`")

    def _stage(self, con, table: str, stage: str, offset: int, batch_rows: int) -> str:
        """A staging copy of one DuckDB table, its file ids moved up by `offset`."""
        import pyarrow as pa

        from ...store import quote_ident

        select = ", ".join(
            ("CAST(file_id + $offset AS INTEGER) AS file_id" if c == "file_id" else quote_ident(c))
            for c in column_names(table)
        )  # quoted identifiers; the offset is bound
        cursor = con.cursor()  # the caller's connection may hold an unfinished result
        try:
            reader = cursor.sql(
                "SELECT " + select + " FROM " + quote_ident(table), params={"offset": offset}
            ).to_arrow_reader(batch_rows)
            self.backend.command(f"CREATE TABLE `{stage}` AS `{table}`")
            for batch in reader:
                if batch.num_rows:
                    self.backend.insert_arrow(stage, pa.Table.from_batches([batch]))
        finally:
            cursor.close()
        return stage

    @staticmethod
    def _count_skipped_in_files(con, already: dict[str, dict[int, int]], offset: int) -> None:
        """Each file's rows skipped here move from `rows` to `duplicates` (in the DuckDB
        database the ingest wrote, before ingested_files is copied)."""
        per_file: dict[int, int] = {}
        for counts in already.values():
            for file_id, n in counts.items():
                per_file[file_id - offset] = per_file.get(file_id - offset, 0) + n
        for file_id, n in per_file.items():  # one statement per file, not per row
            con.execute(
                "UPDATE ingested_files SET rows = rows - $n, duplicates = duplicates + $n "
                "WHERE file_id = $file_id",
                {"n": n, "file_id": file_id},
            )

    def _scalar(self, sql: str, params: dict[str, object] | None = None) -> int:
        table = self.backend.query_arrow(sql, params or {}, {})
        return int(table.column(0)[0].as_py() or 0) if table.num_rows else 0

    def _already_there(self, table: str, stage: str) -> dict[int, int]:
        """Rows of `stage` whose id `table` already holds, per file id. Ids are compared
        within the staged rows' time span (the tables are ordered by ts, so this reads
        only that part): one event has one time."""
        rows = self.backend.query_arrow(
            f"SELECT file_id, count() AS n FROM `{stage}` WHERE id IN ("
            f"SELECT id FROM `{table}` WHERE ts >= (SELECT min(ts) FROM `{stage}`) "
            f"AND ts <= (SELECT max(ts) FROM `{stage}`)) GROUP BY file_id",
            {},
            {},
        ).to_pylist()
        return {int(r["file_id"] or 0): int(r["n"]) for r in rows}

    def _move(self, table: str, stage: str, *, dedupe: bool) -> int:
        keep = (
            f" WHERE id NOT IN (SELECT id FROM `{table}` "
            f"WHERE ts >= (SELECT min(ts) FROM `{stage}`) AND ts <= (SELECT max(ts) FROM `{stage}`))"
            if dedupe
            else ""
        )
        count = self._scalar(f"SELECT count() FROM `{stage}`" + keep)
        if count:
            self.backend.command(f"INSERT INTO `{table}` SELECT * FROM `{stage}`" + keep)
        return count

    # ------------------------------------------------------------------ detectors
    def supports(self, spec: DetectorSpec) -> bool:
        return supported(spec.name)

    def unsupported_reason(self, spec: DetectorSpec) -> str | None:
        return None if supported(spec.name) else UNSUPPORTED_REASON

    def prepare(self) -> None:
        if not self._prepared:
            for statement in macro_statements():
                self.backend.command(statement)
            self._prepared = True

    def run(self, spec: DetectorSpec, bound: dict[str, object]) -> pl.DataFrame:
        """One detector with its parameters bound → the frame DuckDB's body gives."""
        sql = body(spec.name)
        if sql is None:
            raise DetectorError(
                f"detector {spec.name} is not supported on engine {self.name}: {UNSUPPORTED_REASON}",
                hint=f"`loganalyze detectors --engine {self.name}` lists what runs there",
            )
        self.prepare()
        params = {k: param_value(v) for k, v in bound.items() if "{" + k + ":" in sql}
        try:
            frame = to_frame(self.backend.query_arrow(sql, params, DETECTOR_SETTINGS))
        except LogAnalyzeError:
            raise
        except Exception as exc:  # noqa: BLE001 - the driver's own error types vary by backend
            raise DetectorError(
                f"detector {spec.name} failed on {self.name}: {str(exc).strip().splitlines()[0]}",
                hint="were the tables created by `loganalyze init --engine "
                f"{self.name}`? `loganalyze schema` lists the expected columns",
            ) from None
        if tuple(frame.columns) != spec.columns:
            raise DetectorError(
                f"ClickHouse body of {spec.name}: returned columns {frame.columns}, "
                f"header declares {list(spec.columns)}"
            )
        return frame

    # ------------------------------------------------------------------ the analysis layer
    def execute(self, sql: str, params: dict[str, object] | None = None) -> _Cursor:
        """The analysis layer's small queries (counts, data span), written with DuckDB's
        `$name` placeholders: each becomes a typed ClickHouse placeholder."""
        table = self._query_facts(sql, params or {})
        return _Cursor([tuple(r.values()) for r in table.to_pylist()])

    def frame(self, sql: str, params: dict[str, object] | None = None) -> pl.DataFrame:
        """A small query of the report (sources, files, rejected rows), written with
        DuckDB's `$name` placeholders, as a polars frame."""
        return to_frame(self._query_facts(sql, params or {}))

    def _query_facts(self, sql: str, params: dict[str, object]) -> Any:
        """`sql` with DuckDB's `$name` placeholders, each made a typed ClickHouse one."""
        typed = _DOLLAR.sub(
            lambda m: "{" + m.group(1) + ":" + placeholder_type(params[m.group(1)]) + "}", sql
        )
        return self.backend.query_arrow(
            typed, {k: param_value(v) for k, v in params.items()}, FACT_SETTINGS
        )

    def close(self) -> None:
        self.backend.close()


class ChdbBackend:
    """chDB in this process. chDB keeps one engine per process, so every backend works in
    a database of its own (dropped on close unless it lives at `path`)."""

    def __init__(self, path: str | None = None, database: str | None = None) -> None:
        try:
            from chdb import session
        except ImportError:
            raise UsageError(
                "--engine chdb needs the chdb package",
                hint="pip install 'loganalyze[clickhouse]'",
            ) from None

        try:
            self._session = session.Session(path) if path else session.Session()
        except RuntimeError as exc:  # chDB reports a store it cannot open this way
            raise InputError(
                "cannot open the chDB store: " + _first_message_line(exc),
                hint="--chdb-path names a directory chDB can create or already uses",
                file=path,
            ) from None
        self.database = database or ("loganalyze" if path else "loganalyze_" + uuid.uuid4().hex[:12])
        self._owned = path is None
        self._session.query(f"CREATE DATABASE IF NOT EXISTS `{self.database}`")
        self._session.query(f"USE `{self.database}`")

    def command(self, sql: str) -> None:
        self._session.query(sql)

    def query_arrow(self, sql: str, params: dict[str, object], settings: dict[str, object]) -> Any:
        if settings:
            sql = sql.rstrip().rstrip(";") + "\nSETTINGS " + ", ".join(f"{k} = {int(v)}" for k, v in settings.items())
        return self._session.query(sql, "ArrowTable", params=params)

    def insert_arrow(self, table: str, data: Any) -> None:
        batch = data  # read by name through chDB's Python() table function
        self._session.query(f"INSERT INTO `{table}` SELECT * FROM Python(batch)")
        del batch

    def close(self) -> None:
        try:
            if self._owned:
                self._session.query(f"DROP DATABASE IF EXISTS `{self.database}`")
        finally:
            self._session.close()


class ServerBackend:
    """A ClickHouse server or cluster through clickhouse-connect (HTTP interface)."""

    def __init__(self, url: str) -> None:
        try:
            import clickhouse_connect
        except ImportError:
            raise UsageError(
                "--engine clickhouse needs the clickhouse-connect package",
                hint="pip install 'loganalyze[clickhouse]'",
            ) from None
        # The driver logs a warning (with a traceback at debug level) before raising; the
        # raised error becomes our one-line message, so its warnings would only repeat it.
        logging.getLogger("clickhouse_connect").setLevel(logging.ERROR)
        try:
            self._client = clickhouse_connect.get_client(dsn=url)
        except Exception as exc:  # noqa: BLE001 - connection errors come in many types
            from .. import _without_password

            raise InputError(
                f"cannot reach ClickHouse at {_without_password(url)}: {_first_message_line(exc)}"
            ) from None

    def command(self, sql: str) -> None:
        self._client.command(sql)

    def query_arrow(self, sql: str, params: dict[str, object], settings: dict[str, object]) -> Any:
        return self._client.query_arrow(sql, parameters=params, settings=settings)

    def insert_arrow(self, table: str, data: Any) -> None:
        self._client.insert_arrow(table, data)

    def close(self) -> None:
        self._client.close()


def chdb_engine(path: str | None = None) -> ClickHouseEngine:
    """chDB in this process, the normalized tables created (in memory, or at `path`)."""
    engine = ClickHouseEngine(ChdbBackend(path), "chdb")
    engine.create_tables()
    return engine


def server_engine(url: str) -> ClickHouseEngine:
    """A ClickHouse server at `url` (`http://user:password@host:8123/database`)."""
    return ClickHouseEngine(ServerBackend(url), "clickhouse")


__all__ = [
    "ChdbBackend",
    "ClickHouseEngine",
    "ServerBackend",
    "body",
    "chdb_engine",
    "server_engine",
    "supported",
]


def _first_message_line(exc: BaseException) -> str:
    """The first line of an engine's error (chDB appends a stack trace to its message)."""
    text = str(exc).strip().split(", Stack trace")[0]
    return text.splitlines()[0] if text else type(exc).__name__
