"""The EventLive DoD file against the bundled replays: the incident fails the P0 checks,
the fixed replay passes them and, with the incident as baseline, every relative check;
the realtime-outage pair shows the circuit breaker's cap on fallback polling."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import xmlschema
from typer.testing import CliRunner

import loganalyze
from loganalyze.cli import app
from loganalyze.dod import Verdict, check, load_dod
from loganalyze.dod.expr import needs_baseline
from loganalyze.exit_codes import ExitCode
from tests.conftest import SAMPLE_LOGS, TEST_DATA

DOD_FILE = SAMPLE_LOGS / "eventlive.dod.toml"


def replay(name: str):
    from loganalyze.ingest import ingest

    path = SAMPLE_LOGS / name
    if not path.is_dir():
        pytest.fail(f"bundled replay {path} is missing")
    con = loganalyze.connect()
    ingest([path], con)
    return con


@pytest.fixture(scope="module")
def dod():
    return load_dod(DOD_FILE)


@pytest.fixture(scope="module")
def incident():
    con = replay("eventlive-incident")
    yield con
    con.close()


@pytest.fixture(scope="module")
def fixed():
    con = replay("eventlive-fixed")
    yield con
    con.close()


def verdicts(report) -> dict[str, Verdict]:
    return {r.check.id: r.verdict for r in report.results}


def is_relative(result) -> bool:
    return any(needs_baseline(t.comparison) for t in result.check.thresholds)


def test_the_incident_fails_every_absolute_p0_check(dod, incident) -> None:
    report = check(incident, dod)
    p0 = [r for r in report.results if r.check.id.startswith("P0-")]
    assert {r.check.id: r.verdict for r in p0 if not is_relative(r)} == {
        "P0-1.registrations-id-errors": Verdict.FAIL,
        "P0-1.no-400-chains": Verdict.FAIL,
        "P0-2.ping-registration-writes": Verdict.FAIL,
        "P0-3.registration-conflicts": Verdict.FAIL,
    }
    assert {r.verdict for r in p0 if is_relative(r)} == {Verdict.SKIPPED}
    assert report.exit_code is ExitCode.CHECKS_FAILED


def test_the_fixed_replay_passes_the_p0_checks_on_its_own(dod, fixed) -> None:
    report = check(fixed, dod)
    assert {
        r.check.id: r.verdict
        for r in report.results
        if r.check.id.startswith("P0-") and not is_relative(r)
    } == {
        "P0-1.registrations-id-errors": Verdict.PASS,
        "P0-1.no-400-chains": Verdict.PASS,
        "P0-2.ping-registration-writes": Verdict.PASS,
        "P0-3.registration-conflicts": Verdict.PASS,
    }
    assert report.exit_code is ExitCode.OK


def test_fixed_against_the_incident_passes_every_check(dod, fixed, incident) -> None:
    report = check(fixed, dod, baseline=incident)
    assert {r.verdict for r in report.results} == {Verdict.PASS}, verdicts(report)
    relative = [r for r in report.results if is_relative(r)]
    assert len(relative) == 4
    for result in relative:
        # Each relative check read the incident: its baseline value is real traffic.
        assert result.thresholds[0].baseline and result.thresholds[0].baseline > 0
    assert report.exit_code is ExitCode.OK


@pytest.mark.parametrize(
    ("name", "verdict"),
    [("realtime-outage", Verdict.FAIL), ("realtime-outage-breaker", Verdict.PASS)],
)
def test_the_breaker_caps_fallback_polling(dod, name: str, verdict: Verdict) -> None:
    con = replay(name)
    try:
        result = next(
            r for r in check(con, dod).results if r.check.id == "P1-3.fallback-polling-cap"
        )
    finally:
        con.close()
    assert result.verdict is verdict, result.thresholds[0].message
    assert result.events and result.events > 0  # the outage made browsers poll


def test_ci_invocation_on_the_replay_directories(tmp_path) -> None:
    junit = tmp_path / "dod.xml"
    result = CliRunner().invoke(
        app,
        [
            "check",
            str(DOD_FILE),
            str(SAMPLE_LOGS / "eventlive-fixed"),
            "--baseline",
            str(SAMPLE_LOGS / "eventlive-incident"),
            "--junit",
            str(junit),
            "--format",
            "markdown",
        ],
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.startswith("### ✅ loganalyze check passed: EventLive incident fixes")
    xmlschema.XMLSchema(TEST_DATA / "dod" / "junit-10.xsd").validate(str(junit))
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == str(len(load_dod(DOD_FILE).checks))
    assert suite.get("failures") == "0" and suite.get("skipped") == "0"
