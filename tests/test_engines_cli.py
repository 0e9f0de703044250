"""`report`, `check` and `ingest` on ClickHouse engines, through the command line.

The report and the DoD verdicts on chDB equal DuckDB's for every detector chDB runs
(what `support_table('chdb')` says at test time: detectors are still being ported); a
detector chDB cannot run is listed as not judged in the report and makes its checks
inconclusive (exit 4), naming the engine and why. `ingest --engine chdb` fills a chDB
store that `report`, `check` and `run` read with `--chdb-path`; a re-ingest of the same files adds no row; a
failed ingest leaves the store as it was. No ClickHouse server runs here: the server
path (clickhouse-connect) is driven by a client stand-in that records each statement and
runs it on chDB.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("chdb", reason="chdb (a dev dependency) is not installed")

from typer.testing import CliRunner  # noqa: E402

import loganalyze.engines.clickhouse as clickhouse  # noqa: E402
from loganalyze.cli import app  # noqa: E402
from loganalyze.engines import support_table  # noqa: E402
from loganalyze.report.timeline import PANELS  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
REPLAYS = ("eventlive-incident", "eventlive-incident-selfhosted", "realtime-outage")
DOD = SAMPLES / "eventlive.dod.toml"
# Floats agree to a relative 1e-9: latency percentiles and sums of ratios may round in
# another order on ClickHouse (docs/scale-out.md); tests/test_engines.py holds each
# detector's frames to its exact standard, this module the report and check built on them.
FLOAT_TOLERANCE = 1e-9

runner = CliRunner()


def cli(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def said(result) -> str:
    """stderr with the console's line wrapping undone."""
    return " ".join(result.stderr.split())


def chdb_supported() -> set[str]:
    return {spec.name for spec, reason in support_table("chdb") if reason is None}


@pytest.fixture(scope="module")
def databases(tmp_path_factory) -> dict[str, Path]:
    """replay → a DuckDB file holding it (ingested once per module)."""
    root = tmp_path_factory.mktemp("replays")
    out = {}
    for replay in REPLAYS:
        path = root / f"{replay}.duckdb"
        result = cli("ingest", SAMPLES / replay, "--db", path)
        assert result.exit_code == 0, result.output
        out[replay] = path
    return out


def report_json(*args: object) -> dict[str, Any]:
    result = cli("report", *args, "--format", "json", "--no-redact")
    assert result.exit_code == 0, said(result)
    return json.loads(result.stdout)


def same(got: Any, want: Any, tolerant: bool = True, where: str = "") -> None:
    """Equal, floats to a relative FLOAT_TOLERANCE when `tolerant`."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), where
        for key in want:
            same(got[key], want[key], tolerant, f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for index, (g, w) in enumerate(zip(got, want, strict=True)):
            same(g, w, tolerant, f"{where}[{index}]")
    elif tolerant and isinstance(want, float) and isinstance(got, float) and math.isfinite(want):
        assert got == pytest.approx(want, rel=FLOAT_TOLERANCE), where
    else:
        assert got == want, where


# --------------------------------------------------------------------------- report


@pytest.mark.parametrize("replay", REPLAYS)
def test_report_on_chdb_equals_duckdb_for_what_chdb_runs(databases, replay):
    supported = chdb_supported()
    duck = report_json("--db", databases[replay])
    ch = report_json("--db", databases[replay], "--engine", "chdb")
    assert ch["range"] == duck["range"]
    for part in ("sources", "files", "rejected", "overview"):
        if part == "overview" and "db_errors" not in supported:
            continue
        assert ch[part] == duck[part], part
    by_name = {d["name"]: d for d in ch["detectors"]}
    assert by_name.keys() == {d["name"] for d in duck["detectors"]}  # none silently missing
    compared = 0
    for expected in duck["detectors"]:
        got = by_name[expected["name"]]
        if expected["name"] in supported:
            same(got, expected, where=expected["name"])
            compared += 1
        else:
            assert not got["conclusive"] and not got["rows"]
            assert any("not available on engine chdb" in m for m in got["missing_inputs"])
    assert compared >= 8
    # timeline panels drawn only from detectors chDB runs are the same
    for panel in PANELS:
        if all(source.detector in supported for source in panel.sources):
            want = [r for r in duck["timeline"] if r["panel"] == panel.key]
            got_rows = [r for r in ch["timeline"] if r["panel"] == panel.key]
            same(got_rows, want, where=panel.key)


def test_the_replays_give_the_report_something_to_compare(databases):
    """The equality above is worth something only if DuckDB's report finds things."""
    found = {d["name"] for r in REPLAYS for d in report_json("--db", databases[r])["detectors"]
             if d["found"]}  # fmt: skip
    assert {"conflict_storms", "status_storms", "db_errors", "auth_user_latency"} <= found


@pytest.fixture
def conflict_storms_unported(monkeypatch):
    """chDB as if conflict_storms had no ClickHouse body."""
    real = clickhouse.supported
    monkeypatch.setattr(clickhouse, "supported", lambda name: name != "conflict_storms" and real(name))


def test_report_lists_a_detector_the_engine_cannot_run_as_not_judged(
    databases, conflict_storms_unported
):
    db = databases["eventlive-incident"]
    report = report_json("--db", db, "--engine", "chdb")
    storms = next(d for d in report["detectors"] if d["name"] == "conflict_storms")
    assert not storms["found"] and not storms["conclusive"] and storms["rows"] == []
    assert storms["missing_inputs"] == [
        "not available on engine chdb: " + clickhouse.UNSUPPORTED_REASON
    ]
    markdown = cli("report", "--db", db, "--engine", "chdb", "--format", "markdown")
    assert markdown.exit_code == 0, said(markdown)
    not_judged = next(line for line in markdown.stdout.splitlines() if "Not judged" in line)
    assert "conflict_storms (not available on engine chdb" in not_judged
    # the same detector on DuckDB finds the storm: the engine, not the data, is why
    duck = report_json("--db", db)
    assert next(d for d in duck["detectors"] if d["name"] == "conflict_storms")["found"]


# --------------------------------------------------------------------------- check


def check_json(*args: object) -> tuple[int, dict[str, Any]]:
    result = cli("check", DOD, *args, "--format", "json", "--no-redact")
    assert result.exit_code in (0, 1, 4), said(result)
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize(
    ("run", "baseline"), [("eventlive-fixed", "eventlive-incident"), ("eventlive-incident", None)]
)
def test_check_on_chdb_gives_duckdb_verdicts_for_what_chdb_runs(run, baseline):
    supported = chdb_supported()
    args: list[object] = [SAMPLES / run]
    if baseline:
        args += ["--baseline", SAMPLES / baseline]
    duck_code, duck = check_json(*args)
    ch_code, ch = check_json(*args, "--engine", "chdb")
    assert len(ch["checks"]) == len(duck["checks"])
    for got, want in zip(ch["checks"], duck["checks"], strict=True):
        if want["detector"] in supported:
            for key in ("seconds",):
                got.pop(key), want.pop(key)
            same(got, want, where=want["id"])
        else:
            assert got["verdict"] == "inconclusive", want["id"]
            assert f"{want['detector']} is not available on engine chdb" in got["message"]
            assert all(t["observed"] is None for t in got["thresholds"])
    if all(c["detector"] in supported for c in duck["checks"]):
        assert ch_code == duck_code
    elif duck_code == 0:
        assert ch_code == 4


def test_check_on_a_detector_the_engine_cannot_run_is_inconclusive(
    tmp_path, conflict_storms_unported
):
    dod = tmp_path / "storms.dod.toml"
    dod.write_text(
        '[dod]\ntitle = "storms"\nwindow = "1m"\n\n'
        '[[check]]\nid = "no-conflicts"\ndetector = "conflict_storms"\nthreshold = "count <= 100000"\n',
        encoding="utf-8",
    )
    incident = SAMPLES / "eventlive-incident"
    assert cli("check", dod, incident).exit_code == 0  # DuckDB judges it: pass
    result = cli("check", dod, incident, "--engine", "chdb", "--format", "json")
    assert result.exit_code == 4, said(result)
    (only,) = json.loads(result.stdout)["checks"]
    assert only["verdict"] == "inconclusive"
    assert only["message"] == (
        "conflict_storms is not available on engine chdb: " + clickhouse.UNSUPPORTED_REASON
    )


# --------------------------------------------------------------------------- ingest


def store_counts(path: Path) -> dict[str, int]:
    """Rows per table of a chDB store (opened and closed: one store per process)."""
    from loganalyze.engines.clickhouse import chdb_engine
    from loganalyze.engines.clickhouse.ddl import table_columns

    engine = chdb_engine(str(path))
    try:
        return {t: engine.execute(f"SELECT count() FROM `{t}`").fetchone()[0] for t, _ in table_columns()}
    finally:
        engine.close()


def test_ingest_into_a_chdb_store_then_report_and_check_read_it(tmp_path, databases):
    store = tmp_path / "store"
    replay = SAMPLES / "eventlive-incident"
    first = cli("ingest", replay, "--engine", "chdb", "--chdb-path", store, "--json")
    assert first.exit_code == 0, said(first)
    summary = json.loads(first.stdout)
    assert summary["engine"] == "chdb" and summary["target"] == str(store)
    duck = report_json("--db", databases["eventlive-incident"])
    expected = {s["source"]: s["rows"] for s in duck["sources"]}
    assert {t: n for t, n in summary["inserted"].items() if t in expected} == expected
    assert summary["already_there"] == {}

    from_store = report_json("--engine", "chdb", "--chdb-path", store)
    from_duckdb = report_json("--db", databases["eventlive-incident"], "--engine", "chdb")
    for part in ("range", "sources", "overview", "headline", "timeline"):
        assert from_store[part] == from_duckdb[part], part
    same(from_store["detectors"], from_duckdb["detectors"], False, "detectors")  # both chDB

    run_on_store = cli("run", "conflict_storms", "--engine", "chdb", "--chdb-path", store, "--format", "json")
    run_on_duckdb = cli("run", "conflict_storms", "--db", databases["eventlive-incident"], "--format", "json")
    assert run_on_store.exit_code == 0, said(run_on_store)
    assert json.loads(run_on_store.stdout) == json.loads(run_on_duckdb.stdout) != []

    code, verdicts = check_json("--engine", "chdb", "--chdb-path", store)
    duck_code, duck_verdicts = check_json(replay)
    supported = chdb_supported()
    assert [c["verdict"] for c in verdicts["checks"] if c["detector"] in supported] == [
        c["verdict"] for c in duck_verdicts["checks"] if c["detector"] in supported
    ]


def test_reingesting_the_same_files_adds_no_rows(tmp_path):
    store = tmp_path / "store"
    replay = SAMPLES / "realtime-outage"
    assert cli("ingest", replay, "--engine", "chdb", "--chdb-path", store).exit_code == 0
    before = store_counts(store)
    again = cli("ingest", replay, "--engine", "chdb", "--chdb-path", store, "--json")
    assert again.exit_code == 0, said(again)
    summary = json.loads(again.stdout)
    after = store_counts(store)
    logs = {t for t, n in before.items() if n and t not in ("ingested_files", "rejected_rows")}
    assert logs and {t: after[t] for t in logs} == {t: before[t] for t in logs}
    assert summary["already_there"] == {t: before[t] for t in logs}
    assert after["ingested_files"] == 2 * before["ingested_files"]  # each run is recorded
    # the second run's files say every row was already there
    from loganalyze.engines.clickhouse import chdb_engine

    engine = chdb_engine(str(store))
    try:
        files = engine.frame(
            "SELECT file_id, rows, duplicates FROM ingested_files ORDER BY file_id"
        ).to_dicts()
    finally:
        engine.close()
    half = len(files) // 2
    assert [f["file_id"] for f in files] == list(range(1, len(files) + 1))  # ids continue
    assert all(f["rows"] == 0 for f in files[half:])
    assert [f["duplicates"] for f in files[half:]] == [f["rows"] for f in files[:half]]


def test_a_failed_ingest_leaves_the_store_unchanged(tmp_path):
    store = tmp_path / "store"
    assert cli("ingest", SAMPLES / "realtime-outage", "--engine", "chdb", "--chdb-path", store).exit_code == 0
    before = store_counts(store)
    whole = (SAMPLES / "realtime-outage" / "edge_logs.studio.json.gz").read_bytes()
    broken = tmp_path / "edge_logs.json.gz"
    broken.write_bytes(whole[: len(whole) // 2])
    result = cli(
        "ingest", SAMPLES / "eventlive-incident", broken, "--engine", "chdb", "--chdb-path", store
    )
    assert result.exit_code == 3, said(result)
    assert str(broken) in said(result)
    assert store_counts(store) == before


# --------------------------------------------------------------------------- usage


def test_engine_options_are_checked_before_any_work(tmp_path):
    no_url = cli("report", "--db", tmp_path / "none.duckdb", "--engine", "clickhouse")
    assert no_url.exit_code == 2 and "--clickhouse-url" in said(no_url)
    paths_to_store = cli(
        "report", SAMPLES / "realtime-outage", "--engine", "chdb", "--chdb-path", tmp_path / "s"
    )
    assert paths_to_store.exit_code == 2
    assert "ingest them first" in said(paths_to_store)
    memory_chdb = cli("ingest", SAMPLES / "realtime-outage", "--engine", "chdb")
    assert memory_chdb.exit_code == 2 and "--chdb-path" in said(memory_chdb)
    unknown = cli("check", DOD, SAMPLES / "realtime-outage", "--engine", "sqlite")
    assert unknown.exit_code == 2 and "unknown engine" in said(unknown)


# --------------------------------------------------------------------------- the server path


class RecordingClient:
    """Stands in for a clickhouse-connect client: records each statement and runs it on
    chDB (in memory, a database of its own), as the server would."""

    def __init__(self) -> None:
        from loganalyze.engines.clickhouse import ChdbBackend

        self.chdb = ChdbBackend()
        self.statements: list[str] = []
        self.inserts: list[tuple[str, int]] = []
        self.closed = False

    def command(self, sql: str) -> None:
        self.statements.append(sql)
        self.chdb.command(sql)

    def query_arrow(self, sql: str, parameters=None, settings=None):
        self.statements.append(sql)
        return self.chdb.query_arrow(sql, parameters or {}, settings or {})

    def insert_arrow(self, table: str, data) -> None:
        self.inserts.append((table, data.num_rows))
        self.chdb.insert_arrow(table, data)

    def close(self) -> None:
        self.closed = True  # the chDB database stays for the test to read, then is dropped


def test_ingest_to_a_server_stages_then_moves_new_rows(monkeypatch):
    clickhouse_connect = pytest.importorskip("clickhouse_connect")
    from loganalyze.engines import ingest_to_engine

    clients: list[RecordingClient] = []

    def get_client(dsn: str):
        assert dsn == "http://default:secret@clickhouse.test:8123/logs"
        clients.append(RecordingClient())
        return clients[-1]

    monkeypatch.setattr(clickhouse_connect, "get_client", get_client)
    url = "http://default:secret@clickhouse.test:8123/logs"
    done = ingest_to_engine("clickhouse", [str(SAMPLES / "realtime-outage")], url=url)
    (client,) = clients
    try:
        assert done.target == "http://default:***@clickhouse.test:8123/logs"  # no password shown
        staged = [s for s in client.statements if s.startswith("CREATE TABLE `loganalyze_stage_")]
        moves = [s for s in client.statements if s.startswith("INSERT INTO `edge_logs`")]
        drops = [s for s in client.statements if s.startswith("DROP TABLE IF EXISTS `loganalyze_stage_")]
        assert len(staged) == len(drops) == 11  # every normalized table staged, every stage dropped
        (move,) = moves
        assert "SELECT * FROM `loganalyze_stage_" in move and "WHERE id NOT IN (SELECT id FROM `edge_logs`" in move
        # Arrow batches go to the staging tables only, never straight into a normalized table
        assert client.inserts and all(t.startswith("loganalyze_stage_") for t, _ in client.inserts)
        # the first statements create the tables (IF NOT EXISTS): the stages copy them
        assert client.statements[0].startswith("CREATE TABLE IF NOT EXISTS")
        assert done.inserted["edge_logs"] == client.chdb.query_arrow(
            "SELECT count() FROM edge_logs", {}, {}
        ).column(0)[0].as_py()
        assert done.inserted["edge_logs"] > 0
        assert client.closed
    finally:
        client.chdb.close()


# --------------------------------------------------------------------------- the library


def test_build_report_and_check_take_an_engine_or_an_analysis(databases):
    """`build_report(engine)`, `build_report(analysis)` (its own range, left open for the
    caller) and `check(engine, dod)`, without the command line."""
    from loganalyze.dod import check
    from loganalyze.engines import EngineAnalysis, open_engine
    from loganalyze.report import build_report
    from loganalyze.store import connect

    con = connect(databases["eventlive-incident"], read_only=True)
    engine = open_engine("chdb", con)
    try:
        whole = build_report(engine)
        with EngineAnalysis(engine, mark_unsupported=True, last="2m") as analysis:
            narrow = build_report(analysis)
            assert narrow.start == analysis.time_range.start != whole.start
            assert analysis.finding("conflict_storms").found  # still usable afterwards
        verdicts = check(engine, DOD)
        assert {r.check.id: r.verdict.value for r in verdicts.results}["P0-1.registrations-id-errors"] == "fail"
    finally:
        engine.close()
        con.close()
    assert whole.end == narrow.end and whole.found
