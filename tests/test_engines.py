"""The detectors on chDB (in-process ClickHouse) give DuckDB's findings on the bundled
replays: same rows, same columns, same values, compared exactly. The one tolerance:
latency means and percentiles (auth_user_latency's *_ms) agree to a relative 1e-9 —
quantileExactInclusive interpolates exactly as quantile_cont does, but sums and
interpolations may round in another order (docs/scale-out.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytest.importorskip("chdb", reason="chdb (a dev dependency) is not installed")

import polars as pl  # noqa: E402
from polars.testing import assert_frame_equal  # noqa: E402

import loganalyze as la  # noqa: E402
from loganalyze.engines import (  # noqa: E402
    DuckDBEngine,
    EngineAnalysis,
    open_engine,
    support_table,
)
from loganalyze.engines.clickhouse import body, chdb_engine, supported  # noqa: E402
from loganalyze.engines.clickhouse.ddl import schema_ddl, table_columns  # noqa: E402
from loganalyze.errors import DetectorError  # noqa: E402

# the functions, not `la.ingest`: once the loganalyze.ingest package is imported, the
# attribute of that name on loganalyze is the package
from loganalyze.ingest import ingest  # noqa: E402
from loganalyze.store import connect  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
REPLAYS = ("eventlive-incident", "eventlive-incident-selfhosted", "realtime-outage")
PORTED = (
    "schema_errors",
    "db_errors",
    "conflict_storms",
    "status_storms",
    "auth_user_latency",
    "refresh_token_races",
    "rpc_latency",
    "realtime_presence",
)
FLOAT_TOLERANCE = 1e-9  # relative, for the columns in TOLERANT only
LATENCIES = ("mean_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms")
TOLERANT = {"auth_user_latency": LATENCIES, "rpc_latency": LATENCIES}
# Parameter sets beyond the defaults: every storm window as its own row, and the
# settings under which every window with an event is kept.
VARIANTS: dict[str, list[dict[str, object]]] = {
    "conflict_storms": [{"episodes": False}, {"min_count": 1, "multiple": 0.0}],
    "status_storms": [{"episodes": False}, {"min_count": 1, "multiple": 0.0, "baseline_windows": 3}],
    "db_errors": [{"match_tolerance": "1ms"}, {"match_tolerance": "5s"}],
    "schema_errors": [{"match_tolerance": "1ms"}],
    "auth_user_latency": [
        {"per_user": True},
        {"prefer": "auth", "per_caller": False},
        {"match_tolerance": "10s"},
    ],
    "refresh_token_races": [{"reuse_interval": "2s"}, {"match_tolerance": "100ms"}],
    "realtime_presence": [{"min_count": 1, "multiple": 1.5, "baseline_windows": 3}],
}


_ENGINES: dict[str, tuple] = {}


@pytest.fixture(scope="module")
def replay_engines():
    """replay → (DuckDB, chDB) holding it, loaded once per module."""

    def get(replay: str):
        if replay not in _ENGINES:
            con = connect()
            ingest([str(SAMPLES / replay)], con)
            _ENGINES[replay] = (DuckDBEngine(con), open_engine("chdb", con))
        return _ENGINES[replay]

    yield get
    for duck, ch in _ENGINES.values():
        ch.close()
        duck.con.close()
    _ENGINES.clear()


def _cases():
    """Every ported detector on every replay at 1m; on the incident also the whole range
    as one window and the parameter variants (the CPU of this machine is shared)."""
    for replay in REPLAYS:
        for name in PORTED:
            yield replay, name, {}, "1m"
            if replay == REPLAYS[0]:
                yield replay, name, {}, "all"
                for params in VARIANTS.get(name, []):
                    yield replay, name, params, "30s"


@pytest.mark.parametrize(
    ("replay", "name", "params", "window"), list(_cases()), ids=lambda v: str(v) if v else "defaults"
)
def test_same_findings_on_duckdb_and_chdb(replay_engines, replay, name, params, window):
    duck, ch = replay_engines(replay)
    with EngineAnalysis(duck, window=window) as a, EngineAnalysis(ch, window=window) as b:
        expected = a.finding(name, **params)
        got = b.finding(name, **params)
    assert got.time_range == expected.time_range
    assert got.inputs == expected.inputs
    assert got.missing == expected.missing and got.caveats == expected.caveats
    _assert_same(name, got.frame, expected.frame)
    for metric in expected.metric_columns:
        want, have = expected.total(metric), got.total(metric)
        if metric in TOLERANT.get(name, ()) and want is not None:
            assert have == pytest.approx(want, rel=FLOAT_TOLERANCE), metric
        else:
            assert have == want, metric
    assert got.started() == expected.started() and got.stopped() == expected.stopped()
    _assert_same(name, got.per_window(), expected.per_window())


def _assert_same(name: str, got: pl.DataFrame, expected: pl.DataFrame) -> None:
    tolerant = [c for c in TOLERANT.get(name, ()) if c in expected.columns]
    assert_frame_equal(got.drop(tolerant), expected.drop(tolerant), check_exact=True)
    assert_frame_equal(
        got.select(tolerant), expected.select(tolerant), check_exact=False, rel_tol=FLOAT_TOLERANCE
    )


def test_replays_exercise_the_ported_detectors(replay_engines):
    """The equality above is worth something only if the replays give rows: every ported
    detector finds something in at least one of them (realtime_presence a spike)."""
    found: dict[str, int] = {}
    spikes = 0
    for replay in REPLAYS:
        duck, _ = replay_engines(replay)
        with EngineAnalysis(duck) as a:
            for name in PORTED:
                frame = a.finding(name).frame
                found[name] = found.get(name, 0) + frame.height
                if name == "realtime_presence" and frame.height:
                    spikes += int(frame["spike"].sum())
    assert all(found[name] for name in PORTED), found
    assert spikes > 0


def test_input_counts_and_range_come_from_the_engine():
    """The chDB engine answers the analysis layer's own queries (data span, rows per
    table) from its tables: a range with no events there gives the same notice."""
    con = connect()
    ingest([str(SAMPLES / "eventlive-fixed")], con)
    ch = open_engine("chdb", con)
    try:
        far = datetime(2001, 1, 1, tzinfo=UTC)
        with EngineAnalysis(ch, since=far, until=far + timedelta(hours=1)) as b, EngineAnalysis(
            DuckDBEngine(con), since=far, until=far + timedelta(hours=1)
        ) as a:
            assert b.notice == a.notice and b.notice
            assert b.rows("edge_logs") == 0
        with EngineAnalysis(ch) as b, EngineAnalysis(DuckDBEngine(con)) as a:
            assert b.rows("edge_logs") == a.rows("edge_logs") > 0
            assert b.rows("edge_logs", "user_id") == a.rows("edge_logs", "user_id")
    finally:
        ch.close()


@pytest.fixture
def hot_path_cost_unported(monkeypatch):
    """chDB as if hot_path_cost had no ClickHouse body (every detector has one)."""
    from loganalyze.engines import clickhouse

    real = clickhouse.supported
    monkeypatch.setattr(clickhouse, "supported", lambda name: name != "hot_path_cost" and real(name))


def test_unsupported_detector_says_so_instead_of_answering(hot_path_cost_unported):
    con = connect()
    ch = open_engine("chdb", con)
    try:
        missing = [spec.name for spec, reason in support_table("chdb") if reason]
        assert missing == ["hot_path_cost"]
        with EngineAnalysis(ch) as b, pytest.raises(DetectorError, match="not supported on engine chdb"):
            b.finding("hot_path_cost")
    finally:
        ch.close()
    assert all(reason is None for _, reason in support_table("duckdb"))


def test_time_buckets_match_duckdb_before_and_after_the_origin():
    """det_bucket floors like time_bucket, also for times before the 2000-01-03 origin and
    for widths that do not divide a day."""
    import duckdb

    from loganalyze.findings import BUCKET_ORIGIN

    ch = chdb_engine()
    try:
        ch.prepare()
        times = ["1999-12-31 23:59:59.5", "2000-01-03 00:00:00", "2026-03-12 10:05:07.123456"]
        for width in (timedelta(seconds=7), timedelta(minutes=1), timedelta(days=1)):
            for text in times:
                ts = datetime.fromisoformat(text).replace(tzinfo=UTC)
                want = duckdb.execute(
                    "SELECT time_bucket($w, $ts, $o)", {"w": width, "ts": ts, "o": BUCKET_ORIGIN}
                ).fetchall()[0][0]
                got = ch.backend.query_arrow(
                    "SELECT det_bucket({ts:DateTime64(6, 'UTC')}, {w:Int64}, "
                    "toUnixTimestamp64Micro({o:DateTime64(6, 'UTC')})) AS b",
                    {"ts": text, "w": width // timedelta(microseconds=1), "o": "2000-01-03 00:00:00"},
                    {},
                ).column("b")[0].as_py()
                assert got == want, (width, text)
    finally:
        ch.close()


def test_ddl_has_every_column_of_the_schema():
    ddl = "\n".join(schema_ddl())
    for table, columns in table_columns():
        assert f"CREATE TABLE IF NOT EXISTS `{table}`" in ddl
        for column, _, _ in columns:
            assert f"`{column}`" in ddl
    assert "ORDER BY ts" in ddl and "MergeTree" in ddl


def test_every_clickhouse_body_is_a_known_detector():
    from loganalyze.detectors import list_detectors

    known = {spec.name for spec in list_detectors()}
    for path in (Path(la.__file__).parent / "engines" / "clickhouse" / "queries").glob("[!_]*.sql"):
        assert path.stem in known
        assert supported(path.stem) and "--@include" not in (body(path.stem) or "")


def _split_into_two_shards(ch) -> None:
    """Every normalized table becomes a Merge table over two shard tables, rows split by a
    hash of their id: the nearest chDB has to a Distributed table (it runs no cluster, so
    `remote()` and `Distributed` have no server to reach). A body that leans on one table's
    physical row order or on a single part gives other findings here."""
    for table, columns in table_columns():
        key = "id" if any(c == "id" for c, _, _ in columns) else "file"
        for shard in (0, 1):
            ch.backend.command(f"CREATE TABLE `{table}_shard{shard}` AS `{table}`")
            ch.backend.command(
                f"INSERT INTO `{table}_shard{shard}` SELECT * FROM `{table}` "
                f"WHERE cityHash64(`{key}`) % 2 = {shard}"
            )
        ch.backend.command(f"DROP TABLE `{table}`")
        ch.backend.command(
            f"CREATE TABLE `{table}` AS `{table}_shard0` "
            f"ENGINE = Merge(currentDatabase(), '^{table}_shard[01]$')"
        )


def test_same_findings_when_every_table_is_split_over_two_shards():
    con = connect()
    ingest([str(SAMPLES / REPLAYS[0])], con)
    ch = open_engine("chdb", con)
    try:
        _split_into_two_shards(ch)
        with EngineAnalysis(DuckDBEngine(con)) as a, EngineAnalysis(ch) as b:
            assert b.rows("edge_logs") == a.rows("edge_logs") > 0
            for name in PORTED:
                _assert_same(name, b.finding(name).frame, a.finding(name).frame)
    finally:
        ch.close()
        con.close()


def test_cli_runs_a_detector_on_chdb_and_lists_support(hot_path_cost_unported):
    import json

    from typer.testing import CliRunner

    from loganalyze.cli import app

    runner = CliRunner()
    replay = str(SAMPLES / "eventlive-fixed")
    on_duckdb = runner.invoke(app, ["run", "refresh_token_races", replay, "--format", "csv"])
    on_chdb = runner.invoke(
        app, ["run", "refresh_token_races", replay, "--format", "csv", "--engine", "chdb"]
    )
    assert on_duckdb.exit_code == 0 and on_chdb.exit_code == 0, on_chdb.output
    assert on_chdb.stdout == on_duckdb.stdout and on_chdb.stdout.count("\n") > 1

    refused = runner.invoke(app, ["run", "hot_path_cost", replay, "--engine", "chdb"])
    assert refused.exit_code == 2
    assert "not supported on engine chdb" in refused.output and "Traceback" not in refused.output

    listed = runner.invoke(app, ["detectors", "--engine", "chdb", "--json"])
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert all(rows[name]["supported"] for name in PORTED)
    assert rows["hot_path_cost"]["supported"] is False and rows["hot_path_cost"]["unsupported_reason"]

    no_url = runner.invoke(app, ["run", "db_errors", "--engine", "clickhouse"])
    assert no_url.exit_code == 2 and "--clickhouse-url" in no_url.output

    ddl = runner.invoke(app, ["init", "--engine", "clickhouse", "--ddl"])
    assert ddl.exit_code == 0 and ddl.stdout.count("CREATE TABLE IF NOT EXISTS") == len(table_columns())
