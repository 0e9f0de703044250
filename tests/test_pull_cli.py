"""`loganalyze pull` and `--project` on report/run/check, end to end against the local
ClickHouse-backed endpoint: exit codes, messages, the token never shown or stored, and a
pull killed with SIGKILL resumed from its ledger."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

pytest.importorskip("chdb", reason="chdb (a dev dependency) runs the local logs endpoint")

from typer.testing import CliRunner  # noqa: E402

from loganalyze.cli import app  # noqa: E402
from loganalyze.pull import PullOptions, RetryPolicy, pull  # noqa: E402
from loganalyze.store import connect  # noqa: E402
from tests.fake_logs_api import FakeLogsApi, Faults  # noqa: E402
from tests.test_pull import SINCE, SOURCES, UNTIL, make_replay  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("clickhouse-replay-cli")
    return out, make_replay(out)


@pytest.fixture(scope="module")
def server(replay: tuple[Path, dict[str, int]]):  # type: ignore[no-untyped-def]
    with FakeLogsApi(token="sbp_cli_secret_4f1c9a7e2b8d") as api:
        api.load_envelopes(str(replay[0] / "logs.clickhouse.*.json"))
        yield api


@pytest.fixture
def api(server: FakeLogsApi) -> FakeLogsApi:
    server.reset()
    return server


def env(api: FakeLogsApi, **extra: str) -> dict[str, str]:
    return {"SUPABASE_ACCESS_TOKEN": api.token, "LOGANALYZE_API_URL": api.url,
            "LOGANALYZE_DB": "", "COLUMNS": "200", **extra}


def pull_args(api: FakeLogsApi, db: Path, *more: str, sources: tuple[str, ...] = SOURCES) -> list[str]:
    return ["pull", "--project", api.project, "--since", SINCE, "--until", UNTIL, "--db", str(db),
            "--source", ",".join(sources), "--backoff", "10ms", "--slice", "5m", *more]


def no_secret(api: FakeLogsApi, *texts: str, files: tuple[Path, ...] = ()) -> None:
    for text in texts:
        assert api.token not in text
    for path in files:
        if path.exists():
            assert api.token.encode() not in path.read_bytes(), path


def test_a_malformed_ref_is_a_usage_error_before_any_request(api: FakeLogsApi, tmp_path: Path) -> None:
    result = runner.invoke(app, ["pull", "--project", "NotARef", "--db", str(tmp_path / "x.duckdb")],
                           env=env(api))
    assert result.exit_code == 2
    assert "not a project ref" in result.stderr and "Traceback" not in result.stderr
    assert api.served == []


def test_no_token_says_which_variable(api: FakeLogsApi, tmp_path: Path) -> None:
    result = runner.invoke(app, pull_args(api, tmp_path / "x.duckdb"),
                           env={**env(api), "SUPABASE_ACCESS_TOKEN": ""})
    assert result.exit_code == 2
    assert "SUPABASE_ACCESS_TOKEN" in result.stderr and "analytics_logs_read" in result.stderr
    assert api.served == []


def test_pull_fills_the_database_and_never_shows_the_token(
    api: FakeLogsApi, replay: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    db = tmp_path / "pulled.duckdb"
    result = runner.invoke(app, [*pull_args(api, db), "--json"], env=env(api))
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["complete"] and summary["rows_read"] == sum(replay[1].values())
    con = connect(db, read_only=True)
    for table, rows in replay[1].items():
        assert con.execute(f"SELECT count(*), count(DISTINCT id) FROM {table}").fetchone() == (rows, rows)
    con.close()
    again = runner.invoke(app, [*pull_args(api, db), "--json"], env=env(api))
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["already_pulled"] == {s: [[SINCE.replace("Z", ".000000Z"),
                                                            UNTIL.replace("Z", ".000000Z")]]
                                                        for s in SOURCES}
    assert json.loads(again.stdout)["requests"] == 0  # nothing new to fetch
    table = runner.invoke(app, pull_args(api, db), env=env(api))
    assert table.exit_code == 0, table.stderr
    assert "pulled project" in table.stderr and "already had" in table.stderr
    no_secret(api, result.stdout, result.stderr, table.stdout, table.stderr,
              files=(db, db.with_name(db.name + ".wal")))


def test_token_file_and_a_refused_token(api: FakeLogsApi, tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text(api.token + "\n")
    ok = runner.invoke(app, [*pull_args(api, tmp_path / "a.duckdb"), "--token-file", str(secret)],
                       env={**env(api), "SUPABASE_ACCESS_TOKEN": ""})
    assert ok.exit_code == 0, ok.stderr
    wrong = "sbp_wrong_but_secret_77aa"
    refused = runner.invoke(app, pull_args(api, tmp_path / "b.duckdb"),
                            env={**env(api), "SUPABASE_ACCESS_TOKEN": wrong})
    assert refused.exit_code == 3
    assert "401" in refused.stderr and "expired" in refused.stderr
    assert wrong not in refused.stderr + refused.stdout
    no_secret(api, ok.stdout, ok.stderr)


@pytest.mark.parametrize("status, words", [(403, "analytics_logs_read"), (404, "no project"),
                                           (402, "plan"), (410, "moved")])
def test_refusals_exit_3_with_what_to_do(api: FakeLogsApi, tmp_path: Path, status: int, words: str) -> None:
    api.faults = Faults(status=status)
    result = runner.invoke(app, pull_args(api, tmp_path / "x.duckdb"), env=env(api))
    assert result.exit_code == 3
    assert words in " ".join(result.stderr.split()) and "Traceback" not in result.stderr
    no_secret(api, result.stderr, result.stdout)


def test_incomplete_exits_5_naming_the_slices_and_keeps_the_rows(
    api: FakeLogsApi, replay: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    api.faults = Faults(count_extra=1)
    db = tmp_path / "partial.duckdb"
    result = runner.invoke(app, pull_args(api, db, sources=("auth_logs",)), env=env(api))
    assert result.exit_code == 5
    text = " ".join(result.stderr.split())
    assert "incomplete" in text and "auth_logs 2026-03-12T09:58:00" in text
    con = connect(db, read_only=True)
    assert con.execute("SELECT count(*) FROM auth_logs").fetchone() == (replay[1]["auth_logs"],)
    con.close()
    no_secret(api, result.stderr, result.stdout)


def test_report_and_run_pull_first_with_project(
    api: FakeLogsApi, replay: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    db = tmp_path / "oncall.duckdb"
    report = runner.invoke(app, ["report", "--project", api.project, "--since", SINCE,
                                 "--until", UNTIL, "--db", str(db), "--format", "json"],
                           env=env(api))
    assert report.exit_code == 0, report.stderr
    assert "pulled project" in report.stderr
    body = json.loads(report.stdout)
    assert body  # the report itself is report's business; it ran on the pulled rows
    con = connect(db, read_only=True)
    assert con.execute("SELECT count(*) FROM edge_logs").fetchone() == (replay[1]["edge_logs"],)
    con.close()
    run = runner.invoke(app, ["run", "schema_errors", "--project", api.project, "--since", SINCE,
                              "--until", UNTIL, "--db", str(db), "--format", "json"], env=env(api))
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout)
    no_secret(api, report.stdout, report.stderr, run.stdout, run.stderr)


def test_check_refuses_to_judge_an_incomplete_pull(api: FakeLogsApi, tmp_path: Path) -> None:
    api.faults = Faults(count_extra=1, count_extra_source="realtime_logs")
    result = runner.invoke(app, ["check", str(REPO / "sample_logs" / "eventlive.dod.toml"),
                                 "--project", api.project, "--since", SINCE, "--until", UNTIL,
                                 "--db", str(tmp_path / "ci.duckdb"), "--format", "json"],
                           env=env(api))
    assert result.exit_code == 5
    assert result.stdout == "" and "incomplete" in result.stderr


def test_a_killed_pull_resumes_from_its_ledger(
    api: FakeLogsApi, replay: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    db = tmp_path / "killed.duckdb"
    # quick answers at first, then slow ones: the kill lands after some slices are stored
    api.faults = Faults(delay=2.0, delay_after=12)
    args = [sys.executable, "-m", "loganalyze", *pull_args(api, db, "--slice", "1m",
                                                             "--concurrency", "1")]
    process = subprocess.Popen(args, env={**os.environ, **env(api)}, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while api.requests_served() < 14 and time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            time.sleep(0.05)
        time.sleep(1.0)  # the slice before the slow one gets stored
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    con = connect(db)
    ledger = con.execute(
        "SELECT source, slice_start, slice_end, rows FROM pull_ledger WHERE verified"
    ).fetchall()
    assert ledger, "no slice was stored before the kill"
    for source, lo, hi, rows in ledger:
        stored = con.execute(f"SELECT count(*) FROM {source} WHERE ts >= $lo AND ts < $hi",
                             {"lo": lo, "hi": hi}).fetchone()
        assert stored == (rows,)
    api.reset()
    again = pull(con, api.project, api.token, since=SINCE, until=UNTIL,
                 options=PullOptions(api_url=api.url, sources=SOURCES,
                                     policy=RetryPolicy(base=0.01, cap=0.1)))
    assert not again.incomplete
    for served in api.served:  # nothing the ledger holds was asked again
        source = re.search(r"source = '([a-z_]+)'", served.sql).group(1)  # type: ignore[union-attr]
        start = datetime.fromisoformat(served.start.replace("Z", "+00:00"))
        end = datetime.fromisoformat(served.end.replace("Z", "+00:00"))
        assert not any(s == source and start < hi and end > lo for s, lo, hi, _ in ledger)
    for table, rows in replay[1].items():
        assert con.execute(f"SELECT count(*), count(DISTINCT id) FROM {table}").fetchone() == (rows, rows)
