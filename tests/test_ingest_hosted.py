"""Hosted Supabase exports: every shape a user can download or pull, normalized the same."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loganalyze
from loganalyze.errors import InputError, UsageError
from loganalyze.ingest import ingest
from loganalyze.store import LOG_TABLES

from .conftest import TEST_DATA

HOSTED = TEST_DATA / "hosted"
EVENTS = [json.loads(line) for line in (HOSTED / "events.ndjson").read_text().splitlines()]
UTC = dt.UTC


def rows(con, table: str, columns: str = "*") -> list[tuple]:
    return con.execute(f"SELECT {columns} FROM {table} ORDER BY id").fetchall()


def normalized(con, *, without: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    """Every log table without file_id (which differs between ingests)."""
    out = {}
    for table in LOG_TABLES:
        frame = con.sql(f"SELECT * EXCLUDE (file_id) FROM {table} ORDER BY id").pl()
        out[table] = frame.drop([c for c in without if c in frame.columns]).rows()
    return out


def test_drain_ndjson_rows_land_in_their_tables(con):
    summary = ingest([HOSTED / "events.ndjson"], con)
    assert summary.rejected == 0
    counts = {t: r.rows for t, r in summary.by_table().items()}
    assert counts == {"auth_logs": 2, "edge_logs": 4, "postgres_logs": 2, "realtime_logs": 1}
    assert summary.files[0].format == "supabase-ndjson"


def test_edge_row_fields_and_units(con):
    ingest([HOSTED / "events.ndjson"], con)
    row = con.execute(
        "SELECT ts, method, path, query, status, latency_ms, user_id, role, session_id, "
        "client_info, ip, cf_ray, error_code, request_id, apikey_role FROM edge_logs "
        "WHERE id = '7d3e0c1a-0001-4b2b-9c1d-000000000001'"
    ).fetchone()
    source = EVENTS[0]["metadata"][0]
    request, response = source["request"][0], source["response"][0]
    jwt = request["sb"][0]["jwt"][0]["authorization"][0]["payload"][0]
    assert row == (
        dt.datetime(2025, 11, 20, 1, 5, 7, 112000, tzinfo=UTC),  # 1763600707112000 µs
        "GET",
        "/rest/v1/registrations",
        request["search"],
        400,
        37.0,  # origin_time is already ms
        jwt["subject"],
        "authenticated",
        jwt["session_id"],
        "supabase-js-node/2.49.4",
        "76.76.21.21",
        "8f1c2a3b4c5d6e7f-ICN",  # the response ray, with colo suffix (joins auth request_id)
        "42703",  # from proxy_status "PostgREST; error=42703"
        response["headers"][0]["sb_request_id"],
        "anon",
    )
    # x-sb-error-code is the fallback error code (Auth responses carry no proxy_status).
    assert con.execute(
        "SELECT error_code FROM edge_logs WHERE path = '/auth/v1/token'"
    ).fetchone() == ("refresh_token_already_used",)


def test_auth_units_paths_and_string_status(con):
    ingest([HOSTED / "events.ndjson"], con)
    got = rows(con, "auth_logs", "path, method, status, duration_ms, error_code, grant_type, request_id")
    assert got == [
        ("/auth/v1/user", "GET", 200, 1534.0, None, None, "8f1c2a3b4c5d6e81-ICN"),
        # status arrived as the string "400"; duration 48041854 ns
        ("/auth/v1/token", "POST", 400, 48.041854, "refresh_token_already_used", "refresh_token",
         "8f1c2a3b4c5d6e82-ICN"),
    ]
    # The auth request joins its gateway row through the Cloudflare ray.
    joined = con.execute(
        "SELECT e.latency_ms, a.duration_ms FROM edge_logs e JOIN auth_logs a "
        "ON a.request_id = e.cf_ray WHERE e.path = '/auth/v1/user'"
    ).fetchall()
    assert joined == [(1987.0, 1534.0)]


def test_postgres_and_realtime_rows(con):
    ingest([HOSTED / "events.ndjson"], con)
    pg = rows(con, "postgres_logs", "severity, sqlstate, sqlstate_inferred, message, detail, user_name, pid, query_id")
    assert pg[0][:4] == ("ERROR", "42703", False, "column registrations.id does not exist")
    assert pg[1][1] == "23505" and pg[1][4].startswith("Key (webinar_id, user_id)=(")
    assert pg[0][5] == "authenticator" and pg[0][6] == 48211
    # query_id beyond 2^53 is kept as text rather than a wrong integer
    assert pg[0][7] is not None
    rt = rows(con, "realtime_logs", "metric, sum_value, limit_value, external_id")
    assert rt == [("presence_events", 37.0, 100.0, "abcdefghijklmnopqrst")]


@pytest.mark.parametrize(
    ("fixture", "fmt"),
    [
        ("studio-download.json", "supabase-json"),
        ("studio-download.csv", "supabase-csv"),
        ("events.ndjson.gz", "supabase-ndjson"),
    ],
)
def test_every_export_shape_gives_identical_rows(fixture, fmt):
    reference = loganalyze.connect()
    ingest([HOSTED / "events.ndjson"], reference)
    other = loganalyze.connect()
    summary = ingest([HOSTED / fixture], other)
    assert summary.files[0].format == fmt
    assert summary.rejected == 0
    assert normalized(other) == normalized(reference)


def test_api_envelope_pages_overlap_without_duplicates():
    reference = loganalyze.connect()
    ingest([HOSTED / "events.ndjson"], reference)
    con = loganalyze.connect()
    summary = ingest([HOSTED / "api-page-1.json", HOSTED / "api-page-2.json"], con)
    assert [f.format for f in summary.files] == ["supabase-api", "supabase-api"]
    assert summary.duplicates == 2  # the two rows both pages hold
    assert normalized(con) == normalized(reference)


def test_clickhouse_rows_normalize_like_bigquery_rows():
    reference = loganalyze.connect()
    ingest([HOSTED / "events.ndjson"], reference)
    con = loganalyze.connect()
    summary = ingest([HOSTED / "clickhouse-rows.json"], con)
    assert summary.rejected == 0
    # Attributes are strings in ClickHouse; once typed, the rows are the same, except
    # query_id (the BigQuery row holds a float-rounded number) and identifier (the
    # ClickHouse logs table has no such column).
    without = ("query_id", "identifier")
    assert normalized(con, without=without) == normalized(reference, without=without)


def test_partial_export_with_flattened_columns(con, tmp_path):
    # The Studio's default API-gateway query: id, identifier, timestamp, event_message,
    # request.method, request.path, request.search, response.status_code.
    partial = [
        {
            "id": e["id"],
            "identifier": e["identifier"],
            "timestamp": e["timestamp"],
            "event_message": e["event_message"],
            "method": e["metadata"][0]["request"][0]["method"],
            "path": e["metadata"][0]["request"][0]["path"],
            "search": e["metadata"][0]["request"][0]["search"],
            "status_code": e["metadata"][0]["response"][0]["status_code"],
        }
        for e in EVENTS
        if "request" in e["metadata"][0]
    ]
    path = tmp_path / "edge-partial.json"
    path.write_text(json.dumps(partial, indent=2))
    summary = ingest([path], con)
    assert summary.rejected == 0
    assert rows(con, "edge_logs", "method, path, status") == [
        ("GET", "/rest/v1/registrations", 400),
        ("POST", "/rest/v1/registrations", 409),
        ("GET", "/auth/v1/user", 200),
        ("POST", "/auth/v1/token", 400),
    ]


def test_event_message_alone_still_gives_method_status_and_path(con, tmp_path):
    only_message = [{k: e[k] for k in ("id", "timestamp", "event_message")} for e in EVENTS[:4]]
    path = tmp_path / "edge-messages.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in only_message))
    ingest([path], con)
    assert rows(con, "edge_logs", "method, path, query IS NOT NULL, status, ip, user_agent")[0] == (
        "GET", "/rest/v1/registrations", True, 400, "76.76.21.21", "node",
    )


def test_real_sample_rows_ingest_without_rejects(con, shared_dir, tmp_path):
    samples = shared_dir / "real_samples"
    for name in ("006_auth_logs_rows_from_logs_api.txt", "008_edge_logs_row_post_400_proxy_status.txt",
                 "010_postgres_logs_rows_42703_and_25P02.txt"):
        body = [ln for ln in (samples / name).read_text().splitlines() if ln and not ln.startswith("#")]
        (tmp_path / (name + ".ndjson")).write_text("\n".join(body) + "\n")
    summary = ingest([tmp_path], con)
    assert summary.rejected == 0
    assert con.execute("SELECT error_code FROM edge_logs").fetchall() == [("22008",)]
    assert con.execute("SELECT count(*) FROM auth_logs WHERE status = 400").fetchone() == (2,)
    assert sorted(con.execute("SELECT sqlstate FROM postgres_logs").fetchall()) == [("25P02",), ("42703",)]


# ----------------------------------------------------------------- dedupe, atomicity
def test_reingest_adds_nothing(con):
    ingest([HOSTED / "events.ndjson"], con)
    again = ingest([HOSTED / "events.ndjson", HOSTED / "studio-download.json"], con)
    assert again.rows == 0
    assert again.duplicates == 2 * len(EVENTS)
    assert con.execute("SELECT count(*) FROM edge_logs").fetchone() == (4,)
    assert con.execute("SELECT count(*) FROM ingested_files").fetchone() == (3,)


def test_failed_ingest_leaves_database_as_it_was(con, tmp_path):
    ingest([HOSTED / "events.ndjson"], con)
    before = normalized(con), con.execute("SELECT count(*) FROM ingested_files").fetchone()
    broken = tmp_path / "broken.json"
    broken.write_text((HOSTED / "studio-download.json").read_text()[:-40])  # truncated
    extra = tmp_path / "more.ndjson"
    extra.write_text(json.dumps({**EVENTS[0], "id": "new-row"}) + "\n")
    with pytest.raises(InputError) as err:
        ingest([extra, broken], con)  # the good file comes first and is rolled back too
    assert str(broken) in str(err.value)
    assert (normalized(con), con.execute("SELECT count(*) FROM ingested_files").fetchone()) == before


# ------------------------------------------------------------------------ bad input
def _bad(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "make", "pattern"),
    [
        ("malformed.json", lambda: b'[{"id": "a", "timestamp": 1763600707112000 "event_message": "x"}]', r"malformed\.json"),
        ("truncated.ndjson", lambda: (HOSTED / "events.ndjson").read_bytes()[:-300], r"truncated\.ndjson"),
        ("quote.csv", lambda: b'id,timestamp,event_message\n"a,1763600707112000,"GET | 400\n', r"quote\.csv"),
        ("cut.json.gz", lambda: gzip.compress((HOSTED / "studio-download.json").read_bytes())[:700], r"cut\.json\.gz.*decompress"),
        ("image.bin", lambda: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), r"image\.bin.*binary"),
        ("notes.txt", lambda: b"dear diary, the webinar was slow today\n", r"notes\.txt.*unknown log format"),
        ("api-error.json", lambda: json.dumps({"result": [], "error": {"code": 400, "errors": [{"reason": "resourcesExceeded"}]}}).encode(), r"api-error\.json.*resourcesExceeded"),
    ],
)
def test_unreadable_files_fail_naming_the_file(con, tmp_path, name, make, pattern):
    path = _bad(tmp_path, name, make())
    with pytest.raises(InputError) as err:
        ingest([path], con)
    assert re.search(pattern, str(err.value)), str(err.value)
    assert err.value.exit_code == 3
    assert con.execute("SELECT count(*) FROM ingested_files").fetchone() == (0,)


def test_empty_file_is_reported_not_an_error(con, tmp_path):
    path = _bad(tmp_path, "empty.json", b"")
    summary = ingest([path], con)
    assert summary.files[0].empty and summary.rows == 0
    assert "empty" in summary.files[0].notes[0]


def test_rows_that_cannot_be_normalized_are_kept_and_counted(con, tmp_path):
    good = EVENTS[0]
    no_time = {k: v for k, v in EVENTS[1].items() if k != "timestamp"}
    bad_status = json.loads(json.dumps(EVENTS[2]))
    bad_status["metadata"][0]["response"][0]["status_code"] = "teapot"
    unknown = {"id": "x1", "timestamp": 1763600707112000, "event_message": "something else", "metadata": [{"foo": 1}]}
    path = tmp_path / "mixed.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in (good, no_time, bad_status, unknown)))
    summary = ingest([path], con)
    assert summary.rows == 1 and summary.rejected == 3
    kept = con.execute("SELECT line, reason FROM rejected_rows ORDER BY line").fetchall()
    assert [k[0] for k in kept] == [2, 3, 4]
    assert "timestamp" in kept[0][1]
    assert "teapot" in kept[1][1]
    assert "--source" in kept[2][1]
    raw = con.execute("SELECT raw FROM rejected_rows WHERE line = 3").fetchone()[0]
    assert json.loads(raw)["id"] == bad_status["id"]


def test_strict_turns_a_rejected_row_into_failure(con, tmp_path):
    no_time = {k: v for k, v in EVENTS[1].items() if k != "timestamp"}
    path = tmp_path / "strict.ndjson"
    path.write_text(json.dumps(EVENTS[0]) + "\n" + json.dumps(no_time) + "\n")
    with pytest.raises(InputError) as err:
        ingest([path], con, strict=True)
    assert "strict.ndjson:2" in str(err.value)
    assert con.execute("SELECT count(*) FROM edge_logs").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM rejected_rows").fetchone() == (0,)


def test_source_forces_the_table_of_unroutable_rows(con, tmp_path):
    rows_ = [{"id": "r1", "timestamp": 1763600707112000, "event_message": "Starting PostgREST 13.0.4..."}]
    path = tmp_path / "postgrest.json"
    path.write_text(json.dumps(rows_))
    ingest([path], con, source="postgrest_logs")
    assert con.execute("SELECT message, kind FROM postgrest_logs").fetchall() == [
        ("Starting PostgREST 13.0.4...", "diagnostic")
    ]
    with pytest.raises(UsageError):
        ingest([path], con, source="nonsense_logs")


def test_directories_recurse_and_skip_sidecars(con, tmp_path):
    nested = tmp_path / "export" / "day1"
    nested.mkdir(parents=True)
    shutil.copy(HOSTED / "events.ndjson", nested / "drain.ndjson")
    (tmp_path / "export" / "README.md").write_text("# how this export was pulled\n")
    (tmp_path / "export" / "manifest.json").write_text("{}")
    summary = ingest([tmp_path / "export"], con)
    assert [Path(f.file).name for f in summary.files] == ["drain.ndjson"]


# ------------------------------------------------------------------- timestamps
@settings(max_examples=60, deadline=None)
@given(st.datetimes(min_value=dt.datetime(2001, 1, 1), max_value=dt.datetime(2100, 1, 1)))
def test_epoch_timestamps_in_every_unit_mean_the_same_instant(moment):
    con = loganalyze.connect()
    con.execute(loganalyze.store.schema_sql())
    from loganalyze.ingest.core import install_macros

    install_macros(con)
    aware = moment.replace(tzinfo=UTC)
    micros = int(aware.timestamp()) * 1_000_000 + aware.microsecond
    got = con.execute(
        "SELECT la_ts(?), la_ts(?), la_ts(?), la_ts(?)",
        [str(micros), str(micros // 1000), str(micros // 1_000_000), aware.isoformat()],
    ).fetchone()
    assert got[0] == aware
    assert got[1] == aware.replace(microsecond=aware.microsecond // 1000 * 1000)
    assert got[2] == aware.replace(microsecond=0)
    assert got[3] == aware


def test_progress_is_monotonic_and_reaches_the_total(con):
    files = [HOSTED / "events.ndjson", HOSTED / "studio-download.csv"]
    total = sum(f.stat().st_size for f in files)
    seen: list[tuple[str, int, int]] = []
    ingest(files, con, progress=lambda name, done, all_bytes: seen.append((name, done, all_bytes)))
    done = [d for _, d, _ in seen]
    assert done == sorted(done)
    assert seen[-1][1:] == (total, total)
    assert {Path(n).name for n, _, _ in seen} == {f.name for f in files}


def test_large_compact_api_page_is_recognized(con, tmp_path):
    # One long line, larger than the sniffing sample: the first row's keys must not
    # hide the envelope.
    page = [{**EVENTS[i % len(EVENTS)], "id": f"row-{i:05d}"} for i in range(400)]
    path = tmp_path / "logs-all-page.json"
    path.write_text(json.dumps({"error": None, "result": page}, separators=(",", ":")))
    assert path.stat().st_size > 256 * 1024
    summary = ingest([path], con)
    assert summary.files[0].format == "supabase-api"
    assert summary.rows == 400 and summary.rejected == 0


def test_a_row_delivered_twice_in_one_file_is_kept_once(con, tmp_path):
    # Drains deliver at least once: the same event can repeat inside one batch file.
    path = tmp_path / "drain.ndjson"
    path.write_text("".join(json.dumps(e) + "\n" for e in (EVENTS[0], EVENTS[1], EVENTS[0])))
    summary = ingest([path], con)
    assert (summary.rows, summary.duplicates) == (2, 1)
    assert con.execute("SELECT count(*), count(DISTINCT id) FROM edge_logs").fetchone() == (2, 2)


def test_ingest_runs_under_a_memory_budget_and_restores_the_setting(con):
    def limit() -> str:
        return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]

    before = limit()
    during: list[str] = []
    ingest([HOSTED / "events.ndjson"], con, memory_limit="300MB",
           progress=lambda *_: during.append(limit()) if not during else None)
    assert during and during[0].startswith(("286", "300"))  # 300MB, shown in MiB or MB
    assert limit() == before
    with pytest.raises(UsageError):
        ingest([HOSTED / "events.ndjson"], con, memory_limit="lots")
    explicit = loganalyze.connect(memory_limit="1GB")
    ingest([HOSTED / "events.ndjson"], explicit, memory_limit="300MB")
    assert explicit.execute("SELECT current_setting('memory_limit')").fetchone()[0].startswith(("953", "1000"))
