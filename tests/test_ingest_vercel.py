"""Vercel logs: drains (NDJSON and batch arrays), `vercel logs --json` and the dashboard
export, into vercel_logs with one request row per invocation plus console lines."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from loganalyze.ingest import Sample, formats, ingest, take_sample

from .conftest import TEST_DATA

VERCEL = TEST_DATA / "vercel"
UTC = dt.UTC
PING = "iad1::abc12-1763632800000-0a1b2c3d4e5f"
USER = "9b2f0c1e-1111-4a4a-9c9c-000000000001"


def ms(epoch_ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)


def test_drain_invocation_has_a_request_row_and_console_lines(con):
    summary = ingest([VERCEL / "drain.ndjson"], con)
    assert summary.files[0].format == "vercel"
    assert (summary.rows, summary.rejected) == (5, 0)
    got = con.execute(
        "SELECT ts, type, method, path, query, status, duration_ms, level, host, user_agent, region "
        "FROM vercel_logs WHERE request_id = $r ORDER BY ts",
        {"r": PING},
    ).fetchall()
    agent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)"
    base = ("POST", "/api/presence/ping", None, 200)
    assert got == [
        # the REPORT line: the invocation's start and its duration
        (ms(1763632800000), "report", *base, pytest.approx(812.37), "info", "eventlive.example.com", agent, "icn1"),
        (ms(1763632800002), "stdout", *base, None, "info", "eventlive.example.com", agent, "icn1"),
        (ms(1763632800811), "stderr", *base, None, "error", "eventlive.example.com", agent, "icn1"),
    ]


def test_drain_attribution_line_carries_the_user(con):
    ingest([VERCEL / "drain.ndjson"], con)
    assert con.execute(
        "SELECT count(*) FROM vercel_logs WHERE request_id = $r AND message LIKE $m",
        {"r": PING, "m": f"%user={USER}%"},
    ).fetchone() == (2,)


def test_drain_query_is_split_from_the_path(con):
    ingest([VERCEL / "drain.ndjson"], con)
    assert con.execute(
        "SELECT path, query, status, duration_ms FROM vercel_logs WHERE path = '/api/access/track'"
    ).fetchall() == [("/api/access/track", "?webinar=7", 500, pytest.approx(95.2))]


def test_drain_batch_array_gives_the_same_rows_as_ndjson(con):
    ingest([VERCEL / "drain.ndjson"], con)
    ndjson = con.sql("SELECT * EXCLUDE (file_id) FROM vercel_logs ORDER BY id").fetchall()
    con.execute("DELETE FROM vercel_logs")
    summary = ingest([VERCEL / "drain_batch.json"], con)
    assert summary.files[0].format == "vercel"
    assert con.sql("SELECT * EXCLUDE (file_id) FROM vercel_logs ORDER BY id").fetchall() == ndjson


def test_drain_reingest_and_overlapping_batch_add_nothing(con):
    ingest([VERCEL / "drain.ndjson"], con)
    again = ingest([VERCEL / "drain.ndjson", VERCEL / "drain_batch.json"], con)
    assert (again.rows, again.duplicates) == (0, 10)


def test_cli_request_logs_first_entry_is_the_request_later_ones_console(con):
    summary = ingest([VERCEL / "cli_request_logs.ndjson"], con)
    assert (summary.files[0].format, summary.rows, summary.rejected) == ("vercel", 3, 0)
    got = con.execute(
        "SELECT id, request_id, type, method, path, query, status, host FROM vercel_logs ORDER BY id"
    ).fetchall()
    request = "abc12-1763632800000-0a1b2c3d4e5f"
    assert got == [
        (request, request, None, "POST", "/api/presence/ping", None, 200, "eventlive.example.com"),
        (request + "_1", request, "stderr", "POST", "/api/presence/ping", None, 200, "eventlive.example.com"),
        ("ghi56-1763632802000-2a3b4c5d6e7f", "ghi56-1763632802000-2a3b4c5d6e7f", None, "GET", "/live",
         "?webinar=7", 304, "eventlive.example.com"),
    ]


def test_cli_runtime_follow_lines(con):
    ingest([VERCEL / "cli_runtime_follow.ndjson"], con)
    assert con.execute(
        "SELECT id, ts, source, method, path, status FROM vercel_logs ORDER BY ts"
    ).fetchall() == [
        ("7k2p9-000002", ms(1763632803100), "request", "POST", "/api/access/track", 200),
        ("7k2p9-000001", ms(1763632803120), "serverless", "POST", "/api/access/track", 200),
    ]


def test_dashboard_export_paths_without_host_and_one_request_row(con):
    summary = ingest([VERCEL / "dashboard_export.json"], con)
    assert (summary.files[0].format, summary.rows, summary.rejected) == ("vercel", 3, 0)
    got = con.execute(
        "SELECT ts, request_id, type, path, query, status, level, user_agent FROM vercel_logs ORDER BY ts"
    ).fetchall()
    ping = "jngrp-1763632800000-627d52fb03a6"
    iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)"
    assert got == [
        (ms(1763632800004), ping, "function", "/api/presence/ping", None, 200, "info", iphone),
        (ms(1763632800790), ping, "stderr", "/api/presence/ping", None, 200, "error", iphone),
        (ms(1763632805000), "jngrp-1763632805000-99aa00bb11cc", "function", "/api/stats/access",
         "?webinar=7", 200, "info", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"),
    ]
    assert ingest([VERCEL / "dashboard_export.json"], con).rows == 0


def test_bad_drain_lines_are_rejected_not_fatal(con):
    summary = ingest([VERCEL / "bad.ndjson"], con)
    assert (summary.rows, summary.rejected) == (1, 3)
    assert con.execute("SELECT line, reason FROM rejected_rows ORDER BY line").fetchall() == [
        (2, "no timestamp, timestampInMs or TimeUTC"),
        (3, "status is not a number: teapot"),
        (4, "not a JSON object"),
    ]


def test_real_vercel_samples_ingest_without_rejects(con, shared_dir, tmp_path):
    drain = tmp_path / "drain.ndjson"
    drain.write_text(_without_header(shared_dir / "real_samples" / "031_vercel_log_drain_docs_examples.txt"))
    # the dashboard row was pasted with its message cut short: close the string and object
    dashboard = tmp_path / "dashboard.json"
    cut = _without_header(shared_dir / "real_samples" / "032_vercel_dashboard_log_export_record.txt")
    dashboard.write_text(cut.rstrip("\n") + '"\n}\n')
    summary = ingest([drain, dashboard], con)
    assert [(f.format, f.rows, f.rejected) for f in summary.files] == [("vercel", 2, 0), ("vercel", 1, 0)]
    assert con.execute(
        "SELECT path, query, status, region FROM vercel_logs WHERE request_id IS NOT NULL ORDER BY ts"
    ).fetchall() == [
        ("/api/users", "?page=1", 200, "sfo1"),
        ("/api/x-algorithm-analysis", None, 202, None),
    ]


def _without_header(path: Path) -> str:
    return "".join(ln for ln in path.read_text().splitlines(True) if not ln.startswith("#"))


@pytest.mark.parametrize("name", sorted(p.name for p in VERCEL.iterdir()))
def test_vercel_fixtures_are_sniffed_as_vercel_only(name):
    sample = take_sample(VERCEL / name, name)
    scores = sorted(((fmt.sniff(sample), fmt.name) for fmt in formats()), reverse=True)
    assert scores[0][1] == "vercel"
    assert scores[1][0] < scores[0][0]


def test_hosted_drain_rows_are_not_taken_for_vercel():
    row = {"id": "x", "timestamp": 1763632800000000, "event_message": "GET | 200 | ...",
           "metadata": [{"request": [{"method": "GET"}]}]}
    sample_text = json.dumps(row) + "\n"
    sample = Sample(text=sample_text, lines=(sample_text.strip(),), complete=True)
    vercel = next(f for f in formats() if f.name == "vercel")
    assert vercel.sniff(sample) == 0
