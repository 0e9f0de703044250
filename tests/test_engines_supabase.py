"""Push-down to Supabase's log store (`--engine supabase`) against the local chDB-backed
endpoint `pull` is tested with: every pushed detector's findings equal pull-then-analyse on
DuckDB over the same range, compared exactly (percentiles included: every window lies in
one slice, so they are computed over all of its calls; the one tolerance is the 1e-9 of
floating-point order shared with the ClickHouse engines). Ranges over 24 h are cut into
slices and merged; throttling and HTTP-200 errors are retried as by `pull`."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

pytest.importorskip("chdb", reason="chdb (a dev dependency) runs the local logs endpoint")

from polars.testing import assert_frame_equal  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from loganalyze.cli import app  # noqa: E402
from loganalyze.engines import DuckDBEngine, EngineAnalysis, support_table  # noqa: E402
from loganalyze.engines.supabase import PUSHED, finding_on_supabase, plan  # noqa: E402
from loganalyze.errors import DetectorError  # noqa: E402
from loganalyze.pull import PullError, PullOptions, RetryPolicy, pull  # noqa: E402
from loganalyze.store import connect  # noqa: E402
from tests.fake_logs_api import FakeLogsApi, Faults  # noqa: E402
from tests.test_pull import SINCE, UNTIL, make_replay  # noqa: E402

FAST = RetryPolicy(base=0.01, cap=0.2, total=120.0)
TOLERANT = ("mean_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms")
# The replay copied three times, 20 h apart: a range of 44 h needs several requests.
LONG_SINCE, LONG_UNTIL = "2026-03-12T09:58:00Z", "2026-03-14T06:06:00Z"
runner = CliRunner()


@pytest.fixture(scope="module")
def replay_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("supabase-pushdown")
    make_replay(out)
    return out


@pytest.fixture(scope="module")
def server(replay_dir: Path):  # type: ignore[no-untyped-def]
    with FakeLogsApi() as api:
        api.load_envelopes(str(replay_dir / "logs.clickhouse.*.json"))
        api.replicate(3, timedelta(hours=20))
        yield api


@pytest.fixture
def api(server: FakeLogsApi) -> FakeLogsApi:
    server.reset()
    return server


@pytest.fixture(scope="module")
def pulled(server: FakeLogsApi):  # type: ignore[no-untyped-def]
    """The same endpoint pulled into DuckDB over the long range (rows of every copy)."""
    con = connect()
    pull(con, server.project, server.token, since=LONG_SINCE, until=LONG_UNTIL,
         options=PullOptions(api_url=server.url, policy=FAST, page_rows=20_000,
                             slice_length=timedelta(hours=24)))
    server.reset()
    yield con
    con.close()


def pushed(api: FakeLogsApi, name: str, since: str, until: str, window: str = "1m", **params):
    return finding_on_supabase(api.project, name, since=since, until=until, window=window,
                               api_url=api.url, policy=FAST, token=api.token, **params)


def _assert_same_finding(got, expected) -> None:  # type: ignore[no-untyped-def]
    # the same range; the data span differs by design: the store is asked about the
    # range only, the DuckDB database holds every copy pulled
    assert (got.time_range.start, got.time_range.end) == (expected.time_range.start, expected.time_range.end)
    assert got.inputs == expected.inputs
    assert got.missing == expected.missing and got.caveats == expected.caveats
    exact = [c for c in expected.frame.columns if c not in TOLERANT]
    assert_frame_equal(got.frame.select(exact), expected.frame.select(exact), check_exact=True)
    loose = [c for c in expected.frame.columns if c in TOLERANT]
    if loose:
        assert_frame_equal(got.frame.select(loose), expected.frame.select(loose),
                           check_exact=False, rel_tol=1e-9)
    for metric in expected.metric_columns:
        want, have = expected.total(metric), got.total(metric)
        if metric in TOLERANT and want is not None:
            assert have == pytest.approx(want, rel=1e-9), metric
        else:
            assert have == want, metric


def expected_finding(con, name: str, since: str, until: str, window: str = "1m", **params):  # type: ignore[no-untyped-def]
    with EngineAnalysis(DuckDBEngine(con), since=since, until=until, window=window) as analysis:
        return analysis.finding(name, **params)


VARIANTS = [
    ("db_errors", {}), ("schema_errors", {}), ("conflict_storms", {}), ("status_storms", {}),
    ("status_storms", {"min_count": 1, "multiple": 0.0, "episodes": False}),
    ("conflict_storms", {"min_count": 1, "multiple": 0.0}),
    ("auth_user_latency", {}), ("auth_user_latency", {"per_user": True, "prefer": "auth"}),
    ("refresh_token_races", {}), ("db_errors", {"match_tolerance": "5s"}), ("rpc_latency", {}),
]


@pytest.mark.parametrize(("name", "params"), VARIANTS, ids=lambda v: str(v) if v else "defaults")
def test_pushed_detector_equals_pull_then_analyse(api, pulled, name, params):
    got = pushed(api, name, SINCE, UNTIL, **params)
    _assert_same_finding(got, expected_finding(pulled, name, SINCE, UNTIL, **params))
    # only aggregates travel: no request asks for the log rows themselves
    assert not any(s.sql.lstrip().upper().startswith("SELECT ID") for s in api.served)


def test_the_replay_exercises_the_pushed_detectors(api, pulled):
    """Equality is worth something only if the detectors find something here."""
    for name in ("db_errors", "schema_errors", "conflict_storms", "status_storms", "auth_user_latency",
                 "rpc_latency"):
        assert expected_finding(pulled, name, SINCE, UNTIL).frame.height > 0, name


@pytest.mark.parametrize(
    ("name", "window", "params"),
    [
        ("db_errors", "1m", {}),
        ("schema_errors", "1h", {}),
        ("auth_user_latency", "1m", {}),
        ("rpc_latency", "10m", {}),
        ("status_storms", "1m", {"min_count": 1, "multiple": 0.0}),
        ("db_errors", "all", {}),
        ("refresh_token_races", "all", {}),
        ("conflict_storms", "all", {"min_count": 1, "multiple": 0.0}),
    ],
)
def test_a_range_over_a_day_is_sliced_and_merged(api, pulled, name, window, params):
    got = pushed(api, name, LONG_SINCE, LONG_UNTIL, window=window, **params)
    # the detector's own requests (window buckets: intDiv) covered several slices
    detector_requests = {(s.start, s.end) for s in api.served if "intDiv(" in s.sql}
    assert len(detector_requests) >= 2
    _assert_same_finding(got, expected_finding(pulled, name, LONG_SINCE, LONG_UNTIL, window=window, **params))


def test_slices_end_on_window_edges_and_stay_within_a_request():
    from datetime import UTC, datetime

    since = datetime(2026, 3, 12, 9, 58, 30, tzinfo=UTC)
    until = datetime(2026, 3, 15, 1, 0, tzinfo=UTC)
    origin = datetime(2000, 1, 3, tzinfo=UTC)
    width = timedelta(minutes=7)
    pieces, disjoint = plan(since, until, width, origin, timedelta(minutes=15))
    assert disjoint and len(pieces) >= 3
    assert pieces[0].core_since == since and pieces[-1].core_until == until
    for left, right in zip(pieces, pieces[1:], strict=False):
        assert left.core_until == right.core_since
        assert (right.core_since - origin) % width == timedelta()
        assert left.since >= since and left.until - left.since <= timedelta(hours=24)


def test_percentiles_are_not_merged_across_slices(api):
    with pytest.raises(DetectorError, match="cannot be merged"):
        pushed(api, "auth_user_latency", LONG_SINCE, LONG_UNTIL, window="all")


def test_throttling_and_errors_in_an_http_200_are_retried(api, pulled):
    api.faults = Faults(rate_limit_every=2, retry_after=0.01, backend_errors=2)
    got = pushed(api, "db_errors", SINCE, UNTIL)
    statuses = [s.status for s in api.served]
    assert 429 in statuses
    assert any(s.status == 200 and s.rows == 0 for s in api.served[:2])
    _assert_same_finding(got, expected_finding(pulled, "db_errors", SINCE, UNTIL))


def test_an_error_that_persists_is_reported(api):
    api.faults = Faults(backend_errors=1000)
    with pytest.raises(PullError, match="kept answering with an error: Backend error"):
        finding_on_supabase(api.project, "db_errors", since=SINCE, until=UNTIL, api_url=api.url,
                            policy=RetryPolicy(attempts=3, base=0.01, cap=0.05, total=30.0),
                            token=api.token)


def test_unsupported_detectors_are_listed_with_the_reason():
    table = dict((spec.name, reason) for spec, reason in support_table("supabase"))
    assert {n for n, r in table.items() if r is None} == set(PUSHED)
    result = runner.invoke(app, ["detectors", "--engine", "supabase", "--json"])
    assert result.exit_code == 0, result.output
    listed = {d["name"]: d for d in json.loads(result.stdout)}
    assert listed["hot_path_cost"]["supported"] is False
    assert "pull the range" in listed["hot_path_cost"]["unsupported_reason"]


def test_run_refuses_an_unsupported_detector_with_exit_2(api, monkeypatch):
    monkeypatch.setenv("SUPABASE_ACCESS_TOKEN", api.token)
    monkeypatch.setenv("LOGANALYZE_API_URL", api.url)
    result = runner.invoke(app, ["run", "hot_path_cost", "--engine", "supabase", "--project",
                                 api.project, "--since", SINCE, "--until", UNTIL])
    assert result.exit_code == 2
    assert "not supported on engine supabase" in result.output
    assert api.requests_served() == 0  # refused before any request


def test_run_on_supabase_from_the_command_line(api, pulled, monkeypatch):
    monkeypatch.setenv("SUPABASE_ACCESS_TOKEN", api.token)
    monkeypatch.setenv("LOGANALYZE_API_URL", api.url)
    result = runner.invoke(app, ["run", "schema_errors", "--engine", "supabase", "--project",
                                 api.project, "--since", SINCE, "--until", UNTIL, "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    expected = expected_finding(pulled, "schema_errors", SINCE, UNTIL).frame
    assert len(rows) == expected.height > 0
    assert [r["count"] for r in rows] == expected["count"].to_list()


def test_errors_without_a_sqlstate_are_a_caveat_not_a_silent_gap(api):
    """ingest infers a missing SQLSTATE from the message text; the store cannot, so the
    finding says how many rows it could not count (a day after the replay's copies)."""
    api.sql(
        "INSERT INTO " + api.table + " VALUES ('uncoded-1', toDateTime64('2026-03-20 10:00:01', 6, 'UTC'), "
        "'column registrations.id does not exist', 'ERROR', 'postgres_logs', "
        "map('parsed.error_severity', 'ERROR', 'parsed.timestamp', '2026-03-20 10:00:01.000 UTC'))"
    )
    got = pushed(api, "schema_errors", "2026-03-20T09:59:00Z", "2026-03-20T10:01:00Z")
    assert got.frame.height == 0
    assert any("1 Postgres/PostgREST error rows in the range carry no SQLSTATE" in c for c in got.caveats)
    assert not pushed(api, "status_storms", "2026-03-20T09:59:00Z", "2026-03-20T10:01:00Z").caveats
