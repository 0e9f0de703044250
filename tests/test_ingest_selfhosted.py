"""Self-hosted Supabase containers: GoTrue, PostgREST, Kong, Realtime, Supavisor and the
Logflare/Vector event JSON, normalized into the same tables as the hosted exports."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest

from loganalyze.errors import InputError
from loganalyze.ingest import formats, ingest, take_sample

from .conftest import TEST_DATA

SELFHOSTED = TEST_DATA / "selfhosted"
UTC = dt.UTC
DAY = dt.date(2026, 11, 20)


def at(hour: int, minute: int, second: int, micro: int = 0, day: int = 20) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, second, micro, tzinfo=UTC)


def real_sample(shared_dir: Path, prefix: str, tmp_path: Path, *, drop=()) -> Path:
    """A real sample as a log file: its `#` provenance header removed, and lines that are
    the paste's own decoration (list markers, a CLI banner) taken out."""
    (source,) = (shared_dir / "real_samples").glob(prefix + "_*")
    lines = [ln for ln in source.read_text().splitlines() if not ln.startswith("#")]
    lines = [re.sub(r"^- ", "", ln) for ln in lines if not any(d in ln for d in drop)]
    out = tmp_path / source.name
    out.write_text("\n".join(lines) + "\n")
    return out


# --------------------------------------------------------------------------- GoTrue
def test_gotrue_lines_become_auth_rows_with_public_paths_and_ms(con):
    summary = ingest([SELFHOSTED / "gotrue.log"], con)
    assert summary.files[0].format == "gotrue"
    assert (summary.rows, summary.rejected) == (9, 0)
    user_calls = con.execute(
        "SELECT ts, path, status, duration_ms FROM auth_logs "
        "WHERE msg = 'request completed' AND method = 'GET' ORDER BY ts"
    ).fetchall()
    # `duration` is nanoseconds; 1843220117 ns = 1843.220117 ms
    assert user_calls == [
        (at(10, 0, 1), "/auth/v1/user", 200, pytest.approx(1843.220117)),
        (at(10, 0, 2), "/auth/v1/user", 200, pytest.approx(2210.450003)),
        (at(10, 0, 6), "/auth/v1/user", 200, pytest.approx(1999.0)),
    ]


def test_gotrue_old_two_line_error_and_consolidated_error_read_alike(con):
    ingest([SELFHOSTED / "gotrue.log"], con)
    completed = con.execute(
        "SELECT request_id, status, error_code, error, grant_type FROM auth_logs "
        "WHERE path = '/auth/v1/token' AND msg = 'request completed' AND status = 400 "
        "ORDER BY request_id"
    ).fetchall()
    assert completed == [
        # pre-2.194: the error text came on the line before, without a status
        ("0b7f6f0e-5c1d-4e7a-9f0a-333333333333", 400, "refresh_token_already_used",
         "Possible abuse attempt: 8812", "refresh_token"),
        # 2.194+: one line carries it
        ("0b7f6f0e-5c1d-4e7a-9f0a-444444444444", 400, "refresh_token_already_used",
         "Refresh token behind current counter by 1, session 6f1c2d3e-0000-4000-8000-000000000abc "
         "is terminated due to refresh token reuse", "refresh_token"),
    ]
    # the separate error line of the old form stays a row of its own, without a status
    error_line = con.execute(
        "SELECT msg, status FROM auth_logs WHERE request_id = '0b7f6f0e-5c1d-4e7a-9f0a-333333333333' "
        "AND msg <> 'request completed'"
    ).fetchall()
    assert error_line == [("400: Invalid Refresh Token: Already Used", None)]


def test_gotrue_audit_and_metering_lines_fill_action_and_user(con):
    ingest([SELFHOSTED / "gotrue.log"], con)
    got = con.execute(
        "SELECT msg, action, user_id, request_id FROM auth_logs "
        "WHERE action IS NOT NULL ORDER BY msg"
    ).fetchall()
    user = "9b2f0c1e-1111-4a4a-9c9c-000000000001"
    request = "0b7f6f0e-5c1d-4e7a-9f0a-555555555555"
    assert got == [
        ("Login", "login", user, None),
        ("audit_event", "token_refreshed", user, request),
        ("request completed", "token_refreshed", user, request),
    ]


def test_gotrue_reingest_adds_nothing(con):
    ingest([SELFHOSTED / "gotrue.log"], con)
    again = ingest([SELFHOSTED / "gotrue.log"], con)
    assert (again.rows, again.duplicates) == (0, 9)
    assert con.execute("SELECT count(*) FROM auth_logs").fetchone() == (9,)


def test_gotrue_identical_lines_in_one_file_are_all_kept(con, tmp_path):
    line = (SELFHOSTED / "gotrue.log").read_text().splitlines()[0]
    log = tmp_path / "auth.log"
    log.write_text(f"{line}\n{line}\n")
    assert ingest([log], con).rows == 2


def test_gotrue_overlapping_export_with_repeated_lines_adds_only_the_new_repeat(con, tmp_path):
    # a line logged twice in one second, then a third time: ids count occurrences, so
    # the later export that holds all three adds one row, not three
    lines = (SELFHOSTED / "gotrue.log").read_text().splitlines()
    first, later = tmp_path / "auth-1.log", tmp_path / "auth-2.log"
    first.write_text("\n".join([lines[0], lines[0], lines[1]]) + "\n")
    later.write_text("\n".join([lines[0], lines[0], lines[1], lines[0], lines[2]]) + "\n")
    assert ingest([first], con).rows == 3
    again = ingest([later], con)
    assert (again.rows, again.duplicates) == (2, 3)
    assert con.execute("SELECT count(*) FROM auth_logs WHERE request_id = "
                       "(SELECT request_id FROM auth_logs GROUP BY 1 ORDER BY count(*) DESC LIMIT 1)"
                       ).fetchone() == (3,)


def test_rejected_line_numbers_count_blank_lines_in_every_file_of_one_ingest(con, tmp_path):
    good = (SELFHOSTED / "gotrue.log").read_text().splitlines()[0]
    other = tmp_path / "auth-2.log"
    other.write_text(f"{good}\n\n   \nnot json\n{good}\n")
    summary = ingest([SELFHOSTED / "gotrue_bad.log", other], con)
    assert [f.rejected for f in summary.files] == [3, 1]
    assert con.execute(
        "SELECT line, reason, raw FROM rejected_rows WHERE file = ?", [str(other)]
    ).fetchall() == [(4, "not a GoTrue JSON line", "not json")]


def test_gotrue_bad_lines_are_rejected_with_reasons(con):
    summary = ingest([SELFHOSTED / "gotrue_bad.log"], con)
    assert (summary.rows, summary.rejected) == (1, 3)
    rejected = con.execute("SELECT line, reason FROM rejected_rows ORDER BY line").fetchall()
    assert rejected == [
        (2, 'GoTrue line without "time"'),
        (3, "not a GoTrue JSON line"),
        (4, "status is not a number: OK"),
    ]


def test_gotrue_docker_timestamp_prefix_is_split_off(con, tmp_path):
    line = (SELFHOSTED / "gotrue.log").read_text().splitlines()[0]
    log = tmp_path / "auth.log"
    log.write_text("2026-11-20T10:00:01.734512345Z " + line + "\n")
    ingest([log], con)
    assert con.execute("SELECT ts, path FROM auth_logs").fetchall() == [(at(10, 0, 1), "/auth/v1/user")]


@pytest.mark.parametrize("prefix", ["001", "002", "004"])
def test_real_gotrue_samples_ingest_without_rejects(con, shared_dir, tmp_path, prefix):
    summary = ingest([real_sample(shared_dir, prefix, tmp_path)], con)
    assert summary.files[0].format == "gotrue"
    assert summary.rejected == 0
    assert summary.rows == len(take_sample(real_sample(shared_dir, prefix, tmp_path), "x").lines)


# --------------------------------------------------------------------------- PostgREST
def test_postgrest_access_stderr_and_query_lines(con):
    summary = ingest([SELFHOSTED / "postgrest.log"], con)
    assert summary.files[0].format == "postgrest"
    assert (summary.rows, summary.rejected) == (9, 0)
    kinds = dict(con.execute("SELECT kind, count(*) FROM postgrest_logs GROUP BY kind").fetchall())
    assert kinds == {"access": 3, "diagnostic": 5, "query": 1}
    access = con.execute(
        "SELECT ts, method, path, query, status, role, ip, user_agent FROM postgrest_logs "
        "WHERE kind = 'access' ORDER BY ts, status"
    ).fetchall()
    assert access[0] == (at(10, 0, 1), "GET", "/registrations", "?select=id&webinar_id=eq.7", 400,
                         "authenticated", "172.18.0.10", "node")
    assert access[1][1:5] == ("POST", "/registrations", None, 409)


def test_postgrest_stderr_error_code_is_kept_and_viewer_prefix_dropped(con):
    ingest([SELFHOSTED / "postgrest.log"], con)
    assert con.execute(
        "SELECT sqlstate FROM postgrest_logs WHERE sqlstate IS NOT NULL"
    ).fetchall() == [("PGRST000",)]
    # the Docker Desktop viewer's local time (19:00) is not the line's time (10:00 UTC)
    assert con.execute(
        "SELECT ts FROM postgrest_logs WHERE message = 'Config reloaded'"
    ).fetchall() == [(at(10, 0, 4),)]


@pytest.mark.parametrize("prefix,rows", [("019", 12), ("021", 14)])
def test_real_postgrest_samples_ingest_without_rejects(con, shared_dir, tmp_path, prefix, rows):
    summary = ingest([real_sample(shared_dir, prefix, tmp_path)], con)
    assert summary.files[0].format == "postgrest"
    assert (summary.rows, summary.rejected) == (rows, 0)


def test_real_postgrest_access_line_time_zone_is_applied(con, shared_dir, tmp_path):
    ingest([real_sample(shared_dir, "021", tmp_path)], con)
    assert con.execute(
        "SELECT ts, role, status FROM postgrest_logs WHERE path = '/protected_table'"
    ).fetchall() == [(dt.datetime(2025, 2, 17, 22, 28, 15, tzinfo=UTC), "web_anon", 401)]


# --------------------------------------------------------------------------- Kong
def test_kong_access_lines_land_in_edge_logs(con):
    summary = ingest([SELFHOSTED / "kong.log"], con)
    assert summary.files[0].format == "kong"
    assert (summary.rows, summary.rejected) == (5, 1)
    got = con.execute(
        "SELECT method, path, query, status, latency_ms, user_id, ip FROM edge_logs ORDER BY ts, id"
    ).fetchall()
    statuses = sorted(r[3] for r in got)
    assert statuses == [200, 400, 400, 400, 409]
    assert ("GET", "/rest/v1/registrations", "?select=id&webinar_id=eq.7", 400, None, None,
            "172.18.0.1") in got
    assert ("POST", "/auth/v1/token", "?grant_type=refresh_token", 400, None, None, "10.0.0.6") in got
    assert con.execute("SELECT reason FROM rejected_rows").fetchall() == [
        ("nginx error-log line (not a request)",)
    ]


# --------------------------------------------------------------------------- Realtime
def test_realtime_needs_a_date(con):
    with pytest.raises(InputError, match="only a time of day") as err:
        ingest([SELFHOSTED / "realtime.log"], con)
    assert "--date" in (err.value.hint or "")
    assert con.execute("SELECT count(*) FROM realtime_logs").fetchone() == (0,)


def test_realtime_lines_with_and_without_metadata(con):
    summary = ingest([SELFHOSTED / "realtime.log"], con, reference_date=DAY)
    assert summary.files[0].format == "realtime"
    assert (summary.rows, summary.rejected) == (6, 0)
    got = con.execute(
        "SELECT ts, level, project, external_id, error_code, metric FROM realtime_logs ORDER BY ts"
    ).fetchall()
    assert got == [
        (at(10, 0, 0, 120000), "info", None, None, None, None),
        (at(10, 0, 1, 2000), "info", "eventlive", "eventlive", None, "connections"),
        (at(10, 0, 1, 3000), "info", "eventlive", "eventlive", None, "presence_events"),
        (at(10, 0, 2, 451000), "error", "eventlive", "eventlive", "PresenceRateLimitReached", None),
        (at(10, 0, 3, 900000), "debug", None, None, None, None),
        # prod layout: metadata after the message
        (at(10, 0, 4, 10000), "warning", "eventlive", "eventlive", "UnableToConnectToProject", None),
    ]


def test_realtime_continuation_lines_fold_into_their_entry(con):
    ingest([SELFHOSTED / "realtime.log"], con, reference_date=DAY)
    (message,) = con.execute(
        "SELECT message FROM realtime_logs WHERE level = 'debug'"
    ).fetchone()
    assert message.splitlines() == [
        'QUERY OK source="extensions" db=1.2ms idle=1830.3ms',
        'SELECT e0."id", e0."type" FROM "extensions" AS e0 WHERE (e0."tenant_external_id" = $1) ["eventlive"]',
    ]
    (trimmed,) = con.execute("SELECT message FROM realtime_logs WHERE level = 'warning'").fetchone()
    assert trimmed == "UnableToConnectToProject: Realtime was unable to connect to the project database"


def test_realtime_docker_timestamps_give_the_date_across_midnight(con):
    ingest([SELFHOSTED / "realtime_docker_timestamps.log"], con)
    assert con.execute("SELECT ts FROM realtime_logs ORDER BY ts").fetchall() == [
        (at(23, 59, 59, 120345),), (at(0, 0, 4, 121345, day=21),),
    ]


def test_realtime_time_of_day_wrapping_past_midnight_moves_to_next_day(con, tmp_path):
    log = tmp_path / "realtime.log"
    log.write_text("23:59:58.000 [info] a\n00:00:01.000 [info] b\n")
    ingest([log], con, reference_date=DAY)
    assert con.execute("SELECT ts FROM realtime_logs ORDER BY ts").fetchall() == [
        (at(23, 59, 58),), (at(0, 0, 1, day=21),),
    ]


def test_realtime_text_before_the_first_entry_is_rejected(con, tmp_path):
    log = tmp_path / "realtime.log"
    log.write_text("supabase_realtime_eventlive container logs:\n" + (SELFHOSTED / "realtime.log").read_text())
    summary = ingest([log], con, reference_date=DAY)
    assert (summary.rows, summary.rejected) == (6, 1)
    assert con.execute("SELECT line, reason FROM rejected_rows").fetchall() == [
        (1, "text before the first log entry")
    ]


def test_realtime_reingest_adds_nothing_but_another_day_does(con):
    ingest([SELFHOSTED / "realtime.log"], con, reference_date=DAY)
    assert ingest([SELFHOSTED / "realtime.log"], con, reference_date=DAY).rows == 0
    assert ingest([SELFHOSTED / "realtime.log"], con, reference_date=DAY + dt.timedelta(days=1)).rows == 6


def test_real_realtime_samples_ingest_without_rejects(con, shared_dir, tmp_path):
    with_metadata = real_sample(shared_dir, "023", tmp_path)
    container = real_sample(shared_dir, "025", tmp_path, drop=("container logs:",))
    summary = ingest([with_metadata, container], con, reference_date=DAY)
    assert [f.format for f in summary.files] == ["realtime", "realtime"]
    assert summary.rejected == 0
    assert [f.rows for f in summary.files] == [4, 3]
    metrics = con.execute(
        "SELECT metric, project, count(*) FROM realtime_logs WHERE metric IS NOT NULL GROUP BY ALL"
    ).fetchall()
    assert metrics == [("db_events", "realtime-dev", 4)]


# --------------------------------------------------------------------------- Supavisor
def test_supavisor_lines(con):
    summary = ingest([SELFHOSTED / "supavisor.log"], con, reference_date=DAY)
    assert summary.files[0].format == "supavisor"
    got = con.execute(
        "SELECT ts, level, project, user_name, message FROM supavisor_logs ORDER BY ts"
    ).fetchall()
    assert got == [
        (at(10, 0, 7, 512000), "error", "eventlive", "authenticator",
         "DbHandler: Session terminated by server while checked out by a client"),
        (at(10, 0, 7, 610000), "error", "eventlive", "authenticator",
         "ClientHandler: (ECLIENTSOCKETCLOSED) Client socket closed while state was busy (proxy)"),
        (at(10, 0, 8, 1000), "info", None, None, "Supavisor.Monitoring.PromEx: metrics pushed"),
    ]


# --------------------------------------------------------------------- Logflare / Vector
def test_self_hosted_logflare_vector_events_use_the_hosted_reader(con):
    """Self-hosted Vector ships each container line as an event whose fields sit under
    `metadata` as an object (not the hosted one-element arrays)."""
    summary = ingest([SELFHOSTED / "logflare_vector_events.ndjson"], con)
    assert summary.rejected == 0
    assert {t: r.rows for t, r in summary.by_table().items()} == {
        "auth_logs": 1, "edge_logs": 1, "postgrest_logs": 1, "realtime_logs": 1,
    }
    assert con.execute("SELECT path, duration_ms, status FROM auth_logs").fetchall() == [
        ("/auth/v1/user", pytest.approx(2043.511), 200)
    ]
    (edge,) = con.execute("SELECT ts, method, status, path, query FROM edge_logs").fetchall()
    assert edge[:3] == (at(10, 0, 1), "GET", 400)
    # Vector's nginx parser leaves the query string in the path; it is split off again.
    assert edge[3] == "/rest/v1/registrations"
    assert edge[4].startswith("?select=")
    assert con.execute("SELECT metric, external_id FROM realtime_logs").fetchall() == [
        ("presence_events", "realtime-dev")
    ]


# --------------------------------------------------------------------------- sniffing
FIXTURE_FORMATS = {
    "gotrue.log": "gotrue",
    "gotrue_bad.log": "gotrue",
    "postgrest.log": "postgrest",
    "kong.log": "kong",
    "realtime.log": "realtime",
    "realtime_docker_timestamps.log": "realtime",
    "supavisor.log": "supavisor",
    "logflare_vector_events.ndjson": "supabase-ndjson",
}


@pytest.mark.parametrize("name,expected", sorted(FIXTURE_FORMATS.items()))
def test_each_fixture_is_sniffed_as_its_format_and_no_other_comes_close(name, expected):
    sample = take_sample(SELFHOSTED / name, name)
    scores = sorted(((fmt.sniff(sample), fmt.name) for fmt in formats()), reverse=True)
    assert scores[0][1] == expected
    assert scores[1][0] < scores[0][0]


SELF_HOSTED_FORMATS = {"gotrue", "postgrest", "kong", "realtime", "supavisor", "vercel", "pg-cron"}
REAL_SAMPLE_FORMATS = {
    "001": "gotrue", "002": "gotrue", "004": "gotrue", "019": "postgrest", "021": "postgrest",
    "023": "realtime", "025": "realtime", "027": "pg-cron", "031": "vercel", "032": "vercel",
}


def test_real_samples_are_claimed_by_their_reader_and_by_no_other(shared_dir, tmp_path):
    """The self-hosted/Vercel/pg_cron samples go to their reader; hosted rows, Postgres
    logs, response bodies and prose are never claimed by these readers."""
    for source in sorted((shared_dir / "real_samples").glob("*.txt")):
        prefix = source.name[:3]
        plain = real_sample(shared_dir, prefix, tmp_path)
        sample = take_sample(plain, plain.name)
        score, best = max((fmt.sniff(sample), fmt.name) for fmt in formats())
        if prefix in REAL_SAMPLE_FORMATS:
            assert best == REAL_SAMPLE_FORMATS[prefix], source.name
        else:
            assert score == 0 or best not in SELF_HOSTED_FORMATS, (source.name, best)


def test_compressed_container_log_is_read(con, tmp_path):
    import gzip

    target = tmp_path / "auth.log.gz"
    with (SELFHOSTED / "gotrue.log").open("rb") as src, gzip.open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    summary = ingest([target], con)
    assert (summary.files[0].format, summary.rows) == ("gotrue", 9)


def test_realtime_measurements_map_is_read(con, tmp_path):
    # Logger metadata printed after the message, as Realtime's prod formatter does.
    log = tmp_path / "realtime-metrics.log"
    log.write_text(
        "10:00:05.000 [info] Billing metrics: [:realtime, :connections] "
        "measurements=%{connected: 3, connected_cluster: 4, limit: 500} external_id=eventlive\n"
        "10:00:05.001 [info] Billing metrics: [:realtime, :rate_counter, :channel, :presence_events] "
        "measurements=%{limit: 100, sum: 17} external_id=eventlive\n"
    )
    ingest([log], con, reference_date=dt.date(2026, 11, 20))
    assert con.execute(
        "SELECT metric, connected, connected_cluster, limit_value, sum_value, external_id "
        "FROM realtime_logs ORDER BY ts"
    ).fetchall() == [
        ("connections", 3, 4, 500.0, None, "eventlive"),
        ("presence_events", None, None, 100.0, 17.0, "eventlive"),
    ]
