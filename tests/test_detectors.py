"""The detector library: headers, the output contract, parameters, empty ranges, the CLI,
and queries/README.md kept in step with queries/."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import loganalyze
from loganalyze.analysis import EmptyRangeWarning, detect, detect_all, run_all, run_detector
from loganalyze.cli import app
from loganalyze.detectors import get_detector, list_detectors, parse_header, queries_dir
from loganalyze.errors import DetectorError
from loganalyze.store import LOG_TABLES

NUMERIC = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt32, pl.UInt64, pl.Float64, pl.Float32)


@pytest.fixture
def busy(con):
    """A little of everything, 2026-03-14 10:00–10:02 UTC."""
    con.execute(
        """
        INSERT INTO edge_logs (id, ts, method, path, status, latency_ms, user_id, error_code,
                               client_info, request_id)
        SELECT 'e' || i, TIMESTAMPTZ '2026-03-14 10:00:00+00' + to_seconds(i), 'GET',
               CASE WHEN i % 3 = 0 THEN '/auth/v1/user' ELSE '/rest/v1/registrations' END,
               CASE WHEN i % 3 = 1 THEN 400 ELSE 200 END, 10.0 + i, 'u' || (i % 4),
               CASE WHEN i % 3 = 1 THEN '42703' END, 'supabase-js-node/2.49.4', 'r' || i
        FROM range(120) AS t(i)
        """
    )
    con.execute(
        """
        INSERT INTO postgres_logs (id, ts, severity, sqlstate, message)
        VALUES ('p1', TIMESTAMPTZ '2026-03-14 10:00:01.002+00', 'ERROR', '42703',
                'column registrations.id does not exist')
        """
    )
    return con


def test_every_detector_of_the_issue_exists():
    names = {s.name for s in list_detectors()}
    assert names == {
        "schema_errors", "conflict_storms", "status_storms", "auth_user_latency",
        "refresh_token_races", "error_amplification", "hot_path_cost", "polling_pressure",
        "realtime_presence", "rpc_latency", "cron_failures", "load_projection",
        "ingest_coverage", "db_errors",
    }  # fmt: skip


def test_headers_follow_the_contract():
    for spec in list_detectors():
        assert spec.title and spec.finds and spec.metrics, spec.name
        columns = spec.columns
        assert len(set(columns)) == len(columns), spec.name
        assert spec.events is None or spec.events in spec.metrics, spec.name
        if spec.events == "count" or "count" in spec.metrics:
            assert spec.metrics[0] == "count" or spec.events != "count", spec.name
        for metric in spec.metric_specs:
            assert not metric.name.endswith("_latency"), f"{spec.name}.{metric.name}: say _ms"
            assert metric.label, f"{spec.name}.{metric.name}: declare a label"
            if metric.name.endswith("_ms"):
                assert metric.kind == "latency" and metric.unit == "ms", metric
        assert set(spec.tables) <= set(LOG_TABLES), spec.name
        body = "\n".join(line.split("--", 1)[0] for line in spec.sql.splitlines())
        used = set(re.findall(r"\$([A-Za-z_]\w*)", body))
        declared = {p.name for p in spec.params} | {"since", "until", "window", "origin"}
        assert used <= declared, f"{spec.name} uses undeclared {used - declared}"
        assert {p.name for p in spec.params} <= used, f"{spec.name} declares unused params"


@pytest.mark.parametrize("spec", list_detectors(), ids=lambda s: s.name)
def test_output_contract_on_real_shaped_rows(busy, spec):
    frame = run_detector(busy, spec.name)
    assert tuple(frame.columns) == spec.columns
    if spec.windowed:
        assert frame.schema["window_start"] == pl.Datetime("us", "UTC")
    for metric in spec.metrics:
        assert frame.schema[metric] in NUMERIC or frame.schema[metric] == pl.Boolean, (
            f"{spec.name}.{metric} is {frame.schema[metric]}"
        )


def test_run_detector_finds_the_schema_error_once(busy):
    frame = run_detector(busy, "schema_errors", window="all")
    # 40 gateway 400s with 42703; the one Postgres row is the database side of the first.
    assert frame["count"].sum() == 40
    with_message = frame.filter(pl.col("message").is_not_null())
    assert with_message["postgres_count"].to_list() == [1]


def test_windows_and_ranges(busy):
    per_minute = run_detector(busy, "schema_errors")
    assert sorted(set(per_minute["window_start"].to_list())) == [
        datetime(2026, 3, 14, 10, 0, tzinfo=UTC),
        datetime(2026, 3, 14, 10, 1, tzinfo=UTC),
    ]
    first_half = run_detector(
        busy, "schema_errors", since="2026-03-14T10:00:00Z", until="2026-03-14T10:01:00Z"
    )
    assert first_half["count"].sum() == 20
    last = run_detector(busy, "schema_errors", last="30s", window="all")
    # The newest event is at 10:01:59; the last 30 s hold ten 42703s.
    assert last["count"].sum() == 10


def test_empty_range_says_where_the_data_is(busy):
    finding = detect(busy, "schema_errors", since="2020-01-01", until="2020-01-02")
    assert finding.frame.height == 0
    assert "2026-03-14T10:00:00Z" in finding.notice
    with pytest.warns(EmptyRangeWarning, match="the data spans"):
        run_detector(busy, "schema_errors", since="2020-01-01", until="2020-01-02")
    with pytest.warns(EmptyRangeWarning):
        frames = run_all(busy, ["schema_errors", "rpc_latency"], since="1h", until="30m")
    assert set(frames) == {"schema_errors", "rpc_latency"}


def test_empty_database_runs_every_detector(con):
    findings = detect_all(con)
    assert all(f.frame.height == 0 or f.spec.name == "ingest_coverage" for f in findings.values())
    assert findings["schema_errors"].notice == "no events: the database holds no events"


def test_parameters_are_typed_and_checked(busy):
    frame = run_detector(busy, "conflict_storms", min_count="1", multiple="0", episodes="false")
    assert frame.height == 0  # no conflicts in this data
    with pytest.raises(DetectorError, match="no parameter nope") as info:
        run_detector(busy, "schema_errors", nope=1)
    assert "match_tolerance" in info.value.hint
    with pytest.raises(DetectorError, match="not a valid integer"):
        run_detector(busy, "conflict_storms", min_count="many")
    with pytest.raises(DetectorError, match="match_tolerance"):
        run_detector(busy, "schema_errors", match_tolerance="soon")
    with pytest.raises(DetectorError, match="unknown detector"):
        get_detector("schema_error")


def test_header_parsing_rejects_bad_headers(tmp_path: Path):
    good = (
        "-- name: x\n-- title: X\n-- finds: x\n-- subject: a\n"
        "-- metric count: count [errors] -- errors seen\n-- metric p95_ms: latency [ms]\n"
        "-- needs: edge_logs | postgres_logs\n-- needs: auth_logs\n"
        "-- caveat edge_logs.user_id: no users\n-- rollup: a = (all)\nSELECT 1"
    )
    spec = parse_header(good, tmp_path / "x.sql")
    assert spec.windowed and spec.rank == 100 and spec.params == ()
    assert spec.metrics == ("count", "p95_ms")
    assert spec.metric("count").adds_up and spec.metric("count").label == "errors seen"
    assert spec.metric("p95_ms").merge == "max" and spec.metric("p95_ms").unit == "ms"
    assert spec.needs == (("edge_logs", "postgres_logs"), ("auth_logs",))
    assert spec.caveats[0].table == "edge_logs" and spec.caveats[0].column == "user_id"
    assert spec.rollup == ("a", "(all)")
    with pytest.raises(DetectorError, match="bad metric"):
        parse_header(good.replace("latency [ms]", "speedy"), tmp_path / "x.sql")
    with pytest.raises(DetectorError, match="declares no"):
        parse_header(good.replace("-- metric", "-- metrics"), tmp_path / "x.sql")
    with pytest.raises(DetectorError, match="differs from file name"):
        parse_header(good, tmp_path / "y.sql")
    with pytest.raises(DetectorError, match="lacks"):
        parse_header("-- name: x\nSELECT 1", tmp_path / "x.sql")
    with pytest.raises(DetectorError, match="bad parameter"):
        parse_header(good.replace("SELECT", "-- param n: number = 1\nSELECT"), tmp_path / "x.sql")


def test_readme_table_names_every_detector():
    text = (queries_dir() / "README.md").read_text(encoding="utf-8")
    for spec in list_detectors():
        assert f"`{spec.name}`" in text


# --------------------------------------------------------------------------- the CLI

runner = CliRunner()


@pytest.fixture
def db_file(tmp_path: Path, busy) -> Path:
    path = tmp_path / "logs.duckdb"
    busy.execute("ATTACH $p AS target", {"p": str(path)})
    busy.execute("COPY FROM DATABASE memory TO target")
    busy.execute("DETACH target")
    return path


def test_cli_lists_detectors():
    result = runner.invoke(app, ["detectors", "--json"])
    assert result.exit_code == 0
    listed = json.loads(result.stdout)
    assert [d["name"] for d in listed] == [s.name for s in list_detectors()]
    storms = next(d for d in listed if d["name"] == "conflict_storms")
    assert {"name": "min_count", "type": "integer", "default": "10"}.items() <= storms["params"][
        0
    ].items()
    table = runner.invoke(app, ["detectors"])
    assert table.exit_code == 0 and "schema_errors" in table.stdout


def test_cli_run_json_csv_and_table(db_file: Path):
    result = runner.invoke(
        app, ["run", "schema_errors", "--db", str(db_file), "--format", "json", "--window", "all"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert sum(r["count"] for r in rows) == 40
    csv = runner.invoke(app, ["run", "auth_user_latency", "--db", str(db_file), "--format", "csv"])
    assert csv.exit_code == 0
    assert csv.stdout.splitlines()[0].startswith("window_start,user_id,caller,count")
    assert "2026-03-14T10:00:00.000000Z" in csv.stdout
    table = runner.invoke(
        app,
        ["run", "status_storms", "--db", str(db_file), "-p", "min_count=5"],
        env={"COLUMNS": "200"},
    )
    assert table.exit_code == 0 and "/rest/v1/registrations" in table.stdout


def test_cli_run_errors_and_notices(db_file: Path):
    unknown = runner.invoke(app, ["run", "nope", "--db", str(db_file)])
    assert unknown.exit_code == 2 and "known detectors" in unknown.output
    bad = runner.invoke(app, ["run", "schema_errors", "--db", str(db_file), "-p", "x=1"])
    assert bad.exit_code == 2 and "match_tolerance" in bad.output
    malformed = runner.invoke(app, ["run", "schema_errors", "--db", str(db_file), "-p", "x"])
    assert malformed.exit_code == 2
    empty = runner.invoke(
        app,
        ["run", "schema_errors", "--db", str(db_file), "--since", "2020-01-01",
         "--until", "2020-01-02", "--format", "json"],
    )  # fmt: skip
    assert empty.exit_code == 0
    assert json.loads(empty.stdout) == []
    assert "the data spans 2026-03-14T10:00:00Z" in empty.stderr
    missing = runner.invoke(app, ["run", "schema_errors", "--db", str(db_file.parent / "no.db")])
    assert missing.exit_code == 3


def test_cli_run_ingests_paths_first(tmp_path: Path):
    line = {
        "id": "r1",
        "timestamp": 1773482401000000,  # 2026-03-14T10:00:01Z in µs
        "event_message": "column registrations.id does not exist",
        "metadata": [{"parsed": [{"error_severity": "ERROR", "sql_state_code": "42703"}]}],
    }
    log = tmp_path / "postgres_logs.json"
    log.write_text(json.dumps([line]), encoding="utf-8")
    result = runner.invoke(app, ["run", "schema_errors", str(log), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["sqlstate"], r["relation"], r["count"]) for r in rows] == [
        ("42703", "registrations", 1)
    ]
    assert rows[0]["window_start"].startswith("2026-03-14T10:00:00")


def test_speed_on_a_larger_database(con):
    """50k gateway rows and 5k errors: every detector together stays well under the time a
    person waits, even on a busy shared machine (the 10M-event benchmark lives in bench/)."""
    con.execute(
        """
        INSERT INTO edge_logs (id, ts, method, path, status, latency_ms, user_id, client_info,
                               error_code)
        SELECT 'e' || i, TIMESTAMPTZ '2026-03-14 10:00:00+00' + to_milliseconds(i * 9),
               CASE WHEN i % 5 = 0 THEN 'POST' ELSE 'GET' END,
               CASE WHEN i % 7 = 0 THEN '/auth/v1/user' ELSE '/rest/v1/registrations' END,
               CASE WHEN i % 10 = 0 THEN 400 ELSE 200 END, (i % 500)::DOUBLE,
               'u' || (i % 1000), 'supabase-js-node/2.49.4',
               CASE WHEN i % 10 = 0 THEN '42703' END
        FROM range(50000) AS t(i)
        """
    )
    started = datetime.now(UTC)
    findings = detect_all(con)
    elapsed = datetime.now(UTC) - started
    assert findings["schema_errors"].frame["count"].sum() == 5000
    assert elapsed < timedelta(seconds=30)


# --------------------------------------------------------------------------- real rows


def _sample(shared_dir: Path, tmp_path: Path, number: str, suffix: str) -> Path:
    """A real sample without its `# ...` provenance header, as the export it was."""
    source = next((shared_dir / "real_samples").glob(number + "_*"))
    body = [line for line in source.read_text(encoding="utf-8").splitlines()
            if not line.startswith("#")]  # fmt: skip
    target = tmp_path / (source.stem + suffix)
    target.write_text("\n".join(body) + "\n", encoding="utf-8")
    return target


def test_real_hosted_rows(shared_dir: Path, tmp_path: Path):
    """Two real Postgres rows (a 42703 raised in a trigger, then 25P02) and a real gateway
    row (a 400 whose proxy_status names 22008)."""
    from loganalyze.ingest import ingest

    con = loganalyze.connect()
    ingest(
        [
            _sample(shared_dir, tmp_path, "010", ".jsonl"),
            _sample(shared_dir, tmp_path, "008", ".json"),
        ],
        con,
    )
    errors = run_detector(con, "schema_errors", window="all")
    assert [(r["sqlstate"], r["relation"], r["column_name"], r["count"]) for r in
            errors.iter_rows(named=True)] == [("42703", "users", "identities", 1)]  # fmt: skip
    statuses = run_detector(con, "status_storms", min_count=1, multiple=0.0, window="all")
    assert [(r["status_class"], r["path"], r["count"]) for r in
            statuses.iter_rows(named=True)] == [("400", "/rest/v1/event_logs", 1)]  # fmt: skip
    con.close()


def test_a_range_inside_a_gap_of_the_data_says_so(con):
    con.execute(
        "INSERT INTO edge_logs (id, ts) VALUES ('a', TIMESTAMPTZ '2026-03-14 09:00:00+00'), "
        "('b', TIMESTAMPTZ '2026-03-14 11:00:00+00')"
    )
    finding = detect(
        con, "status_storms", since="2026-03-14T10:00:00Z", until="2026-03-14T10:30:00Z"
    )
    assert finding.notice and "selects no events" in finding.notice
    assert detect(con, "status_storms").notice is None


def test_ingest_coverage_reads_every_log_table():
    """ingest_coverage lists the tables by name (SQL cannot loop over them): it must name
    every table the store keeps logs in, so a new source is never missing from it."""
    body = get_detector("ingest_coverage").sql
    for table in LOG_TABLES:
        assert f"FROM {table} WHERE" in body and f"'{table}'" in body, table
