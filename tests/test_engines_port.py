"""Every detector gives the same findings on chDB as on DuckDB: all fourteen, on the bundled
replays, per minute and over the whole range as one window, plus databases built to reach
the rules the replays leave idle (route bursts without Vercel logs, pg_cron errors only
the Postgres log shows, a file that held no rows), and with every table read through
`remote()` over two shards.

tests/test_engines.py already compares the first eight ported detectors on some of these
cases; this module runs the rest, so each (replay, detector, window) runs once.

Tolerances (relative, docs/scale-out.md) — everything else is compared exactly:
- percentiles (quantileExactInclusive vs quantile_cont, the same interpolation rounded in
  another order): PERCENTILE_TOLERANCE;
- per-participant rates of hot_path_cost and load_projection and load_projection's
  projections: their divisor, the participant-minutes, is a sum of one double per
  participant, which DuckDB adds in its hash table's order (not reproducible on another
  engine, nor always on DuckDB itself): SUM_ORDER_TOLERANCE.
"""

from __future__ import annotations

import pytest

pytest.importorskip("chdb", reason="chdb (a dev dependency) is not installed")

import polars as pl  # noqa: E402
from polars.testing import assert_frame_equal  # noqa: E402

from loganalyze.detectors import list_detectors  # noqa: E402
from loganalyze.engines import DuckDBEngine, EngineAnalysis, open_engine, support_table  # noqa: E402
from loganalyze.engines.clickhouse.ddl import table_columns  # noqa: E402
from loganalyze.ingest import ingest  # noqa: E402
from loganalyze.store import connect  # noqa: E402

from .test_engines import (  # noqa: E402
    REPLAYS,
    SAMPLES,
    _split_into_two_shards,
    replay_engines,  # noqa: E402, F401 - a fixture
)
from .test_engines import _cases as _cases_of_test_engines  # noqa: E402

ALL = tuple(spec.name for spec in list_detectors())
PERCENTILE_TOLERANCE = 1e-9
SUM_ORDER_TOLERANCE = 1e-12
LATENCIES = ("mean_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms")
PER_PARTICIPANT = ("requests_per_participant_per_minute", "calls_per_participant_per_minute")
PROJECTED = (
    "projected_requests_per_minute",
    "projected_db_calls_per_minute",
    "projected_auth_user_calls_per_minute",
)
TOLERANT: dict[str, dict[str, float]] = {
    "auth_user_latency": dict.fromkeys(LATENCIES, PERCENTILE_TOLERANCE),
    "rpc_latency": dict.fromkeys(LATENCIES, PERCENTILE_TOLERANCE),
    "polling_pressure": dict.fromkeys(("interval_p10_s", "interval_p50_s"), PERCENTILE_TOLERANCE),
    "hot_path_cost": {
        "calls_per_request_p95": PERCENTILE_TOLERANCE,
        **dict.fromkeys(PER_PARTICIPANT, SUM_ORDER_TOLERANCE),
    },
    "load_projection": dict.fromkeys((PER_PARTICIPANT[0], *PROJECTED), SUM_ORDER_TOLERANCE),
}
# Parameters beyond the defaults for the detectors this module ports, at 30-second windows.
VARIANTS: dict[str, list[dict[str, object]]] = {
    "error_amplification": [{"follow_within": "1s", "cooldown": "5s"}, {"follow_within": "30s"}],
    "hot_path_cost": [{"burst_gap": "5s"}],
    "polling_pressure": [{"caller": "any"}, {"path_pattern": "^/(rest|api)/", "caller": "server"}],
    "cron_failures": [{"match_tolerance": "1ms"}],
    "load_projection": [{"attendees": 37, "burst_gap": "100ms"}],
    "ingest_coverage": [{"gap": "1s"}, {"gap": "1ms"}],
}


def assert_same_frames(name: str, got: pl.DataFrame, expected: pl.DataFrame) -> None:
    tolerant = {c: t for c, t in TOLERANT.get(name, {}).items() if c in expected.columns}
    assert_frame_equal(got.drop(list(tolerant)), expected.drop(list(tolerant)), check_exact=True)
    for column, tolerance in tolerant.items():
        assert_frame_equal(
            got.select(column), expected.select(column), check_exact=False, rel_tol=tolerance
        )


def assert_same_findings(duck, ch, name: str, params: dict[str, object], window: str) -> None:
    with EngineAnalysis(duck, window=window) as a, EngineAnalysis(ch, window=window) as b:
        expected = a.finding(name, **params)
        got = b.finding(name, **params)
    assert got.time_range == expected.time_range
    assert got.inputs == expected.inputs
    assert got.missing == expected.missing and got.caveats == expected.caveats
    assert_same_frames(name, got.frame, expected.frame)
    for metric in expected.metric_columns:
        want, have = expected.total(metric), got.total(metric)
        tolerance = TOLERANT.get(name, {}).get(metric)
        if tolerance and want is not None:
            assert have == pytest.approx(want, rel=tolerance), metric
        else:
            assert have == want, metric
    assert got.started() == expected.started() and got.stopped() == expected.stopped()
    assert_same_frames(name, got.per_window(), expected.per_window())


def _cases():
    """Every detector on every replay at 1m and as one window (minus what
    tests/test_engines.py runs); the parameter variants on the incident."""
    done = {(replay, name, window) for replay, name, params, window in _cases_of_test_engines()
            if not params}  # fmt: skip
    for replay in REPLAYS:
        for name in ALL:
            for window in ("1m", "all"):
                if (replay, name, window) not in done:
                    yield replay, name, {}, window
    for name, variants in VARIANTS.items():
        for params in variants:
            yield REPLAYS[0], name, params, "30s"


@pytest.mark.parametrize(
    ("replay", "name", "params", "window"),
    list(_cases()),
    ids=lambda v: str(v) if v else "defaults",
)
def test_same_findings_on_duckdb_and_chdb(replay_engines, replay, name, params, window):  # noqa: F811
    duck, ch = replay_engines(replay)
    assert_same_findings(duck, ch, name, params, window)


def test_every_detector_is_ported_and_the_replays_exercise_them(replay_engines):  # noqa: F811
    """Nothing is left unsupported on ClickHouse, and each comparison above is worth
    something: every detector finds rows in at least one replay."""
    assert [spec.name for spec, reason in support_table("chdb") if reason] == []
    found = dict.fromkeys(ALL, 0)
    for replay in REPLAYS:
        duck, _ = replay_engines(replay)
        with EngineAnalysis(duck) as a:
            for name in ALL:
                found[name] += a.finding(name).frame.height
    assert all(found.values()), found


# ------------------------------------------------------------- rules the replays leave idle

# pg_cron errors in the Postgres log of the incident (its failed runs: job 3 at 10:02,
# 10:04, 10:06 and 10:08, job 4 at 10:05, each about 8 s long): one inside a failed run (the
# same failure), one of job 3's command between runs, one scheduler line naming a job that
# has no runs, one just past a run's end plus the tolerance.
JOB3 = "DELETE FROM public.webinar_live_presence WHERE last_seen_at < now() - interval '1 day'"
CRON_LOG_ERRORS = [
    ("cron-in-run", "2026-03-12 10:02:05+00", "pg_cron", "ERROR",
     "canceling statement due to statement timeout", JOB3),
    ("cron-between-runs", "2026-03-12 10:03:30+00", "pg_cron", "ERROR",
     "canceling statement due to statement timeout", JOB3),
    ("cron-scheduler", "2026-03-12 10:07:00+00", None, "LOG",
     "cron job 9 failed: could not connect to server", None),
    ("cron-startup", "2026-03-12 10:05:09.5+00", None, "LOG",
     "cron job 4 job startup timeout", None),
    ("cron-late", "2026-03-12 10:08:12+00", "pg_cron", "FATAL",
     "terminating connection due to administrator command", JOB3),
]  # fmt: skip
# Calls to PostgREST's root (no table in the path) by one user: a 404, a follow-up, the
# same 404 again — a chain whose table is NULL.
USER = "6f1d2a4e-0b7c-4d59-9a51-3c8e2f7b9d10"
ROOT_CALLS = [
    ("root-1", "2026-03-12 10:03:00+00", "GET", "/rest/v1/", "?select=x", 404, USER),
    ("root-2", "2026-03-12 10:03:01+00", "GET", "/rest/v1/", None, 200, USER),
    ("root-3", "2026-03-12 10:03:02.5+00", "GET", "/rest/v1/", "?select=x", 404, USER),
]  # fmt: skip


@pytest.fixture(scope="module")
def idle_rule_engines(tmp_path_factory):
    """name → (DuckDB, chDB): the incident without its Vercel logs (routes become per-user
    bursts); the incident with pg_cron errors in the Postgres log, calls of no table and a
    file that held no rows."""
    incident = SAMPLES / REPLAYS[0]
    made = {}
    con = connect()
    ingest([str(p) for p in sorted(incident.glob("*.gz")) if not p.name.startswith("vercel")], con)
    made["no-vercel"] = (DuckDBEngine(con), open_engine("chdb", con))

    empty = tmp_path_factory.mktemp("empty") / "edge_logs.ndjson"
    empty.write_text("", encoding="utf-8")
    con = connect()
    ingest([str(incident), str(empty)], con)
    con.executemany(
        "INSERT INTO postgres_logs (id, ts, application_name, severity, message, statement) "
        "VALUES (?, ?::TIMESTAMPTZ, ?, ?, ?, ?)",
        CRON_LOG_ERRORS,
    )
    con.executemany(
        "INSERT INTO edge_logs (id, ts, method, path, query, status, user_id, client_info) "
        "VALUES (?, ?::TIMESTAMPTZ, ?, ?, ?, ?, ?, 'supabase-js-web/2.49.1')",
        ROOT_CALLS,
    )
    made["added-rows"] = (DuckDBEngine(con), open_engine("chdb", con))
    yield made
    for duck, ch in made.values():
        ch.close()
        duck.con.close()


IDLE_RULE_CASES = [
    ("no-vercel", "hot_path_cost", {}),
    ("no-vercel", "hot_path_cost", {"burst_gap": "10s"}),
    ("no-vercel", "load_projection", {}),
    ("no-vercel", "polling_pressure", {}),
    ("added-rows", "cron_failures", {}),
    ("added-rows", "cron_failures", {"match_tolerance": "5s"}),
    ("added-rows", "ingest_coverage", {}),
    ("added-rows", "error_amplification", {}),
]


@pytest.mark.parametrize(("database", "name", "params"), IDLE_RULE_CASES, ids=str)
def test_same_findings_where_the_replays_leave_a_rule_idle(
    idle_rule_engines, database, name, params
):
    duck, ch = idle_rule_engines[database]
    for window in ("1m", "all"):
        assert_same_findings(duck, ch, name, params, window)


def test_the_idle_rules_are_reached(idle_rule_engines):
    """The cases above take the paths they are there for (checked on DuckDB)."""
    duck, _ = idle_rule_engines["no-vercel"]
    with EngineAnalysis(duck) as a:
        assert "burst" in a.finding("hot_path_cost").frame["attribution"].to_list()
    duck, _ = idle_rule_engines["added-rows"]
    with EngineAnalysis(duck) as a:
        cron = a.finding("cron_failures").frame
        # between runs, the scheduler line and the late one; the startup timeout lies in
        # job 4's failed run and the first error in job 3's
        assert cron["log_errors"].sum() == 3
        assert 9 in cron["jobid"].to_list()
        chains = a.finding("error_amplification").frame.filter(pl.col("table_name").is_null())
        assert sorted(chains["kind"].to_list()) == ["4xx_retried", "4xx_then_calls"]
        coverage = a.finding("ingest_coverage").frame
        assert "(no rows)" in coverage["table_name"].to_list()


# ------------------------------------------------------------- over shards, through remote()


def _read_through_remote_shards(ch) -> None:
    """Every normalized table becomes a Merge table over two `remote()` tables, each reading
    one shard's rows (split by a hash of the row id, as tests/test_engines.py splits them).
    chDB runs no server, but a remote() of this host's address runs as a local replica:
    each shard's part of a query goes through remote() execution (its aggregation states
    merged on the initiator) without a network. A `Distributed` table needs a configured
    cluster, which chDB has not."""
    _split_into_two_shards(ch)  # <table>_shard0, <table>_shard1 and a Merge table over them
    for table, _ in table_columns():
        for shard in (0, 1):
            ch.backend.command(
                f"CREATE TABLE `{table}_remote{shard}` AS "
                f"remote('127.0.0.1', currentDatabase(), '{table}_shard{shard}')"
            )
        ch.backend.command(f"DROP TABLE `{table}`")
        ch.backend.command(
            f"CREATE TABLE `{table}` AS `{table}_shard0` "
            f"ENGINE = Merge(currentDatabase(), '^{table}_remote[01]$')"
        )


def test_every_detector_through_remote_shards():
    con = connect()
    ingest([str(SAMPLES / REPLAYS[0])], con)
    ch = open_engine("chdb", con)
    try:
        _read_through_remote_shards(ch)
        shard_rows = [
            ch.backend.query_arrow(f"SELECT count() AS n FROM edge_logs_remote{s}", {}, {})
            .column("n")[0].as_py()
            for s in (0, 1)
        ]  # fmt: skip
        with EngineAnalysis(DuckDBEngine(con)) as a, EngineAnalysis(ch) as b:
            # each shard holds part of the rows; the Merge table all of them
            assert all(shard_rows) and sum(shard_rows) == b.rows("edge_logs") == a.rows("edge_logs")
            for name in ALL:
                assert_same_frames(name, b.finding(name).frame, a.finding(name).frame)
    finally:
        ch.close()
        con.close()


def test_cli_lists_every_detector_as_supported_on_chdb():
    import json

    from typer.testing import CliRunner

    from loganalyze.cli import app

    listed = CliRunner().invoke(app, ["detectors", "--engine", "chdb", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert set(rows) == set(ALL)
    assert all(row["supported"] and not row["unsupported_reason"] for row in rows.values())
