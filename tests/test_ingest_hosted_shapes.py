"""A hosted export whose rows come in more than one shape: the reader narrows its one pass
to the shape of the file's first rows, and every row of another shape, however deep in
the file, still comes out exactly as it does from a file of that shape alone."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

import loganalyze
from loganalyze.ingest import ingest
from loganalyze.store import LOG_TABLES

from .conftest import TEST_DATA

HOSTED = TEST_DATA / "hosted"
EVENTS = [json.loads(line) for line in (HOSTED / "events.ndjson").read_text().splitlines()]
CLICKHOUSE_ROWS = json.loads((HOSTED / "clickhouse-rows.json").read_text())

# More array-form rows than the reader samples to choose its plan, so every row of the
# other shapes lies past the sample.
ARRAY_COPIES = 240


def object_form(value: object) -> object:
    """The BigQuery-era nesting without its one-element arrays (`metadata` as an object)."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
        return object_form(value[0])
    if isinstance(value, dict):
        return {k: object_form(v) for k, v in value.items()}
    return value


def renamed(row: dict, suffix: str) -> dict:
    out = copy.deepcopy(row)
    out["id"] = f"{row['id']}-{suffix}"
    return out


def flattened(event: dict) -> dict:
    """A partial export row: the Studio's default gateway query, columns under their last name."""
    request, response = event["metadata"][0]["request"][0], event["metadata"][0]["response"][0]
    return {
        "id": event["id"], "identifier": event["identifier"], "timestamp": event["timestamp"],
        "event_message": event["event_message"], "method": request["method"], "path": request["path"],
        "search": request["search"], "status_code": response["status_code"],
    }


def not_a_number_status(event: dict, suffix: str) -> dict:
    """An edge row the reader must reject (kept in rejected_rows with its line)."""
    bad = renamed(event, suffix)
    response = bad["metadata"]
    response = response[0]["response"] if isinstance(response, list) else response["response"]
    (response[0] if isinstance(response, list) else response)["status_code"] = "n/a"
    return bad


def shape_blocks() -> dict[str, list[dict]]:
    edge = [e for e in EVENTS if "request" in e["metadata"][0]]
    array = [renamed(e, f"a{n}") for n in range(ARRAY_COPIES) for e in EVENTS]
    # A rejected row among the rows the narrowed pass takes.
    array.insert(1500, not_a_number_status(EVENTS[0], "a-bad"))
    objects = [object_form(renamed(e, f"o{n}")) for n in range(2) for e in EVENTS]
    # ... and one among the rows it leaves to the general plan.
    objects.insert(5, object_form(not_a_number_status(EVENTS[0], "o-bad")))
    return {
        "array": array,
        "object": objects,
        "clickhouse": [renamed(r, "ch") for r in CLICKHOUSE_ROWS],
        "flat": [flattened(renamed(e, "f")) for e in edge],
    }


def write(path: Path, rows: list[dict], fmt: str) -> Path:
    if fmt == "ndjson":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        path.write_text(json.dumps(rows, indent=2))
    return path


def stored(con) -> dict[str, list[tuple]]:
    """Every column of every log table but file_id, ordered by id."""
    out = {}
    for table in LOG_TABLES:
        cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] != "file_id"]
        out[table] = con.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY id").fetchall()
    return out


@pytest.mark.parametrize("fmt", ["ndjson", "json"])
def test_rows_of_every_shape_read_as_in_a_file_of_their_own(tmp_path, fmt):
    blocks = shape_blocks()
    mixed_rows = [row for block in blocks.values() for row in block]
    mixed = loganalyze.connect()
    summary = ingest([write(tmp_path / f"mixed.{fmt}", mixed_rows, fmt)], mixed)
    assert summary.files[0].format == ("supabase-ndjson" if fmt == "ndjson" else "supabase-json")

    alone = loganalyze.connect()
    alone_summary = ingest(
        [write(tmp_path / f"{shape}.{fmt}", rows, fmt) for shape, rows in blocks.items()], alone
    )

    assert summary.rows == alone_summary.rows == len(mixed_rows) - 2
    assert summary.rejected == alone_summary.rejected == 2
    got, want = stored(mixed), stored(alone)
    for table in LOG_TABLES:
        assert got[table] == want[table], table
    # Each shape is really there, past the sample, and was read: the ClickHouse rows hold
    # their attributes, the object-form rows their nested values.
    ch_edge = [r for r in CLICKHOUSE_ROWS if r["source"] == "edge_logs"]
    assert mixed.execute(
        "SELECT list(cf_ray ORDER BY id) FROM edge_logs WHERE id LIKE '%-ch'"
    ).fetchone() == (sorted(r["log_attributes"]["response.headers.cf_ray"] for r in ch_edge),)
    object_edge = [r for r in blocks["object"] if "request" in r["metadata"] and not r["id"].endswith("-bad")]
    assert mixed.execute(
        "SELECT list(request_id ORDER BY id) FROM edge_logs WHERE id LIKE '%-o_'"
    ).fetchone() == ([r["metadata"]["response"]["headers"]["sb_request_id"]
                      for r in sorted(object_edge, key=lambda r: r["id"])],)


def test_rejected_rows_keep_their_line_whichever_pass_read_them(tmp_path):
    blocks = shape_blocks()
    rows = [row for block in blocks.values() for row in block]
    path = write(tmp_path / "mixed.ndjson", rows, "ndjson")
    con = loganalyze.connect()
    ingest([path], con)
    lines = path.read_text().splitlines()
    rejected = con.execute("SELECT line, reason, raw FROM rejected_rows ORDER BY line").fetchall()
    assert [r[0] for r in rejected] == [
        i + 1 for i, line in enumerate(lines) if json.loads(line)["id"].endswith("-bad")
    ]
    assert lines[rejected[0][0] - 1].startswith("{") and rejected[0][0] == 1501
    for line, reason, raw in rejected:
        assert reason == "status is not a number: n/a"
        assert json.loads(raw) == json.loads(lines[line - 1])


def test_a_row_of_the_files_shape_with_a_flattened_column_too_reads_as_the_general_plan(tmp_path):
    # A full array-form row that also carries a column under a field's last name: the
    # general plan prefers the metadata value; the narrowed pass must not take it blind.
    rows = [renamed(e, f"a{n}") for n in range(3) for e in EVENTS]
    odd = renamed(EVENTS[0], "odd")
    odd["method"] = "PATCH"
    odd["metadata"][0]["request"][0]["method"] = ""  # empty: the general plan falls through
    rows.append(odd)
    con = loganalyze.connect()
    summary = ingest([write(tmp_path / "odd.ndjson", rows, "ndjson")], con)
    assert summary.rejected == 0 and summary.rows == len(rows)
    # The metadata value is empty, so the flattened column is the method (the summary
    # line, the next fallback, says GET).
    assert con.execute("SELECT method FROM edge_logs WHERE id = ?", [odd["id"]]).fetchone() == ("PATCH",)
