"""Results several detectors share (SHARED_RESULTS: the route attribution, the
participant-minutes) are built once per range on a connection; these tests check that
interleaving ranges, parameters and new rows on one connection gives exactly what each
detector finds without sharing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from polars.testing import assert_frame_equal

import loganalyze
from loganalyze import detectors
from loganalyze.detectors import run_detector
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
        patch.setattr(detectors, "SHARED_RESULTS", ())
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
