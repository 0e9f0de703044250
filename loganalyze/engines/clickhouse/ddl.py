"""ClickHouse DDL of the normalized tables, derived from loganalyze/schema.sql.

schema.sql (DuckDB) stays the one contract between ingest and the detectors; the
ClickHouse tables carry the same names, columns and order, so an Arrow batch read from one
inserts into the other unchanged. Every log table is one source (edge_logs, auth_logs, …),
so `ORDER BY ts` is "ordered by source and time"; a table shared by several projects puts
its project column first (docs/scale-out.md).
"""

from __future__ import annotations

from functools import cache

TYPES = {
    "INTEGER": "Int32",
    "BIGINT": "Int64",
    "DOUBLE": "Float64",
    "BOOLEAN": "Bool",
    "VARCHAR": "String",
    "TIMESTAMP WITH TIME ZONE": "DateTime64(6, 'UTC')",
}


@cache
def table_columns() -> tuple[tuple[str, tuple[tuple[str, str, bool], ...]], ...]:
    """(table, ((column, DuckDB type, nullable), …)) in schema.sql's order."""
    import duckdb

    from ...store import schema_sql

    con = duckdb.connect()
    try:
        con.execute(schema_sql())
        rows = con.execute(
            "SELECT table_name, column_name, data_type, is_nullable = 'YES' "
            "FROM information_schema.columns WHERE table_schema = 'main' "
            "ORDER BY table_name, ordinal_position"
        ).fetchall()
    finally:
        con.close()
    tables: dict[str, list[tuple[str, str, bool]]] = {}
    for table, column, dtype, nullable in rows:
        tables.setdefault(table, []).append((column, dtype, bool(nullable)))
    return tuple((t, tuple(cols)) for t, cols in tables.items())


def column_type(duckdb_type: str, nullable: bool) -> str:
    try:
        base = TYPES[duckdb_type]
    except KeyError:  # a new type in schema.sql must be mapped here, not guessed
        raise ValueError(f"no ClickHouse type for DuckDB type {duckdb_type}") from None
    return f"Nullable({base})" if nullable else base


def create_table_sql(table: str, columns: tuple[tuple[str, str, bool], ...], engine: str = "MergeTree") -> str:
    """One CREATE TABLE: MergeTree ordered by time where the table has a non-null ts."""
    has_ts = any(c == "ts" and not nullable for c, _, nullable in columns)
    body = ",\n".join(f"    `{c}` {column_type(t, n)}" for c, t, n in columns)
    order = "ts" if has_ts else "tuple()"
    return (
        f"CREATE TABLE IF NOT EXISTS `{table}` (\n{body}\n) ENGINE = {engine}\n"
        f"ORDER BY {order}"
    )


def schema_ddl() -> list[str]:
    """Every normalized table's CREATE TABLE statement."""
    return [create_table_sql(t, cols) for t, cols in table_columns()]


def column_names(table: str) -> tuple[str, ...]:
    for name, cols in table_columns():
        if name == table:
            return tuple(c for c, _, _ in cols)
    raise ValueError(f"not a normalized table: {table}")
