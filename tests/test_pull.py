"""`pull` against a local endpoint that runs the received SQL on real ClickHouse (chDB),
filled from synth's ClickHouse-era rows, with the service's failures injected."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytest.importorskip("chdb", reason="chdb (a dev dependency) runs the local logs endpoint")

from loganalyze.pull import PullError, PullOptions, RetryPolicy, pull  # noqa: E402
from loganalyze.store import connect  # noqa: E402
from loganalyze.synth import synth  # noqa: E402
from tests.fake_logs_api import FakeLogsApi, Faults  # noqa: E402

START = "2026-03-12T10:00:00Z"
SINCE, UNTIL = "2026-03-12T09:58:00Z", "2026-03-12T10:06:00Z"
SOURCES = ("edge_logs", "postgres_logs", "auth_logs", "realtime_logs")
FAST = RetryPolicy(base=0.01, cap=0.2, total=120.0)


def make_replay(out: Path, *, start: str = START, seed: int = 20260312) -> dict[str, int]:
    """Four minutes of the incident as ClickHouse-era API pages; the manifest's rows."""
    result = synth("incident", out, users=20, minutes=4, seed=seed, formats=("clickhouse",),
                   start=start)
    return {k: v for k, v in result.manifest["rows"].items() if k in SOURCES}


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("clickhouse-replay")
    return out, make_replay(out)


@pytest.fixture(scope="module")
def server(replay: tuple[Path, dict[str, int]]):  # type: ignore[no-untyped-def]
    with FakeLogsApi() as api:
        api.load_envelopes(str(replay[0] / "logs.clickhouse.*.json"))
        yield api


@pytest.fixture
def api(server: FakeLogsApi) -> FakeLogsApi:
    server.reset()
    return server


@pytest.fixture
def expected(replay: tuple[Path, dict[str, int]]) -> dict[str, int]:
    return replay[1]


def options(api: FakeLogsApi, **overrides: object) -> PullOptions:
    values: dict[str, object] = {"api_url": api.url, "page_rows": 1000,
                                 "slice_length": timedelta(minutes=5), "policy": FAST}
    values.update(overrides)
    return PullOptions(**values)  # type: ignore[arg-type]


def stored(con) -> dict[str, tuple[int, int]]:  # type: ignore[no-untyped-def]
    """Per source: (rows, distinct ids)."""
    return {
        t: con.execute(f"SELECT count(*), count(DISTINCT id) FROM {t}").fetchone()
        for t in SOURCES
    }


def exact(expected: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {t: (n, n) for t, n in expected.items()}


def test_every_row_of_every_source_arrives_once(api: FakeLogsApi, expected: dict[str, int]) -> None:
    con = connect()
    summary = pull(con, api.project, api.token, since=SINCE, until=UNTIL,
                   options=options(api, page_rows=400, slice_length=timedelta(minutes=2)))
    assert not summary.incomplete
    assert stored(con) == exact(expected)
    assert con.execute("SELECT count(*) FROM rejected_rows").fetchone() == (0,)
    # the 12 k edge rows needed many pages: keyset continuation was exercised
    edge_pages = [s for s in api.served if s.kind == "rows" and "'edge_logs'" in s.sql]
    assert len(edge_pages) > expected["edge_logs"] / 400
    assert all(s.status == 200 for s in api.served)
    verified = con.execute("SELECT bool_and(verified), sum(rows) FROM pull_ledger").fetchone()
    assert verified == (True, sum(expected.values()))


def test_rows_normalize_like_an_ingested_api_export(
    api: FakeLogsApi, replay: tuple[Path, dict[str, int]]
) -> None:
    from loganalyze.ingest import ingest

    pulled = connect()
    pull(pulled, api.project, api.token, since=SINCE, until=UNTIL,
         options=options(api, sources=("auth_logs", "edge_logs")))
    exported = connect()
    ingest(sorted(replay[0].glob("logs.clickhouse.*.json")), exported)
    for query in (
        "SELECT id, ts, method, path, status, user_id, latency_ms, error_code FROM edge_logs ORDER BY id",
        "SELECT id, ts, status, duration_ms, path, error_code FROM auth_logs ORDER BY id",
    ):
        assert pulled.execute(query).fetchall() == exported.execute(query).fetchall()


@pytest.mark.parametrize(
    "faults",
    [
        Faults(rate_limit_every=3, retry_after=0.05),
        Faults(rate_limit_every=4),
        Faults(backend_errors=5),
        Faults(server_errors=4),
        Faults(drop_every=5),
        Faults(empty_first=3),
        Faults(row_cap=400),
        Faults(delay=0.02),
    ],
    ids=["429-retry-after", "429-no-header", "200-with-error", "503", "dropped-connection",
         "empty-then-rows", "row-cap", "slow"],
)
def test_the_service_failures_are_survived(
    api: FakeLogsApi, expected: dict[str, int], faults: Faults
) -> None:
    api.faults = faults
    con = connect()
    summary = pull(con, api.project, api.token, since=SINCE, until=UNTIL, options=options(api))
    assert not summary.incomplete, summary.to_dict()["incomplete"]
    assert stored(con) == exact(expected)
    if faults.rate_limit_every:
        assert summary.stats.throttled > 0
        assert summary.lowest_concurrency == 1  # two in flight, lowered on 429
    if faults.retry_after:
        # every 429 waited at least what Retry-After asked
        assert summary.stats.backoff_seconds >= faults.retry_after * summary.stats.throttled
    if faults.row_cap:
        capped = [s for s in api.served if s.kind == "rows" and s.rows == faults.row_cap]
        assert len(capped) >= expected["edge_logs"] // 1000  # continued past the cap by keyset
    if faults.backend_errors or faults.server_errors or faults.drop_every or faults.empty_first:
        assert summary.stats.retries > 0 or faults.empty_first


def test_a_count_that_never_matches_is_reported_incomplete_and_resumed(
    api: FakeLogsApi, expected: dict[str, int]
) -> None:
    api.faults = Faults(count_extra=1)
    con = connect()
    summary = pull(con, api.project, api.token, since=SINCE, until=UNTIL,
                   options=options(api, sources=("postgres_logs",)))
    missing = summary.incomplete
    assert {(s.slice.start, s.slice.end) for s in missing} == {
        (s.slice.start, s.slice.end) for s in summary.slices if s.counted
    }
    assert all(s.counted == s.rows + 1 for s in missing)
    assert all("service counts" in (s.reason or "") for s in missing)
    # what was fetched is kept
    assert stored(con)["postgres_logs"] == (expected["postgres_logs"],) * 2
    assert con.execute("SELECT count(*) FROM pull_ledger WHERE NOT verified").fetchone() == (
        len(missing),
    )
    # a later run fetches only the unconfirmed slices and completes them
    api.reset()
    again = pull(con, api.project, api.token, since=SINCE, until=UNTIL,
                 options=options(api, sources=("postgres_logs",)))
    assert not again.incomplete
    assert {(s.slice.start, s.slice.end) for s in again.slices} == {
        (s.slice.start, s.slice.end) for s in missing
    }
    assert stored(con)["postgres_logs"] == (expected["postgres_logs"],) * 2


def test_the_time_budget_ends_a_pull_as_incomplete(api: FakeLogsApi) -> None:
    api.faults = Faults(backend_errors=10_000)
    con = connect()
    summary = pull(con, api.project, api.token, since=SINCE, until=UNTIL,
                   options=options(api, sources=("edge_logs",),
                                   policy=RetryPolicy(base=0.05, cap=0.05, total=0.5,
                                                      attempts=1000)))
    assert summary.incomplete and len(summary.incomplete) == len(summary.slices)
    assert all("time budget" in (s.reason or "") for s in summary.incomplete)


def test_a_rerun_fetches_only_what_is_missing_plus_the_lag(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(minutes=30)
    rows = make_replay(tmp_path, start=start.isoformat(), seed=7)
    with FakeLogsApi() as api:
        api.load_envelopes(str(tmp_path / "logs.clickhouse.*.json"))
        # the last two minutes of events have not reached the service yet
        api.hide_after = start + timedelta(minutes=2)
        con = connect(tmp_path / "pull.duckdb")
        lag = timedelta(minutes=29)
        first = pull(con, api.project, api.token, since="40m",
                     options=options(api, lag=lag, sources=SOURCES,
                                     slice_length=timedelta(minutes=5)))
        assert not first.incomplete
        assert sum(n for n, _ in stored(con).values()) < sum(rows.values())
        api.reset()
        second = pull(con, api.project, api.token, since="40m",
                      options=options(api, lag=lag, sources=SOURCES,
                                      slice_length=timedelta(minutes=5)))
        assert not second.incomplete
        assert stored(con) == exact(rows)
        # only the lag window was asked again, not the settled start of the range
        earliest = min(datetime.fromisoformat(s.start.replace("Z", "+00:00")) for s in api.served)
        assert earliest >= now - lag - timedelta(seconds=5)
        assert second.ingest.duplicates > 0  # rows of the lag window fetched twice, kept once


def test_refusals_name_what_to_do(api: FakeLogsApi) -> None:
    con = connect()
    cases = {401: "invalid or has expired", 403: "analytics_logs_read", 404: "no project",
             402: "plan", 410: "gone"}
    for status, words in cases.items():
        api.reset()
        api.faults = Faults(status=status)
        with pytest.raises(PullError) as caught:
            pull(con, api.project, api.token, since=SINCE, until=UNTIL, options=options(api))
        text = caught.value.message + " " + (caught.value.hint or "")
        assert words in text, (status, text)
        assert api.token not in text
        assert len(api.served) <= 2  # never retried


def test_a_wrong_token_is_refused_by_the_endpoint(api: FakeLogsApi) -> None:
    with pytest.raises(PullError, match="401"):
        pull(connect(), api.project, "sbp_wrong", since=SINCE, until=UNTIL, options=options(api))


def test_the_summary_is_json_ready(api: FakeLogsApi, expected: dict[str, int]) -> None:
    summary = pull(connect(), api.project, api.token, since=SINCE, until=UNTIL,
                   options=options(api, sources=("realtime_logs",)))
    data = json.loads(json.dumps(summary.to_dict()))
    assert data["complete"] is True
    assert data["rows_read"] == expected["realtime_logs"]
    assert api.token not in json.dumps(data)
