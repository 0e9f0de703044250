"""Reading query results into polars."""

from __future__ import annotations

import polars as pl


def query_frame(con, sql: str, params: list | dict | None = None) -> pl.DataFrame:
    """A SELECT's rows as a polars frame (through Arrow, no per-row conversion).

    Runs on a cursor of its own: a result another caller left half-fetched on `con`
    (a `fetchone()`) would otherwise block the query."""
    cursor = con.cursor()
    try:
        return cursor.sql(sql, params=params).pl()
    finally:
        cursor.close()
