"""pg_cron run history (cron.job_run_details) from every export shape into cron_runs."""

from __future__ import annotations

import datetime as dt

import pytest

from loganalyze.ingest import formats, ingest, take_sample

from .conftest import TEST_DATA

CRON = TEST_DATA / "cron"
UTC = dt.UTC


def at(hour: int, minute: int, second: int, micro: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, 20, hour, minute, second, micro, tzinfo=UTC)


def runs(con) -> list[tuple]:
    return con.execute(
        "SELECT id, ts, jobid, runid, status, return_message, start_time, end_time "
        "FROM cron_runs ORDER BY runid"
    ).fetchall()


def test_psql_copy_csv_with_multiline_command_and_a_run_that_never_started(con):
    summary = ingest([CRON / "job_run_details.csv"], con)
    assert (summary.files[0].format, summary.rows, summary.rejected) == ("pg-cron", 3, 0)
    assert runs(con) == [
        ("cron:3:101", at(10, 0, 0, 12000), 3, 101, "succeeded", "DELETE 1200",
         at(10, 0, 0, 12000), at(10, 0, 1, 900000)),
        ("cron:3:102", at(11, 0, 0, 10000), 3, 102, "failed",
         "ERROR:  canceling statement due to statement timeout", at(11, 0, 0, 10000), at(11, 0, 30, 11000)),
        # "connection failed": neither time, kept with ts NULL rather than dropped
        ("cron:4:103", None, 4, 103, "failed", "connection failed", None, None),
    ]
    (command,) = con.execute("SELECT command FROM cron_runs WHERE runid = 102").fetchone()
    assert command == "delete from webinar_live_presence\n where updated_at < now() - interval '1 day'"


def test_studio_csv_download_with_text_nulls_and_other_column_order(con):
    ingest([CRON / "studio_download.csv"], con)
    assert con.execute(
        "SELECT runid, jobid, status, return_message, job_pid, ts FROM cron_runs ORDER BY runid"
    ).fetchall() == [
        (301, 5, "failed", 'ERROR:  relation "webinar_access_logs_old" does not exist', 4410, at(12, 0, 0, 4000)),
        (302, 5, "succeeded", "DELETE 0", 4415, at(13, 0, 0, 3000)),
        (303, 6, "starting", None, None, None),
    ]


def test_studio_json_download_and_row_to_json_lines(con):
    summary = ingest([CRON / "job_run_details.json", CRON / "job_run_details.ndjson"], con)
    assert [(f.format, f.rows, f.rejected) for f in summary.files] == [("pg-cron", 2, 0), ("pg-cron", 2, 0)]
    got = con.execute("SELECT runid, status, return_message, ts FROM cron_runs ORDER BY runid").fetchall()
    assert got == [
        (201, "succeeded", "DELETE 980", at(14, 0, 0, 12000)),
        # a job that timed out at startup has only end_time: ts falls back to it
        (202, "failed", "job startup timeout", at(14, 0, 10)),
        (401, "succeeded", "SELECT 1", at(15, 0, 0, 10000)),
        (402, "failed", "server restarted", at(16, 0, 0, 10000)),
    ]


def test_psql_aligned_table_is_read(con):
    summary = ingest([CRON / "psql_table.txt"], con)
    assert (summary.files[0].format, summary.rows, summary.rejected) == ("pg-cron", 2, 0)
    assert con.execute("SELECT runid, job_pid, status, return_message, end_time FROM cron_runs ORDER BY runid").fetchall() == [
        (501, 5120, "succeeded", "SELECT 1", at(17, 0, 0, 19000)),
        (502, None, "failed", "job canceled", at(18, 0, 3, 200000)),
    ]


def test_reexport_of_overlapping_runs_adds_nothing(con):
    ingest([CRON / "job_run_details.csv"], con)
    again = ingest([CRON / "job_run_details.csv"], con)
    assert (again.rows, again.duplicates) == (0, 3)


def test_bad_rows_are_rejected_with_reasons(con):
    summary = ingest([CRON / "bad.csv"], con)
    assert (summary.rows, summary.rejected) == (1, 2)
    assert con.execute("SELECT line, reason FROM rejected_rows ORDER BY line").fetchall() == [
        (3, "jobid is not a number: eight"),
        (4, "unreadable start_time: yesterday at noon"),
    ]


def test_failed_runs_are_countable(con):
    ingest(sorted(p for p in CRON.iterdir() if p.name != "bad.csv"), con)
    assert con.execute(
        "SELECT status, count(*) FROM cron_runs GROUP BY status ORDER BY status"
    ).fetchall() == [("failed", 6), ("starting", 1), ("succeeded", 5)]


def test_real_psql_table_sample_ingests_without_rejects(con, shared_dir, tmp_path):
    source = shared_dir / "real_samples" / "027_pg_cron_job_run_details_readme.txt"
    plain = tmp_path / "runs.txt"
    plain.write_text("".join(ln for ln in source.read_text().splitlines(True) if not ln.startswith("#")))
    summary = ingest([plain], con)
    assert (summary.files[0].format, summary.rows, summary.rejected) == ("pg-cron", 5, 0)
    assert con.execute(
        "SELECT jobid, runid, status, return_message, ts FROM cron_runs ORDER BY ts DESC LIMIT 2"
    ).fetchall() == [
        # `+01` in the display: 09:30 local is 08:30 UTC
        (11, 4328, "running", None, dt.datetime(2023, 2, 7, 8, 30, 0, 98164, tzinfo=UTC)),
        (10, 4327, "succeeded", "SELECT 1", dt.datetime(2023, 2, 7, 8, 29, 0, 15168, tzinfo=UTC)),
    ]


@pytest.mark.parametrize("name", sorted(p.name for p in CRON.iterdir()))
def test_cron_fixtures_are_sniffed_as_pg_cron_only(name):
    sample = take_sample(CRON / name, name)
    scores = sorted(((fmt.sniff(sample), fmt.name) for fmt in formats()), reverse=True)
    assert scores[0][1] == "pg-cron"
    assert scores[1][0] < scores[0][0]
