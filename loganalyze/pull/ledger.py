"""The pull ledger: which slices of which project's sources are in the database, how
many rows each had, and whether that count was confirmed by the service.

A re-run (or a run after the process was killed) asks the ledger what is covered and
fetches only the rest. A slice counts as covered only up to `settled_until` = the time it
was pulled minus the ingestion lag, because rows keep arriving for the last minutes
before the pull; those minutes are fetched again next time (rows dedupe by id).
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from .slicing import Slice

DDL = """
CREATE TABLE IF NOT EXISTS pull_ledger (
    project       VARCHAR NOT NULL,
    source        VARCHAR NOT NULL,
    slice_start   TIMESTAMPTZ NOT NULL,
    slice_end     TIMESTAMPTZ NOT NULL,
    rows          BIGINT NOT NULL,
    counted       BIGINT,
    verified      BOOLEAN NOT NULL,
    pulled_at     TIMESTAMPTZ NOT NULL,
    settled_until TIMESTAMPTZ NOT NULL
)
"""


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def covered(
    con: duckdb.DuckDBPyConnection, project: str, source: str
) -> list[tuple[datetime, datetime]]:
    """Intervals of `source` already in the database, confirmed and settled."""
    rows = con.execute(
        "SELECT slice_start, least(slice_end, settled_until) FROM pull_ledger "
        "WHERE project = $project AND source = $source AND verified "
        "AND settled_until > slice_start ORDER BY 1",
        {"project": project, "source": source},
    ).fetchall()
    return [(lo, hi) for lo, hi in rows]


def record(
    con: duckdb.DuckDBPyConnection,
    project: str,
    piece: Slice,
    *,
    rows: int,
    counted: int | None,
    verified: bool,
    pulled_at: datetime,
    settled_until: datetime,
) -> None:
    con.execute(
        "INSERT INTO pull_ledger VALUES ($project, $source, $start, $end, $rows, $counted, "
        "$verified, $pulled_at, $settled)",
        {
            "project": project,
            "source": piece.source,
            "start": piece.start,
            "end": piece.end,
            "rows": rows,
            "counted": counted,
            "verified": verified,
            "pulled_at": pulled_at,
            "settled": settled_until,
        },
    )
