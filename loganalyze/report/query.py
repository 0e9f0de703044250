"""Reading query results into polars, and ad-hoc SQL (`loganalyze query`) that prints
whatever DuckDB returns and cannot reach the file system."""

from __future__ import annotations

import polars as pl

from ..errors import UsageError
from ..store import quote_ident


def query_frame(con, sql: str, params: list | dict | None = None) -> pl.DataFrame:
    """A SELECT's rows as a polars frame (through Arrow, no per-row conversion).

    Runs on a cursor of its own: a result another caller left half-fetched on `con`
    (a `fetchone()`) would otherwise block the query."""
    cursor = con.cursor()
    try:
        return cursor.sql(sql, params=params).pl()
    finally:
        cursor.close()


def forbid_file_access(con) -> None:
    """No statement on `con` may read or write files from now on (read_text, glob,
    COPY … TO, EXPORT DATABASE, ATTACH, extensions), and no statement can turn that back
    on: the configuration is locked. The database already open stays readable."""
    ((enabled,),) = con.execute("SELECT current_setting('enable_external_access')").fetchall()
    if enabled:
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")


# Types polars takes from Arrow and prints in every format; any other type (INTERVAL,
# lists, structs, maps, BLOB, HUGEINT, UUID, infinite dates, …) is shown as DuckDB's text.
_PLAIN_TYPES = frozenset(
    {
        "BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT",
        "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "VARCHAR",
    }
)  # fmt: skip


def run_query(con, sql: str, *, fmt: str = "table", allow_files: bool = False) -> pl.DataFrame | str:
    """Run ad-hoc SQL for `loganalyze query`.

    Unless `allow_files`, file access is switched off first (see forbid_file_access), so
    a query pasted from a ticket or a runbook cannot read or write the machine. `fmt`
    `json` returns the rows as a JSON array of objects (text); `table`/`csv` a frame
    whose every column polars can print."""
    import duckdb

    if fmt not in ("table", "json", "csv"):
        raise UsageError(f"unknown format {fmt!r}", hint="use table, json or csv")
    if not allow_files:
        forbid_file_access(con)
    try:
        relation = con.sql(sql)
        if relation is None:  # a statement without a result (SET, CREATE TEMP …)
            return "[]\n" if fmt == "json" else pl.DataFrame()
        # through a subquery, repeated column names get suffixes (a, a_1) and can be named
        relation = relation.query("_la_result", "SELECT * FROM _la_result")
        if fmt == "json":
            return _json_rows(relation)
        return _printable(relation).pl()
    except duckdb.PermissionException as exc:
        raise UsageError(
            _first_line(exc),
            hint="`query` reads the logs database only; add --allow-files to let SQL read "
            "or write files",
        ) from None
    except duckdb.Error as exc:
        raise UsageError(_first_line(exc), hint="`loganalyze schema` lists the tables and columns") from None


def _printable(relation):
    columns = []
    for name, kind in zip(relation.columns, relation.types, strict=True):
        ident = quote_ident(name)
        if str(kind) in _PLAIN_TYPES or str(kind).startswith("DECIMAL"):
            columns.append(ident)
        else:
            columns.append(f"CAST({ident} AS VARCHAR) AS {ident}")
    return relation.project(", ".join(columns)) if columns else relation


def _json_rows(relation) -> str:
    """Rows as a JSON array, converted by DuckDB (every type has a JSON form); NaN and
    infinities, which JSON lacks, become the strings "nan", "inf", "-inf"."""
    fields = []
    for name, kind in zip(relation.columns, relation.types, strict=True):
        ident = quote_ident(name)
        if str(kind) in ("FLOAT", "DOUBLE"):
            value = f"CASE WHEN isfinite({ident}) OR {ident} IS NULL THEN to_json({ident}) ELSE to_json(CAST({ident} AS VARCHAR)) END"
        else:
            value = f"to_json({ident})"
        fields.append(f"{ident} := {value}")
    if not fields:
        return "[]\n"
    rows = relation.project("CAST(to_json(struct_pack(" + ", ".join(fields) + ")) AS VARCHAR) AS row")
    texts = rows.pl().get_column("row")
    return "[" + ",\n".join(texts.to_list()) + "]\n" if len(texts) else "[]\n"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
