"""Postgres native logs on real-shaped fixtures (tests/data/postgres/), pgBadger's corpus
of real logs, and the real samples. The real-server test is test_ingest_postgres_server.py."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import loganalyze
from loganalyze.errors import InputError
from loganalyze.ingest import ingest
from loganalyze.ingest.postgres_prefix import KNOWN_PREFIXES, choose_prefix, compile_prefix

from .conftest import TEST_DATA

DATA = TEST_DATA / "postgres"
UTC = dt.UTC


def _rows(con, sql, params=None):
    return con.execute(sql, params or []).fetchall()


def _ingest(con, path, **kw):
    return ingest([path], con, **kw)


# --------------------------------------------------------------------------- stderr
def test_interleaved_backends_keep_their_continuation_lines(con):
    summary = _ingest(con, DATA / "interleaved.log")
    assert summary.files[0].format == "postgres-stderr"
    assert summary.rejected == 0
    rows = _rows(
        con,
        "SELECT pid, severity, sqlstate, sqlstate_inferred, message, detail, hint, statement, "
        "duration_ms, user_name, database FROM postgres_logs ORDER BY ts, pid",
    )
    assert rows == [
        (4101, "ERROR", "42703", True, "column registrations.id does not exist", None,
         'Perhaps you meant to reference the column "registrations.user_id".',
         "SELECT id\n  FROM registrations\n WHERE user_id = $1", None, "authenticator", "postgres"),
        (4102, "ERROR", "23505", True,
         'duplicate key value violates unique constraint "registrations_pkey"',
         "Key (webinar_id, user_id)=(7, 42) already exists.", None,
         "INSERT INTO registrations (webinar_id, user_id)\nVALUES ($1, $2)", None,
         "authenticator", "postgres"),
        (4101, "LOG", None, False,
         "duration: 812.500 ms  statement: SELECT count(*)\n  FROM webinar_live_presence", None,
         None, "SELECT count(*)\n  FROM webinar_live_presence", 812.5, "authenticator", "postgres"),
        (77, "LOG", None, False, "checkpoint starting: time", None, None, None, None, None, None),
    ]
    notes = " ".join(summary.files[0].notes)
    assert "'%m [%p] %q%u@%d '" in notes
    assert "inferred" in notes


def test_time_zone_abbreviations_become_utc(con):
    _ingest(con, DATA / "timezones.log")
    got = dict(_rows(con, "SELECT pid, ts FROM postgres_logs"))
    assert got == {
        5133: dt.datetime(2019, 10, 21, 9, 3, 31, 311000, tzinfo=UTC),  # MSK = +3
        5134: dt.datetime(2024, 6, 26, 22, 0, 7, 369000, tzinfo=UTC),  # CEST = +2
        5135: dt.datetime(2024, 1, 15, 16, 0, tzinfo=UTC),  # PST = -8
        5136: dt.datetime(2024, 1, 15, 2, 30, tzinfo=UTC),  # +0530
        5137: dt.datetime(2024, 1, 15, 11, 0, tzinfo=UTC),  # -03
    }


def test_logged_sqlstate_is_kept_and_not_marked_inferred(con):
    summary = _ingest(con, DATA / "with_sqlstate.log")
    assert summary.rejected == 0
    assert "'%m [%p] %e %q%u@%d '" in " ".join(summary.files[0].notes)
    rows = _rows(con, "SELECT pid, severity, sqlstate, sqlstate_inferred, statement FROM postgres_logs ORDER BY ts")
    assert rows == [
        (4101, "ERROR", "42703", False, "SELECT id FROM registrations"),
        (4102, "ERROR", "23505", False, None),
        (77, "LOG", "00000", False, None),
        (4103, "ERROR", "XX000", False, None),
    ]


def test_unknown_prefix_is_not_guessed_silently(con):
    summary = _ingest(con, DATA / "unknown_prefix.log")
    assert summary.files[0].format == "postgres-stderr"
    assert summary.rows == 0
    assert summary.rejected == 3
    notes = " ".join(summary.files[0].notes)
    assert "assumed log_line_prefix" in notes and "--log-line-prefix" in notes
    reasons = _rows(con, "SELECT line, reason FROM rejected_rows ORDER BY line")
    assert [r[0] for r in reasons] == [1, 2, 3]
    assert all(r[1].startswith("line does not fit log_line_prefix") for r in reasons)


def test_stated_prefix_reads_what_detection_cannot(con):
    summary = _ingest(con, DATA / "unknown_prefix.log", log_line_prefix="%t|%p|%u|")
    assert summary.rejected == 0
    rows = _rows(con, "SELECT pid, user_name, severity, sqlstate FROM postgres_logs ORDER BY pid")
    assert rows == [(4101, "alice", "ERROR", "42703"), (4102, "bob", "LOG", None),
                    (4103, "carol", "ERROR", "42501")]
    assert "as stated" in " ".join(summary.files[0].notes)


def test_stated_prefix_with_a_bad_escape_fails_naming_it(con):
    with pytest.raises(InputError, match="unknown escape %y"):
        _ingest(con, DATA / "unknown_prefix.log", log_line_prefix="%t %y ")


def test_cron_lines_keep_application_and_backend_type(con):
    summary = _ingest(con, DATA / "cron.log", log_line_prefix="%m [%p] [%b] %a %u@%d ")
    assert summary.rejected == 0
    rows = _rows(
        con,
        "SELECT backend_type, application_name, user_name, severity, sqlstate, message, statement "
        "FROM postgres_logs ORDER BY ts",
    )
    assert rows == [
        ("pg_cron scheduler", None, None, "LOG", None,
         "cron job 3 starting: DELETE FROM webinar_live_presence WHERE seen_at < now() - interval '1 day'",
         None),
        ("client backend", "pg_cron", "postgres", "ERROR", "42P01",
         'relation "webinar_live_presence" does not exist',
         "DELETE FROM webinar_live_presence WHERE seen_at < now() - interval '1 day'"),
        ("pg_cron scheduler", None, None, "LOG", None, "cron job 3 failed", None),
    ]


def test_repeated_identical_entries_are_all_kept_and_reingest_adds_nothing(con, tmp_path):
    first = _ingest(con, DATA / "repeated.log")
    assert first.rows == 3
    ids = [r[0] for r in _rows(con, "SELECT id FROM postgres_logs ORDER BY id")]
    assert len(set(ids)) == 3
    assert {i.split("#")[1] for i in ids} == {"1", "2", "3"}
    # the same content under another name (an overlapping export) adds nothing
    copy = tmp_path / "copy.log"
    shutil.copy(DATA / "repeated.log", copy)
    again = _ingest(con, copy)
    assert (again.rows, again.duplicates) == (0, 3)


def test_compressed_stderr_is_read_like_plain(con, tmp_path):
    import gzip

    gz = tmp_path / "postgresql.log.gz"
    gz.write_bytes(gzip.compress((DATA / "interleaved.log").read_bytes()))
    summary = _ingest(con, gz)
    assert (summary.rows, summary.rejected) == (4, 0)


# --------------------------------------------------------------------------- csvlog / jsonlog
EXPECTED_STRUCTURED = [
    (4101, "ERROR", "42703", False, "column registrations.id does not exist", None,
     "SELECT id\n  FROM registrations\n WHERE user_id = $1", "10.0.0.5:51234", "PostgREST 12.2.3"),
    (4102, "ERROR", "23505", False,
     'duplicate key value violates unique constraint "registrations_pkey"',
     "Key (webinar_id, user_id)=(7, 42) already exists.",
     "INSERT INTO registrations (webinar_id, user_id) VALUES ($1, $2)", "10.0.0.6:51235",
     "PostgREST 12.2.3"),
    (77, "LOG", "00000", False, "checkpoint complete: wrote 3 buffers (0.0%);\nsync files=2", None,
     None, None, None),
    (4101, "LOG", "00000", False,
     "duration: 812.500 ms  execute <unnamed>: SELECT count(*)\n  FROM webinar_live_presence", None,
     "SELECT count(*)\n  FROM webinar_live_presence", "10.0.0.5:51234", "PostgREST 12.2.3"),
]


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("csvlog26.csv", "postgres-csvlog"), ("csvlog24.csv", "postgres-csvlog"),
     ("jsonlog.json", "postgres-jsonlog")],
)
def test_structured_logs_with_multi_line_fields(con, name, fmt):
    summary = _ingest(con, DATA / name)
    assert summary.files[0].format == fmt
    assert summary.rejected == 0
    rows = _rows(
        con,
        "SELECT pid, severity, sqlstate, sqlstate_inferred, message, detail, statement, "
        "connection_from, application_name FROM postgres_logs ORDER BY ts",
    )
    assert rows == EXPECTED_STRUCTURED
    slow = _rows(con, "SELECT duration_ms, backend_type FROM postgres_logs WHERE duration_ms IS NOT NULL")
    assert slow == [(812.5, "client backend")]


def test_csvlog_query_id_beyond_double_precision_is_kept_as_text(con):
    _ingest(con, DATA / "csvlog26.csv")
    assert _rows(con, "SELECT query_id FROM postgres_logs WHERE pid = 4101 AND severity = 'ERROR'") == [
        ("-5643122554370342000",)
    ]


# --------------------------------------------------------------------------- prefixes
@pytest.mark.parametrize("prefix", KNOWN_PREFIXES)
def test_every_known_prefix_compiles_and_reads_its_own_line(prefix):
    values = {
        "%m": "2026-11-20 09:00:01.100 UTC", "%t": "2026-11-20 09:00:01 UTC", "%p": "4101",
        "%l": "7", "%u": "authenticator", "%d": "postgres", "%a": "psql", "%h": "10.0.0.5",
        "%r": "10.0.0.5(51234)", "%e": "42703", "%q": "",
    }
    line = re.sub(r"%[a-zA-Z]", lambda m: values[m.group(0)], prefix) + "ERROR:  boom"
    choice = choose_prefix([line], stated=prefix)
    assert choice.matched == 1
    compiled = compile_prefix(prefix)
    m = re.match(compiled.regex, line)
    assert m and m.group(compiled.groups["severity"]) == "ERROR"
    if "pid" in compiled.groups:
        assert m.group(compiled.groups["pid"]) == "4101"


def test_detection_prefers_the_prefix_that_fits_most_lines():
    lines = [
        "2026-11-20 09:00:01.100 UTC [10] LOG:  database system is ready to accept connections",
        "2026-11-20 09:00:02.100 UTC [11] authenticator@postgres ERROR:  boom",
        "\tcontinuation",
    ]
    choice = choose_prefix(lines)
    assert choice.compiled.prefix == "%m [%p] %q%u@%d "
    assert (choice.matched, choice.considered) == (2, 2)


# --------------------------------------------------------------------------- pgBadger corpus
def _corpus_expectations(shared: Path) -> dict[str, tuple[int, int, int]]:
    """file -> (entries with duration:, ERROR, FATAL) from the corpus README's table."""
    out = {}
    for line in (shared / "peer_corpora" / "pgbadger" / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[3].isdigit():
            out[cells[0]] = (int(cells[3]), int(cells[4]), int(cells[5]))
    return out


CORPUS_FILES = [
    "light.postgres.log.bz2", "rds.log.bz2", "begin_end.log", "pg_vacuums.log.gz",
    "postgresql_param_range.log", "multiline_param.log", "tempfile_only.log.gz",
    "stmt_type.log", "pg-timezones.log", "queryid.log.gz", "pg_rawcsv.log", "anonymize.log",
    "weeknumber.log", "csv_statement_without_duration.log", "pg_vacuums.json.gz",
    "cnpg.log.gz", "cloudsql.log.gz",
]


@pytest.fixture(scope="module")
def corpus(shared_dir):
    """name -> (connection, summary): each corpus file ingested once per module."""
    done: dict = {}

    def load(name: str):
        if name not in done:
            connection = loganalyze.connect()
            done[name] = (connection, _ingest(connection, shared_dir / "peer_corpora" / "pgbadger" / name))
        return done[name]

    yield load
    for connection, _ in done.values():
        connection.close()


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_pgbadger_corpus_file_matches_the_independent_counts(shared_dir, corpus, name):
    expected = _corpus_expectations(shared_dir)
    assert name in expected, "README table and test list out of step"
    con, summary = corpus(name)
    assert summary.files[0].format.startswith("postgres-")
    assert summary.rejected == 0
    got = _rows(
        con,
        "SELECT count(*) FILTER (WHERE duration_ms IS NOT NULL), "
        "count(*) FILTER (WHERE severity = 'ERROR'), count(*) FILTER (WHERE severity = 'FATAL') "
        "FROM postgres_logs",
    )[0]
    assert got == expected[name]
    assert _rows(con, "SELECT count(*) FROM postgres_logs WHERE ts IS NULL OR severity IS NULL") == [(0,)]


def test_pgbadger_corpus_list_is_complete(shared_dir):
    assert sorted(_corpus_expectations(shared_dir)) == sorted(CORPUS_FILES)


def test_rds_fatal_rows_carry_the_inferred_code_and_client(corpus):
    con, _ = corpus("rds.log.bz2")
    rows = _rows(
        con,
        "SELECT sqlstate, sqlstate_inferred, user_name, database, connection_from FROM postgres_logs "
        "WHERE severity = 'FATAL' ORDER BY ts, connection_from",
    )
    assert rows == [
        ("28000", True, "gilles", "pgbench", "192.168.1.201:50906"),
        ("28000", True, "gilles", "pgbench", "192.168.1.201:50908"),
    ]


def test_cloudsql_continuation_records_fold_into_their_entry(corpus):
    con, _ = corpus("cloudsql.log.gz")
    (message,) = _rows(
        con,
        "SELECT message FROM postgres_logs WHERE message LIKE 'automatic vacuum of table%' "
        "ORDER BY ts LIMIT 1",
    )[0]
    assert "\npages: " in message and "\nsystem usage: " in message


# --------------------------------------------------------------------------- real samples
def _sample_body(path: Path) -> str:
    """A real sample without its provenance header (`# source:`, `# kind:`, ...)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return "\n".join(ln for ln in lines if not ln.startswith("# ")) + "\n"


def test_real_sample_supabase_image_stderr(shared_dir, con, tmp_path):
    src = next((shared_dir / "real_samples").glob("022_*"))
    log = tmp_path / "db.log"
    log.write_text(_sample_body(src), encoding="utf-8")
    summary = _ingest(con, log)
    assert summary.files[0].format == "postgres-stderr"
    assert summary.rejected == 0
    entries = [ln for ln in _sample_body(src).splitlines() if re.search(r"\] LOG:  ", ln)]
    assert summary.rows == len(entries)
    assert "'%h %m [%p] %q%u@%d '" in " ".join(summary.files[0].notes)
    # the container's own first line is not a log entry: skipped, and said so
    assert "skipped 1 line(s)" in " ".join(summary.files[0].notes)
    first = _rows(con, "SELECT ts, pid, severity, message, connection_from FROM postgres_logs ORDER BY ts, message LIMIT 1")
    assert first == [(dt.datetime(2024, 9, 30, 18, 14, 40, 810000, tzinfo=UTC), 10, "LOG",
                      "pgaudit extension initialized", None)]


def test_real_sample_pg_cron_log_line(shared_dir, con, tmp_path):
    """The reporter quoted the message without its prefix; written as the Supabase image
    logs it, the cron line is an ordinary LOG row with its text intact."""
    src = next((shared_dir / "real_samples").glob("029_*"))
    (line,) = [ln for ln in _sample_body(src).splitlines() if ln.strip()]
    log = tmp_path / "cron.log"
    log.write_text(" 2026-11-20 10:00:00.000 UTC [901] " + line + "\n", encoding="utf-8")
    summary = _ingest(con, log)
    assert summary.rejected == 0
    assert _rows(con, "SELECT severity, message FROM postgres_logs") == [
        ("LOG", "cron job 1 job startup timeout")
    ]


def test_real_sample_hosted_rows_are_not_taken_for_native_logs(shared_dir, tmp_path):
    from loganalyze.ingest import sniff_sample, take_sample

    src = next((shared_dir / "real_samples").glob("010_*"))
    rows = tmp_path / "hosted.ndjson"
    rows.write_text(_sample_body(src), encoding="utf-8")
    fmt = sniff_sample(take_sample(rows, str(rows)), str(rows))
    assert not fmt.name.startswith("postgres-")


def test_cloudsql_as_the_json_array_gcloud_prints_gives_the_same_rows(shared_dir, corpus, tmp_path):
    import gzip
    import json

    src = shared_dir / "peer_corpora" / "pgbadger" / "cloudsql.log.gz"
    entries = [json.loads(ln) for ln in gzip.decompress(src.read_bytes()).decode().splitlines() if ln]
    array = tmp_path / "cloudsql.json"
    array.write_text(json.dumps(entries, indent=2), encoding="utf-8")
    con, summary = corpus("cloudsql.log.gz")
    arr_con = loganalyze.connect()
    try:
        arr_summary = _ingest(arr_con, array)
        assert arr_summary.files[0].format == "postgres-cloudsql"
        assert (arr_summary.rows, arr_summary.rejected) == (summary.rows, 0)
        query = "SELECT ts, pid, severity, message FROM postgres_logs ORDER BY ALL"
        assert _rows(arr_con, query) == _rows(con, query)
    finally:
        arr_con.close()


@pytest.mark.parametrize("name", ["compose.log", "crlf.log"])
def test_docker_compose_column_and_crlf_lines_read_like_the_plain_log(con, name):
    """`docker compose logs db` puts `supabase-db  | ` before every line (tab
    continuations included); a log copied through Windows ends lines with CRLF."""
    summary = _ingest(con, DATA / name)
    assert (summary.rows, summary.rejected) == (4, 0)
    plain = loganalyze.connect()
    try:
        _ingest(plain, DATA / "interleaved.log")
        query = "SELECT ts, pid, severity, message, detail, hint, statement FROM postgres_logs ORDER BY ALL"
        assert _rows(con, query) == _rows(plain, query)
    finally:
        plain.close()


# --------------------------------------------------------------------------- interleaving


@st.composite
def interleaved_backends(draw):
    """Entries of several backends, each an ERROR with optional DETAIL and a STATEMENT
    whose text may span tab-indented lines, shuffled across backends while each
    backend's own lines keep their order (as the logging collector writes them)."""
    n_pids = draw(st.integers(min_value=2, max_value=4))
    queues = []
    expected = []
    for p in range(n_pids):
        pid = 5000 + p
        lines = []
        for k in range(draw(st.integers(min_value=1, max_value=3))):
            tag = f"{pid}-{k}"
            detail = draw(st.booleans())
            stmt_lines = draw(st.integers(min_value=1, max_value=3))
            msg = [f"ERROR:  duplicate key value violates unique constraint \"t_{tag}\""]
            if detail:
                msg.append(f"DETAIL:  Key (id)=({tag}) already exists.")
            stmt = [f"STATEMENT:  insert into t_{tag} values (1)"] + [
                f"\tline {i} of {tag}" for i in range(1, stmt_lines)
            ]
            # each message is one write: its tab lines cannot be split from it
            lines += [[m] for m in msg]
            lines.append(stmt)
            expected.append((pid, f"t_{tag}", f"Key (id)=({tag}) already exists." if detail else None,
                             "\n".join([f"insert into t_{tag} values (1)"] + [ln[1:] for ln in stmt[1:]])))
        queues.append((pid, lines))
    order = draw(st.permutations([p for p, q in queues for _ in q]))
    cursors = {p: 0 for p, _ in queues}
    by_pid = dict(queues)
    out = []
    for pid in order:
        block = by_pid[pid][cursors[pid]]
        cursors[pid] += 1
        out.append(f"2026-11-20 09:00:01.100 UTC [{pid}] app@db " + block[0])
        out += block[1:]
    return "\n".join(out) + "\n", expected


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=interleaved_backends())
def test_any_interleaving_of_backends_keeps_each_entry_whole(tmp_path_factory, case):
    text, expected = case
    log = tmp_path_factory.mktemp("interleaved") / "pg.log"
    log.write_text(text, encoding="utf-8")
    connection = loganalyze.connect()
    try:
        summary = _ingest(connection, log)
        assert summary.rejected == 0
        got = _rows(
            connection,
            "SELECT pid, regexp_extract(message, '\"(t_[0-9-]+)\"', 1), detail, statement "
            "FROM postgres_logs ORDER BY ALL",
        )
    finally:
        connection.close()
    assert got == sorted(expected)


def test_a_statement_longer_than_the_sniffed_sample_is_one_entry(con, tmp_path):
    values = "(1)," * 1_000_000 + "(1)"
    log = tmp_path / "bulk.log"
    log.write_text(
        "2026-11-20 09:00:01.100 UTC [4101] app@db LOG:  duration: 5.000 ms  statement: "
        f"insert into t values {values}\n"
        "2026-11-20 09:00:02.100 UTC [4101] app@db LOG:  checkpoint starting: time\n",
        encoding="utf-8",
    )
    summary = _ingest(con, log)
    assert (summary.rows, summary.rejected) == (2, 0)
    assert _rows(con, "SELECT length(statement), duration_ms FROM postgres_logs WHERE statement IS NOT NULL") == [
        (len("insert into t values ") + len(values), 5.0)
    ]


def test_line_order_holds_on_a_connection_that_does_not_preserve_insertion_order(con):
    con.execute("SET preserve_insertion_order = false")
    _ingest(con, DATA / "interleaved.log")
    assert _rows(con, "SELECT pid, detail IS NOT NULL, statement FROM postgres_logs WHERE severity = 'ERROR' ORDER BY pid") == [
        (4101, False, "SELECT id\n  FROM registrations\n WHERE user_id = $1"),
        (4102, True, "INSERT INTO registrations (webinar_id, user_id)\nVALUES ($1, $2)"),
    ]
    assert _rows(con, "SELECT current_setting('preserve_insertion_order')") == [(False,)]
