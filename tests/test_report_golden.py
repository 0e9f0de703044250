"""Golden files: the markdown and JSON reports of the bundled replays, as people and
scripts read them. A change to either shows up as a reviewed diff of
tests/data/golden/. Regenerate after an intended change with:

    LOGANALYZE_UPDATE_GOLDEN=1 pytest tests/test_report_golden.py

(see tests/data/golden/README.md).
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

import pytest

import loganalyze
from loganalyze.ingest import ingest
from loganalyze.report import Report, build_report, render_json, render_markdown

from .conftest import REPO, SAMPLE_LOGS, TEST_DATA

GOLDEN = TEST_DATA / "golden"
UPDATE = os.environ.get("LOGANALYZE_UPDATE_GOLDEN") == "1"
REPLAYS = ("eventlive-incident", "eventlive-fixed")
ZONE = "Asia/Seoul"


@cache
def bundled_report(replay: str) -> Report:
    """The report of a bundled replay, built once per test run (the browser test renders
    the same one)."""
    # relative paths, so the file names in the report do not depend on the checkout
    previous = Path.cwd()
    os.chdir(REPO)
    try:
        con = loganalyze.connect()
        ingest([Path("sample_logs") / replay], con)
        return build_report(con, window="1m", tz=ZONE)
    finally:
        os.chdir(previous)


@pytest.fixture(scope="module", params=REPLAYS)
def replay_report(request):
    replay = request.param
    assert (SAMPLE_LOGS / replay).is_dir(), f"bundled replay sample_logs/{replay} not found"
    return replay, bundled_report(replay)


def _compare(path: Path, actual: str) -> str:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    if not path.exists():
        pytest.fail(f"{path} is missing; create it with LOGANALYZE_UPDATE_GOLDEN=1")
    return path.read_text(encoding="utf-8")


def test_markdown_report_matches_golden(replay_report) -> None:
    replay, report = replay_report
    actual = render_markdown(report)
    assert actual == _compare(GOLDEN / f"{replay}.report.md", actual)


def test_json_report_matches_golden(replay_report) -> None:
    replay, report = replay_report
    actual = render_json(report)
    expected = _compare(GOLDEN / f"{replay}.report.json", actual)
    assert json.loads(actual) == json.loads(expected)


def test_incident_report_leads_with_the_schema_error(replay_report) -> None:
    """What a person reads first, independent of the golden files."""
    replay, report = replay_report
    names = [r.name for r in report.found]
    if replay == "eventlive-incident":
        assert "schema_errors" in names
        schema = next(r for r in report.found if r.name == "schema_errors")
        top = schema.top_offenders().row(0, named=True)
        assert (top["relation"], top["column_name"]) == ("registrations", "id")
    else:
        assert "schema_errors" not in names
