"""Results several detectors share (SHARED_RESULTS: the route attribution, the
participant-minutes) are built once per analysis; these tests check that interleaving
ranges, parameters, new rows and updates on one connection gives exactly what each
detector finds without sharing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from polars.testing import assert_frame_equal

import loganalyze
from loganalyze import analysis
from loganalyze.analysis import run_detector
from loganalyze.timeparse import resolve_range

from .conftest import SAMPLE_LOGS

REPLAY = SAMPLE_LOGS / "eventlive-incident"


@pytest.fixture(scope="module")
def replay_con():
    assert (REPLAY / "manifest.json").is_file(), f"{REPLAY} is part of the repository"
    from loganalyze.ingest import ingest

    con = loganalyze.connect()
    ingest([REPLAY], con)
    yield con
    con.close()


def _runs(con) -> list[tuple[str, dict]]:
    whole = resolve_range(con, None, None, None)
    middle = whole.start + (whole.end - whole.start) / 2
    return [
        ("hot_path_cost", {}),
        ("hot_path_cost", {"until": middle}),
        ("load_projection", {"until": middle}),
        ("load_projection", {}),
        ("hot_path_cost", {"since": middle, "burst_gap": "5s"}),
        ("hot_path_cost", {}),
    ]


def _unshared(monkeypatch, con, name: str, scope: dict):
    with monkeypatch.context() as patch:
        patch.setattr(analysis, "SHARED_RESULTS", ())
        return run_detector(con, name, **scope)


def test_interleaved_ranges_match_unshared_runs(replay_con, monkeypatch):
    runs = _runs(replay_con)
    expected = [_unshared(monkeypatch, replay_con, name, scope) for name, scope in runs]
    # The halves really differ, so a stale shared table would show.
    assert not expected[0].equals(expected[1])
    for (name, scope), truth in zip(runs, expected, strict=True):
        assert_frame_equal(run_detector(replay_con, name, **scope), truth)


def test_new_rows_rebuild_the_shared_results(monkeypatch):
    assert (REPLAY / "manifest.json").is_file(), f"{REPLAY} is part of the repository"
    from loganalyze.ingest import ingest

    con = loganalyze.connect()
    ingest([REPLAY], con)
    before = run_detector(con, "hot_path_cost")
    # A second server-side copy of every call, a second later: more calls per request.
    con.execute(
        "INSERT INTO edge_logs SELECT * REPLACE (id || '~again' AS id, ts + $shift AS ts) "
        "FROM edge_logs WHERE client_info LIKE 'supabase-js-node/%'",
        {"shift": timedelta(milliseconds=1)},
    )
    after = run_detector(con, "hot_path_cost")
    assert after["calls"].sum() > before["calls"].sum()
    assert_frame_equal(after, _unshared(monkeypatch, con, "hot_path_cost", {}))
    con.close()


def test_an_update_that_keeps_row_counts_is_seen(replay_con, monkeypatch):
    """A notebook that edits rows in place (same counts) gets fresh results: nothing
    shared outlives the analysis that built it."""
    before = run_detector(replay_con, "hot_path_cost")
    replay_con.execute("BEGIN")
    try:
        # Every server-side call now comes from a browser: the routes lose their calls.
        replay_con.execute(
            "UPDATE edge_logs SET client_info = 'supabase-js-web/2.0' "
            "WHERE client_info LIKE 'supabase-js-node/%'"
        )
        after = run_detector(replay_con, "hot_path_cost")
        assert not after.equals(before)
        assert_frame_equal(after, _unshared(monkeypatch, replay_con, "hot_path_cost", {}))
    finally:
        replay_con.execute("ROLLBACK")
    assert_frame_equal(run_detector(replay_con, "hot_path_cost"), before)


def test_an_analysis_leaves_no_temp_tables(replay_con):
    with analysis.Analysis(replay_con) as session:
        session.finding("hot_path_cost")
        session.finding("load_projection")
        assert _temp_tables(replay_con)
    assert _temp_tables(replay_con) == []


def _temp_tables(con) -> list[str]:
    return [
        name
        for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary "
            "AND table_name LIKE 'loganalyze_shared_%'"
        ).fetchall()
    ]
