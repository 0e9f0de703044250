"""Forwarding what `serve` committed to a ClickHouse engine (`serve --engine chdb|clickhouse`).

The serve database stays the durable buffer: deliveries are spooled, committed into it
exactly once (committer.py), and only then forwarded. After each commit session the
batch files the database holds and the engine does not (by name in `ingested_files`)
are copied with their rows, rejected rows included, through the same staging path as
`ingest --engine` (`ClickHouseEngine.load_from_duckdb`: staged first, then moved, rows
whose id the engine already holds skipped). An engine that is down delays forwarding,
never acceptance: the next session forwards what is missing.

A forward interrupted after some tables were moved but before `ingested_files` (moved
last) is redone whole by the next session; log rows are not doubled (ids already there
are skipped), rejected rows of that batch may be.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from ..errors import UsageError

FILES_PER_FORWARD = 64
"""Batch files copied per load: bounds the memory of a first forward of a long backlog."""


@dataclass
class EngineTarget:
    """Where `serve` forwards: `chdb` (a store at `chdb_path`) or `clickhouse` (`url`)."""

    engine: str
    url: str | None = None
    chdb_path: str | None = None

    def __post_init__(self) -> None:
        if self.engine not in ("chdb", "clickhouse"):
            raise UsageError(
                f"serve forwards to chdb or clickhouse, not {self.engine}",
                hint="without --engine, serve stores into the DuckDB database only",
            )
        if self.engine == "chdb" and not self.chdb_path:
            raise UsageError("serve --engine chdb needs --chdb-path DIR (a store that outlives the server)")
        if self.engine == "clickhouse" and not self.url:
            raise UsageError(
                "serve --engine clickhouse needs --clickhouse-url",
                hint="e.g. --clickhouse-url http://default:@localhost:8123/default",
            )

    def open(self) -> Any:
        from ..engines import open_engine

        engine = open_engine(self.engine, url=self.url, chdb_path=self.chdb_path)
        if self.engine == "clickhouse":
            try:
                engine.create_tables()
            except BaseException:
                engine.close()
                raise
        return engine

    @property
    def where(self) -> str:
        from ..engines import _without_password

        return str(self.chdb_path) if self.engine == "chdb" else _without_password(str(self.url))


def forward_committed(con: duckdb.DuckDBPyConnection, target: EngineTarget, prefix: str) -> int:
    """Copy the files named `prefix…` that `con` holds and the engine does not → how many
    log rows the engine gained."""
    from ..store import LOG_TABLES

    engine = target.open()
    try:
        held = {
            row[0]
            for row in engine.execute(
                "SELECT file FROM ingested_files WHERE startsWith(file, $prefix)",
                {"prefix": prefix},
            ).fetchall()
        }
        pending = [
            file_id
            for file_id, name in con.execute(
                "SELECT file_id, file FROM ingested_files WHERE starts_with(file, $prefix) ORDER BY file_id",
                {"prefix": prefix},
            ).fetchall()
            if name not in held
        ]
        gained = 0
        for start in range(0, len(pending), FILES_PER_FORWARD):
            subset = _subset(con, pending[start : start + FILES_PER_FORWARD])
            try:
                inserted, _ = engine.load_from_duckdb(subset)
            finally:
                subset.close()
            gained += sum(n for table, n in inserted.items() if table in LOG_TABLES)
        return gained
    finally:
        engine.close()


def _subset(con: duckdb.DuckDBPyConnection, file_ids: list[int]) -> duckdb.DuckDBPyConnection:
    """An in-memory database holding the rows of `file_ids` only, as ingest would have
    written them (the shape load_from_duckdb copies)."""
    from ..engines.clickhouse.ddl import table_columns
    from ..store import MEMORY, connect, quote_ident

    subset = connect(MEMORY)
    tables = [table for table, _ in table_columns()]
    for table in tables:
        rows = con.sql(
            "SELECT * FROM " + quote_ident(table) + " WHERE file_id IN (SELECT unnest($ids))",
            params={"ids": file_ids},
        ).to_arrow_table()
        subset.register("_la_forwarded", rows)
        subset.execute("INSERT INTO " + quote_ident(table) + " BY NAME SELECT * FROM _la_forwarded")
        subset.unregister("_la_forwarded")
    return subset
