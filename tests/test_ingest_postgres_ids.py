"""Row ids and raw text of Postgres stderr entries: an id hashes the event's key (time to
the ms, pid, severity, the message's first line) with its occurrence number among
entries with the same key; the whole raw entry is kept for rejected entries."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from loganalyze.ingest import ingest, postgres
from loganalyze.store import connect

from .conftest import TEST_DATA

DATA = TEST_DATA / "postgres"

ERROR = "2026-11-20 09:00:01.100 UTC [4101] authenticator@postgres ERROR:  column registrations.id does not exist\n"
STATEMENT_A = "2026-11-20 09:00:01.100 UTC [4101] authenticator@postgres STATEMENT:  SELECT id FROM registrations\n"
STATEMENT_B = "2026-11-20 09:00:01.100 UTC [4101] authenticator@postgres STATEMENT:  SELECT id FROM webinars\n"
CHECKPOINT = "2026-11-20 09:00:02.000 UTC [77] LOG:  checkpoint starting: time\n"


def _write(path, *lines):
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_equal_first_lines_with_different_statements_are_two_rows_and_reingest_adds_nothing(con, tmp_path):
    log = _write(tmp_path / "a.log", ERROR, STATEMENT_A, ERROR, STATEMENT_B, CHECKPOINT)
    first = ingest([log], con)
    assert (first.rows, first.rejected) == (3, 0)
    rows = con.execute(
        "SELECT statement, split_part(id, '#', 2) FROM postgres_logs WHERE severity = 'ERROR' ORDER BY statement"
    ).fetchall()
    assert rows == [("SELECT id FROM registrations", "1"), ("SELECT id FROM webinars", "2")]
    again = ingest([_write(tmp_path / "b.log", ERROR, STATEMENT_A, ERROR, STATEMENT_B, CHECKPOINT)], con)
    assert (again.rows, again.duplicates) == (0, 3)


def test_an_overlapping_export_cut_inside_an_entry_adds_it_once(con, tmp_path):
    ingest([_write(tmp_path / "whole.log", ERROR, STATEMENT_A, CHECKPOINT)], con)
    # the next export page starts with the entry's first line only (its STATEMENT was cut)
    cut = ingest([_write(tmp_path / "cut.log", ERROR, CHECKPOINT)], con)
    assert (cut.rows, cut.duplicates) == (0, 2)
    assert con.execute("SELECT statement FROM postgres_logs WHERE severity = 'ERROR'").fetchall() == [
        ("SELECT id FROM registrations",)
    ]


def test_ids_differ_when_only_the_time_differs(con, tmp_path):
    later = ERROR.replace("09:00:01.100", "09:00:01.101")
    summary = ingest([_write(tmp_path / "a.log", ERROR, later)], con)
    assert summary.rows == 2
    assert con.execute("SELECT count(DISTINCT split_part(id, '#', 1)) FROM postgres_logs").fetchall() == [(2,)]


def test_a_rejected_entry_keeps_all_its_lines(con, tmp_path):
    unknown_zone = ERROR.replace(" UTC ", " XYZT ")
    statement = STATEMENT_A.replace(" UTC ", " XYZT ")
    summary = ingest([_write(tmp_path / "a.log", CHECKPOINT, unknown_zone, statement, "\tAND user_id = $1\n")], con)
    assert (summary.rows, summary.rejected) == (1, 1)
    assert con.execute("SELECT line, reason, raw FROM rejected_rows").fetchall() == [
        (2, "unreadable timestamp: 2026-11-20 09:00:01.100 XYZT",
         unknown_zone + statement + "\tAND user_id = $1"),
    ]


@pytest.mark.parametrize("chunk", [1, 2, 3])
@pytest.mark.parametrize("name", ["interleaved.log", "repeated.log", "with_sqlstate.log", "unknown_prefix.log"])
def test_staging_in_chunks_of_entries_gives_the_same_rows(tmp_path, monkeypatch, name, chunk):
    def everything(chunk_lines):
        monkeypatch.setattr(postgres, "STAGE_CHUNK_LINES", chunk_lines)
        con = connect()
        summary = ingest([DATA / name], con, log_line_prefix="%m [%p] " if name == "unknown_prefix.log" else None)
        rows = con.execute("SELECT * EXCLUDE (file_id) FROM postgres_logs ORDER BY id").fetchall()
        rejected = con.execute("SELECT line, reason, raw FROM rejected_rows ORDER BY line").fetchall()
        return summary.rows, summary.rejected, rows, rejected

    whole = everything(1_000_000)
    assert whole[0] + whole[1] > 0
    assert everything(chunk) == whole


def test_a_log_larger_than_the_memory_budget_ingests_within_it(tmp_path):
    """Every step can spill: a 76 MB log read under a 300 MB budget stays near it."""
    pairs = 50_000
    statement = "SELECT " + ", ".join(f"registrations.col_{i}" for i in range(60)) + " FROM registrations"
    log = tmp_path / "big.log"
    with log.open("w", encoding="utf-8") as out:
        for i in range(pairs):
            ts = f"2026-11-20 09:{i // 6000 % 60:02d}:{i // 100 % 60:02d}.{i % 1000:03d} UTC"
            pid = 4000 + i % 97
            out.write(f"{ts} [{pid}] authenticator@postgres ERROR:  column registrations.c{i % 7} does not exist\n"
                      f"{ts} [{pid}] authenticator@postgres STATEMENT:  {statement} -- {i}\n")
    assert log.stat().st_size > 60e6
    script = (
        "import json, sys\n"
        "from loganalyze.ingest import ingest\n"
        "from loganalyze.store import connect\n"
        "s = ingest([sys.argv[1]], connect(sys.argv[2]), memory_limit=sys.argv[3])\n"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss across execve, so the child would
        # report the pytest process's own size when that is larger
        "hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
        "print(json.dumps([s.rows, s.rejected, hwm]))\n"
    )

    def peak(budget: str) -> int:
        done = subprocess.run(
            [sys.executable, "-c", script, str(log), str(tmp_path / f"db-{budget}.duckdb"), budget],
            capture_output=True, text=True, timeout=120, check=True,
        )
        rows, rejected, peak_kb = json.loads(done.stdout)
        assert (rows, rejected) == (pairs, 0)
        return peak_kb

    bounded, unbounded = peak("300MB"), peak("16GB")
    # Measured about 390-610 MB under the budget (the interpreter and libraries take
    # ~250 MB of it) against ~750 MB without one; RSS varies with the machine's load.
    assert bounded < 800 * 1024, f"peak RSS {bounded // 1024} MB"
    assert bounded < unbounded, (bounded // 1024, unbounded // 1024)
