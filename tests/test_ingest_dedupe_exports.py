"""The same hosted rows exported twice with different richness: a Studio export of a few
columns (the default query) and the full JSON download. Stored once, with the union of
both (the richer value per column), whichever came first; the summary counts the rows
merged into rows already stored, per source."""

from __future__ import annotations

import json

import pytest

import loganalyze
from loganalyze.ingest import ingest

from .conftest import TEST_DATA

FULL = TEST_DATA / "hosted" / "studio-download.json"
ROWS = json.loads(FULL.read_text())
EDGE_COLUMNS = "id, ts, method, path, status, latency_ms, user_id, role, error_code, cf_ray"
PG_COLUMNS = "id, ts, severity, sqlstate, message, user_name, statement"


def _partial(tmp_path):
    """What the Studio's default queries return: id, timestamp, event_message and a few
    flattened columns (edge: method, path, status; postgres: the error severity)."""
    out = []
    for row in ROWS:
        meta = row["metadata"][0]
        base = {k: row[k] for k in ("id", "timestamp", "event_message")}
        if "request" in meta:
            out.append({**base, "method": meta["request"][0]["method"], "path": meta["request"][0]["path"],
                        "status_code": meta["response"][0]["status_code"]})
        elif "parsed" in meta:
            out.append({**base, "error_severity": meta["parsed"][0]["error_severity"]})
    path = tmp_path / "partial.json"
    path.write_text(json.dumps(out, indent=2))
    return path


def _table(con, table: str, columns: str) -> list[tuple]:
    return con.execute(f"SELECT {columns} FROM {table} ORDER BY id").fetchall()


@pytest.fixture(scope="module")
def full_only():
    con = loganalyze.connect()
    ingest([FULL], con)
    yield {"edge_logs": _table(con, "edge_logs", EDGE_COLUMNS),
           "postgres_logs": _table(con, "postgres_logs", PG_COLUMNS)}
    con.close()


@pytest.mark.parametrize("partial_first", [True, False], ids=["partial-then-full", "full-then-partial"])
def test_partial_and_full_export_of_the_same_rows_end_up_as_the_full_rows(tmp_path, full_only, partial_first):
    partial = _partial(tmp_path)
    con = loganalyze.connect()
    first = ingest([partial if partial_first else FULL], con)
    second = ingest([FULL if partial_first else partial], con)
    assert _table(con, "edge_logs", EDGE_COLUMNS) == full_only["edge_logs"]
    assert _table(con, "postgres_logs", PG_COLUMNS) == full_only["postgres_logs"]
    # the partial rows did hold less: caller identity and latency came with the full rows
    assert any(r[6] is not None for r in full_only["edge_logs"])
    assert any(r[5] is not None for r in full_only["edge_logs"])
    partial_rows = len(json.loads(partial.read_text()))
    # rows of other sources come with the full download only
    assert first.rows + second.rows == len(ROWS)
    by_table = second.by_table()
    if partial_first:
        assert first.rows == partial_rows
        assert by_table["edge_logs"].merged == len(full_only["edge_logs"])
        assert by_table["edge_logs"].duplicates == 0
        assert second.to_dict()["tables"]["edge_logs"]["merged"] == len(full_only["edge_logs"])
    else:
        # the partial rows bring nothing the full rows lack
        assert second.merged == 0
        assert second.duplicates == partial_rows
    con.close()


def test_the_summary_table_shows_merged_rows_per_source(tmp_path):
    from rich.console import Console

    from loganalyze.report.ingest_summary import render_ingest_summary

    con = loganalyze.connect()
    ingest([_partial(tmp_path)], con)
    summary = ingest([FULL], con)
    console = Console(record=True, width=160)
    render_ingest_summary(summary, console)
    text = console.export_text()
    header = next(line for line in text.splitlines() if "merged" in line)
    edge = next(line for line in text.splitlines() if line.lstrip("│ ").startswith("edge_logs"))
    cells = [c.strip() for c in edge.split("│") if c.strip()]
    names = [c.strip() for c in header.split("┃") if c.strip()]
    assert cells[names.index("merged")] == str(summary.by_table()["edge_logs"].merged)
    assert summary.by_table()["edge_logs"].merged > 0
    con.close()
