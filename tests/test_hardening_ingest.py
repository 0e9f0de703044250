"""Hostile and unusual inputs: each one of the failures found by trying to break ingest,
kept as a regression test. The rule every case follows: exit 0 with every input row
either stored or kept in rejected_rows, or a one-line error with the database unchanged."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

import loganalyze
from loganalyze import connect
from loganalyze.errors import InputError
from loganalyze.ingest import ingest
from loganalyze.ingest.files import SAMPLE_BYTES, remove_stale_workdirs, take_sample
from loganalyze.store import table_counts

from .conftest import TEST_DATA

EVENTS = TEST_DATA / "hosted" / "events.ndjson"
EVENT_LINES = EVENTS.read_text(encoding="utf-8").splitlines()


def _stored(con, table: str = "edge_logs") -> int:
    return con.execute("SELECT count(*) FROM " + table).fetchall()[0][0]


def _all_stored(con) -> int:
    return sum(table_counts(con).values())


def _rejected(con) -> list[tuple[int, str]]:
    return con.execute("SELECT line, reason FROM rejected_rows ORDER BY line").fetchall()


@pytest.fixture(scope="module")
def plain_counts():
    """What the unmodified events file stores: the reference every variant is held to."""
    con = loganalyze.connect()
    ingest([EVENTS], con)
    stored = _all_stored(con)
    rejected = len(_rejected(con))
    con.close()
    return stored, rejected


def test_leading_blank_lines_are_passed_over(tmp_path, con, plain_counts):
    path = tmp_path / "blank-start.ndjson"
    path.write_text("\n" * 300_000 + "\n".join(EVENT_LINES) + "\n")
    summary = ingest([path], con)
    assert summary.files[0].format != "empty"
    assert (_all_stored(con), len(_rejected(con))) == plain_counts


def test_sample_after_blank_lines_knows_its_line_number(tmp_path):
    path = tmp_path / "x.log"
    path.write_text("\n" * 5 + "  \n" + "first\nsecond\n")
    sample = take_sample(path, "x.log")
    assert sample.first_line == 7 and sample.lines == ("first", "second")


def test_utf8_bom_ndjson_reads_like_without(tmp_path, con, plain_counts):
    path = tmp_path / "bom.ndjson"
    path.write_text("\ufeff" + "\n".join(EVENT_LINES) + "\n", encoding="utf-8")
    ingest([path], con)
    assert (_all_stored(con), len(_rejected(con))) == plain_counts


def test_a_json_array_line_among_rows_is_rejected(tmp_path, con, plain_counts):
    path = tmp_path / "array-line.ndjson"
    path.write_text(EVENT_LINES[0] + "\n[1,2,3]\n" + "\n".join(EVENT_LINES[1:]) + "\n")
    ingest([path], con)
    assert _all_stored(con) == plain_counts[0]
    assert 2 in [line for line, _ in _rejected(con)]


@pytest.mark.parametrize("body", ["[]\n", '{"result": [], "error": null}\n'])
def test_an_empty_export_is_reported_not_refused(tmp_path, con, body):
    path = tmp_path / "supabase-logs.json"
    path.write_text(body)
    summary = ingest([path], con)
    assert summary.files[0].empty and summary.rows == 0
    assert "empty export" in summary.files[0].notes[0]


def test_a_first_row_larger_than_the_sample_is_sniffed(tmp_path, con, plain_counts):
    first = json.loads(EVENT_LINES[0])
    first["id"] = "huge-first-row"
    first["event_message"] += " " + "x" * (SAMPLE_BYTES + 50_000)
    path = tmp_path / "huge-first.ndjson"
    path.write_text(json.dumps(first) + "\n" + "\n".join(EVENT_LINES) + "\n")
    ingest([path], con)
    assert _all_stored(con) == plain_counts[0] + 1
    (length,) = con.execute("SELECT length(event_message) FROM edge_logs WHERE id = 'huge-first-row'").fetchone() \
        if con.execute("SELECT count(*) FROM edge_logs WHERE id = 'huge-first-row'").fetchone()[0] else (None,)
    assert length is None or length > SAMPLE_BYTES


def test_json_nested_1000_deep_is_no_traceback(tmp_path, con, plain_counts):
    deep = json.loads(EVENT_LINES[1])
    deep["id"] = "deep-row"
    text = json.dumps(deep)[:-1] + ', "extra": ' + "[" * 1000 + '"x"' + "]" * 1000 + "}"
    path = tmp_path / "deep.ndjson"
    path.write_text("\n".join(EVENT_LINES[:3] + [text] + EVENT_LINES[3:]) + "\n")
    ingest([path], con)
    assert _all_stored(con) + len(_rejected(con)) == sum(plain_counts) + 1


def test_a_kong_line_of_10_mb_is_read(tmp_path, con):
    kong = (TEST_DATA / "selfhosted" / "kong.log").read_text().splitlines()
    reference = loganalyze.connect()
    ingest([TEST_DATA / "selfhosted" / "kong.log"], reference)
    before = _stored(reference) + len(_rejected(reference))
    long_line = kong[0].replace('"node"', '"' + "A" * 10_000_000 + '"')
    path = tmp_path / "kong.log"
    path.write_text("\n".join([*kong, long_line]) + "\n")
    ingest([path], con)
    assert _stored(con) + len(_rejected(con)) == before + 1


def test_latin1_csv_names_the_encoding_and_the_option(tmp_path, con):
    csv = (TEST_DATA / "hosted" / "studio-download.csv").read_text()
    path = tmp_path / "latin1.csv"
    path.write_bytes(csv.replace("node", "nöde").encode("latin-1"))
    with pytest.raises(InputError) as caught:
        ingest([path], con)
    assert "not UTF-8" in caught.value.message and "--encoding" in caught.value.hint
    assert _stored(con) == 0
    summary = ingest([path], con, encoding="latin-1")
    assert summary.rows > 0 and summary.rejected == 0
    assert con.execute("SELECT count(*) FROM edge_logs WHERE user_agent LIKE '%nöde%'").fetchone()[0] > 0


def test_invalid_utf8_in_one_value_rejects_that_row_only(tmp_path, con, plain_counts):
    data = ("\n".join(EVENT_LINES) + "\n").encode()
    at = data.index(b"request completed")
    line = data[:at].count(b"\n") + 1
    path = tmp_path / "bad-byte.ndjson"
    path.write_bytes(data[:at] + b"\xff\xfe" + data[at:])
    ingest([path], con)
    rejected = _rejected(con)
    assert (line, "invalid UTF-8 (bytes shown as \\xNN)") in rejected
    assert _all_stored(con) + len(rejected) == sum(plain_counts)
    (raw,) = con.execute("SELECT raw FROM rejected_rows WHERE line = ?", [line]).fetchone()
    assert "\\xff\\xfe" in raw


def _with_bad_bytes_in_a_value(text: str, value_prefix: bytes) -> tuple[bytes, int]:
    """`text` with two bytes that are not UTF-8 at the start of the first value opening
    with `value_prefix`, and the number of the line they are on."""
    data = text.encode()
    at = data.index(value_prefix) + len(value_prefix)
    return data[:at] + b"\xff\xe9" + data[at:], data[:at].count(b"\n") + 1


def _stored_rows(con) -> set[tuple[str, str]]:
    """(table, the row as JSON text) of every stored log row."""
    return {
        (table, row)
        for table in table_counts(con)
        for (row,) in con.execute(
            "SELECT CAST(to_json(t) AS VARCHAR) FROM (SELECT * EXCLUDE (file_id) FROM " + table + ") t"
        ).fetchall()
    }


@pytest.mark.parametrize(
    ("source", "indent", "value_prefix"),
    [
        ("studio-download.json", None, b"request completed"),  # a Logs Explorer download, one line
        ("studio-download.json", 2, b"request completed"),  # the same, pretty-printed
        ("api-page-1.json", None, b'"event_message": "'),  # a Management API page, one line
        ("api-page-1.json", 2, b'"event_message": "'),
        ("clickhouse-rows.json", 2, b'"event_message": "'),
    ],
)
def test_invalid_utf8_in_a_json_document_rejects_that_row_only(tmp_path, source, indent, value_prefix):
    doc = json.loads((TEST_DATA / "hosted" / source).read_text())
    text = json.dumps(doc, indent=indent)
    reference = connect()
    ingest([TEST_DATA / "hosted" / source], reference)
    data, _ = _with_bad_bytes_in_a_value(text, value_prefix)
    path = tmp_path / source
    path.write_bytes(data)
    con = connect()
    summary = ingest([path], con)
    (reason, raw), *others = con.execute("SELECT reason, raw FROM rejected_rows").fetchall()
    assert not others and reason == "invalid UTF-8 (bytes shown as \\xNN)"
    assert "\\xff\\xe9" in raw
    kept, everything = _stored_rows(con), _stored_rows(reference)
    assert summary.rows == len(kept) == len(everything) - 1 and kept < everything
    ((_, lost),) = everything - kept
    assert json.loads(lost)["id"] in raw


def test_invalid_utf8_in_a_pretty_printed_gotrue_object_rejects_that_object(tmp_path):
    objects = [json.loads(line) for line in (TEST_DATA / "selfhosted" / "gotrue.log").read_text().splitlines()
               if line.startswith("{")]
    text = "\n".join(json.dumps(o, indent=2) for o in objects) + "\n"
    clean = tmp_path / "gotrue-ok.log"
    clean.write_text(text)
    reference = connect()
    stored = ingest([clean], reference).rows
    data, _ = _with_bad_bytes_in_a_value(text, b'"msg": "')
    path = tmp_path / "gotrue-pretty.log"
    path.write_bytes(data)
    con = connect()
    summary = ingest([path], con)
    assert (summary.rows, summary.rejected) == (stored - 1, 1)
    (raw,) = con.execute("SELECT raw FROM rejected_rows").fetchone()
    assert '"msg":"\\xff\\xe9' in raw


def test_a_latin1_json_array_names_the_encoding(tmp_path, con):
    rows = json.loads((TEST_DATA / "hosted" / "studio-download.json").read_text())
    text = json.dumps(rows, ensure_ascii=False).replace("GET", "GÉT")
    path = tmp_path / "latin1.json"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(InputError) as caught:
        ingest([path], con)
    assert "not UTF-8" in caught.value.message and "--encoding" in caught.value.hint
    assert _all_stored(con) == 0 and not _rejected(con)
    assert ingest([path], con, encoding="latin-1").rejected == 0


def test_a_row_dated_9999_is_rejected_with_its_timestamp(tmp_path, con):
    lines = (TEST_DATA / "selfhosted" / "gotrue.log").read_text().splitlines()
    reference = connect()
    ingest([TEST_DATA / "selfhosted" / "gotrue.log"], reference)
    stored_before = _all_stored(reference)
    far = lines[0].replace('"time":"2026-11-20T10:00:01Z"', '"time":"9999-12-31T23:59:59Z"')
    assert far != lines[0]
    path = tmp_path / "gotrue.log"
    path.write_text("\n".join([*lines, far]) + "\n")
    ingest([path], con)
    assert _all_stored(con) == stored_before
    reasons = [reason for _, reason in _rejected(con)]
    assert any(reason.startswith("implausible timestamp 9999-12-31T23:59:59Z") for reason in reasons)
    (latest,) = con.execute("SELECT max(ts) FROM auth_logs").fetchone()
    assert latest.year < 2100


@pytest.mark.parametrize("when", [datetime(1973, 5, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)])
def test_plausible_range_is_configurable(tmp_path, con, when):
    row = json.loads(EVENT_LINES[0])
    row["id"] = "odd-date"
    row["timestamp"] = int(when.timestamp() * 1_000_000)
    path = tmp_path / "odd.ndjson"
    path.write_text(json.dumps(row) + "\n")
    ingest([path], con)
    assert _stored(con) == 0 and len(_rejected(con)) == 1
    con2 = loganalyze.connect()
    ingest([path], con2, reject_before="1970-01-01", max_future=timedelta(days=365 * 100))
    assert _stored(con2) == 1


def _csvlog_with_broken_entry(tmp_path):
    """Ten csvlog entries; the sixth loses the closing quote of its message."""
    source = (TEST_DATA / "postgres" / "csvlog24.csv").read_text()
    entries = re.split(r"\n(?=2026-)", source.strip("\n"))
    out = [entries[i % len(entries)].replace("09:00:0", f"09:0{i}:0") for i in range(10)]
    quoted = ',"duplicate key value violates unique constraint ""registrations_pkey""",'
    assert quoted in out[5]
    out[5] = out[5].replace(quoted, quoted[:-2] + ",")
    path = tmp_path / "postgresql.csv"
    path.write_text("\n".join(out) + "\n")
    return path


def test_a_csvlog_entry_with_a_broken_quote_is_rejected_not_merged(tmp_path, con):
    ingest([_csvlog_with_broken_entry(tmp_path)], con)
    stored = _stored(con, "postgres_logs")
    rejected = _rejected(con)
    assert stored + len(rejected) == 10
    assert [line for line, _ in rejected] == [6]
    (longest,) = con.execute("SELECT max(length(message)) FROM postgres_logs").fetchone()
    assert longest < 200  # no entry carries its neighbours


def test_a_csvlog_cut_short_rejects_its_last_entry(tmp_path, con):
    """A file copied while the server wrote it ends inside an entry: that entry has fewer
    fields than the others and is rejected, not stored with its missing fields empty."""
    source = (TEST_DATA / "postgres" / "csvlog24.csv").read_text()
    entries = re.split(r"\n(?=2026-)", source.strip("\n"))
    cut = ",".join(entries[-1].split(",")[:12])  # up to the severity; no quotes before it
    path = tmp_path / "postgresql.csv"
    path.write_text("\n".join([*entries[:-1], cut]) + "\n")
    ingest([path], con)
    rejected = _rejected(con)
    assert [line for line, _ in rejected] == [len(entries)]
    assert _stored(con, "postgres_logs") == len(entries) - 1
    (reason,) = con.execute("SELECT reason FROM rejected_rows").fetchone()
    assert "fewer than 24 fields" in reason


# --------------------------------------------------------------------------- temp files


def test_stale_work_directories_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f"loganalyze-{dead_pid}-abcd"
    stale_spill = tmp_path / f"loganalyze-spill-{dead_pid}-efgh"
    live = tmp_path / f"loganalyze-{os.getpid()}-live"
    unrelated = tmp_path / "loganalyze-notapid"
    for d in (stale, stale_spill, live, unrelated):
        d.mkdir()
        (d / "plain-1.log").write_text("x" * 100)
    removed = remove_stale_workdirs(tmp_path)
    assert sorted(removed) == sorted([stale, stale_spill])
    assert live.exists() and unrelated.exists()


def test_kill_9_during_a_gz_ingest_leaves_nothing_the_next_run_keeps(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    big = tmp_path / "big.ndjson.gz"
    with gzip.open(big, "wt", compresslevel=1) as out:
        for i in range(4000):
            for line in EVENT_LINES:
                out.write(line.replace('"id":"', f'"id":"r{i}-') + "\n")
    env = {**os.environ, "TMPDIR": str(tmp)}
    db = tmp_path / "logs.duckdb"
    proc = subprocess.Popen(
        [sys.executable, "-m", "loganalyze", "ingest", str(big), "--db", str(db)],
        env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(tmp.glob(f"loganalyze-{proc.pid}-*/plain-*")):
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    # a next run (any ingest) removes what the killed one left
    small = subprocess.run(
        [sys.executable, "-m", "loganalyze", "ingest", str(EVENTS), "--db", str(tmp_path / "other.duckdb")],
        env=env, capture_output=True, text=True,
    )
    assert small.returncode == 0, small.stderr
    assert not list(tmp.glob(f"loganalyze-{proc.pid}-*"))


def test_a_file_of_only_a_too_deep_row_fails_loudly_not_empty(tmp_path, con):
    path = tmp_path / "deep-only.ndjson"
    path.write_text('{"deep": ' + "[" * 2000 + "1" + "]" * 2000 + "}\n")
    with pytest.raises(InputError):
        ingest([path], con)
    assert con.execute("SELECT count(*) FROM ingested_files").fetchone() == (0,)
