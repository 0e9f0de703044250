"""`loganalyze check` on the command line: exit codes, output formats, JUnit, baselines."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema
from typer.testing import CliRunner

import loganalyze
from loganalyze.cli import app
from tests.conftest import TEST_DATA
from tests.test_dod_evaluate import DOD, T0, insert_errors, insert_traffic

runner = CliRunner()


def run(*args: str | Path):
    return runner.invoke(app, ["check", *map(str, args)])


def said(result) -> str:
    """stderr with the console's line wrapping undone."""
    return " ".join(result.stderr.split())


def database(path: Path, errors: int) -> Path:
    con = loganalyze.connect(path)
    insert_traffic(con, T0, 900)
    insert_errors(con, T0, errors, 5)
    con.close()
    return path


@pytest.fixture
def dod_file(tmp_path: Path) -> Path:
    path = tmp_path / "sample.dod.toml"
    path.write_text(DOD, encoding="utf-8")
    return path


@pytest.fixture
def incident_db(tmp_path: Path) -> Path:
    return database(tmp_path / "incident.duckdb", 120)


@pytest.fixture
def fixed_db(tmp_path: Path) -> Path:
    return database(tmp_path / "fixed.duckdb", 0)


def test_failing_run_exits_1_and_writes_junit(dod_file, incident_db, tmp_path: Path) -> None:
    junit = tmp_path / "out" / "dod.xml"
    result = run(dod_file, "--db", incident_db, "--junit", junit)
    assert result.exit_code == 1, result.stderr
    assert "P0-1.none" in result.stdout and "failed: 1 fail" in result.stdout
    xmlschema.XMLSchema(TEST_DATA / "dod" / "junit-10.xsd").validate(str(junit))
    assert ET.parse(junit).getroot().get("failures") == "1"


def test_passing_run_against_a_baseline_database_exits_0(dod_file, incident_db, fixed_db) -> None:
    result = run(dod_file, fixed_db, "--baseline", incident_db, "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)  # nothing but JSON on stdout
    assert [c["verdict"] for c in data["checks"]] == ["pass", "pass", "pass"]
    assert data["checks"][1]["thresholds"][0]["observed"] == 1.0  # 120 → 0 errors


def test_empty_database_exits_4(dod_file, tmp_path: Path) -> None:
    empty = tmp_path / "empty.duckdb"
    loganalyze.connect(empty).close()
    result = run(dod_file, "--db", empty, "--format", "markdown")
    assert result.exit_code == 4
    assert result.stdout.startswith("### ❔ loganalyze check inconclusive")


def test_a_bad_dod_file_exits_2_before_reading_logs(tmp_path: Path, incident_db) -> None:
    bad = tmp_path / "bad.dod.toml"
    bad.write_text(DOD.replace('"count == 0"]', '"count === 0"]', 1), encoding="utf-8")
    result = run(bad, tmp_path / "no-such-logs")
    assert result.exit_code == 2
    assert f"{bad}:8: check 'P0-1.none': threshold 'count === 0'" in said(result)
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_unreadable_input_exits_3(dod_file, tmp_path: Path) -> None:
    missing = run(dod_file, tmp_path / "no-such-logs")
    assert missing.exit_code == 3
    assert "no such file or directory" in said(missing)
    no_db = run(dod_file, "--db", tmp_path / "absent.duckdb")
    assert no_db.exit_code == 3 and "does not exist" in said(no_db)


def test_relative_checks_are_skipped_without_a_baseline(dod_file, fixed_db) -> None:
    result = run(dod_file, "--db", fixed_db, "--format", "json")
    assert result.exit_code == 0
    checks = json.loads(result.stdout)["checks"]
    assert checks[1]["verdict"] == "skipped"
