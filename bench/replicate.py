"""Grow an ingested database to a target number of events by repeating its incident.

    python bench/replicate.py DB EVENTS

Every log table gets copies of its rows, copy k moved k whole replay spans later in time
(every TIMESTAMPTZ column), with the keys that join rows across tables (`id`,
`request_id`, `cf_ray`) suffixed `~k` so copies stay distinct and still join within
themselves. The result reads like the same webinar held back to back: a realistic shape
for detectors, at a size synth would need tens of GB of NDJSON to write.
"""

from __future__ import annotations

import math
import sys

from loganalyze.store import connect, quote_ident, table_counts

SUFFIXED_KEYS = ("id", "request_id", "cf_ray")


def main(argv: list[str]) -> int:
    db, target = argv[0], int(argv[1])
    con = connect(db)
    con.execute("SET enable_progress_bar = false")
    base = {t: n for t, n in table_counts(con).items() if n}
    total = sum(base.values())
    if total == 0:
        raise SystemExit("replicate: the database has no events")
    copies = math.ceil(target / total)
    if copies <= 1:
        print(total)
        return 0
    lo, hi = con.execute(
        "SELECT min(lo), max(hi) FROM (" + " UNION ALL ".join(
            "SELECT min(ts) AS lo, max(ts) AS hi FROM " + quote_ident(t) for t in base) + ")"
    ).fetchone()
    span_us = (math.floor((hi - lo).total_seconds() / 60) + 1) * 60_000_000
    for table, rows in base.items():
        columns = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = ? AND table_schema = 'main' ORDER BY ordinal_position", [table]
        ).fetchall()
        select = []
        for name, kind in columns:
            col = "b." + quote_ident(name)
            if kind == "TIMESTAMP WITH TIME ZONE":
                select.append(col + " + to_microseconds(CAST($span_us AS BIGINT) * $k)")
            elif name in SUFFIXED_KEYS and kind == "VARCHAR":
                select.append(col + " || '~' || $k")
            else:
                select.append(col)
        sql = (
            "INSERT INTO " + quote_ident(table) + " SELECT " + ", ".join(select)
            + " FROM " + quote_ident(table) + " b WHERE b.rowid < $base_rows"
        )
        # One copy per statement keeps each insert (and DuckDB's memory) the size of the
        # original table; the loop runs `copies` times, not once per row.
        for k in range(1, copies):
            con.execute(sql, {"span_us": span_us, "k": k, "base_rows": rows})
    con.execute(
        "UPDATE ingested_files SET max_ts = max_ts + to_microseconds(CAST($extra AS BIGINT))",
        {"extra": span_us * (copies - 1)},
    )
    con.execute("CHECKPOINT")
    print(sum(table_counts(con).values()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
