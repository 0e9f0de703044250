"""A team's defaults from loganalyze.toml or [tool.loganalyze] in pyproject.toml: read,
validated, applied as command defaults that a flag still overrides, and named in --help."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loganalyze.cli import app
from loganalyze.config import ConfigError, load_config
from loganalyze.detectors import queries_dir

from .conftest import SAMPLE_LOGS

runner = CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    # no $LOGANALYZE_DB (it would win over the file's db), and none left behind
    monkeypatch.setenv("LOGANALYZE_DB", "")
    monkeypatch.delenv("LOGANALYZE_DB")
    return tmp_path


def test_no_file_no_defaults(workdir: Path):
    assert load_config().values == {}
    assert load_config().origin is None


def test_loganalyze_toml_with_paths_relative_to_the_file(workdir: Path):
    (workdir / "detectors").mkdir()
    (workdir / "loganalyze.toml").write_text(
        'db = "data/incident.duckdb"\ntz = "Asia/Seoul"\nwindow = "30s"\n'
        'dod = "eventlive.dod.toml"\nqueries = "detectors"\n'
        "[params.conflict_storms]\nmin_count = 20\n",
        encoding="utf-8",
    )
    config = load_config()
    assert config.origin == "loganalyze.toml"
    assert config.get("db") == workdir / "data" / "incident.duckdb"
    assert config.get("dod") == workdir / "eventlive.dod.toml"
    assert config.get("tz") == "Asia/Seoul" and config.get("window") == "30s"
    assert config.query_dirs == [workdir / "detectors"]
    assert config.detector_params("conflict_storms") == {"min_count": 20}
    assert config.detector_params("status_storms") == {}


def test_pyproject_table_and_precedence(workdir: Path):
    (workdir / "pyproject.toml").write_text(
        '[project]\nname = "app"\n[tool.loganalyze]\ntz = "Europe/Berlin"\n', encoding="utf-8"
    )
    config = load_config()
    assert config.origin == "pyproject.toml [tool.loganalyze]"
    assert config.get("tz") == "Europe/Berlin"
    (workdir / "loganalyze.toml").write_text('tz = "UTC"\n', encoding="utf-8")
    assert load_config().get("tz") == "UTC"  # the tool's own file wins


def test_pyproject_without_the_table_is_no_config(workdir: Path):
    (workdir / "pyproject.toml").write_text('[project]\nname = "app"\n', encoding="utf-8")
    assert load_config().path is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('tz = "Mars/Olympus"\n', "not a time zone"),
        ('window = "soon"\n', "window"),
        ('colour = "blue"\n', "unknown key colour"),
        ("db = 3\n", "`db` must be a non-empty string"),
        ('queries = ["nowhere"]\n', "names no directory"),
        ("params = 3\n", "one table per detector"),
        ("tz = \n", "not valid TOML"),
    ],
)
def test_bad_files_are_usage_errors_naming_the_file(workdir: Path, text: str, message: str):
    (workdir / "loganalyze.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config()
    assert message in raised.value.message and "loganalyze.toml" in raised.value.message
    result = runner.invoke(app, ["detectors"])
    assert result.exit_code == 2 and message in result.stderr


def _flat(help_text: str) -> str:
    """The help as one line: box borders gone, wrapped cells joined."""
    return " ".join(help_text.replace("│", " ").split())


def test_help_names_where_a_default_came_from(workdir: Path):
    (workdir / "loganalyze.toml").write_text(
        'tz = "Asia/Seoul"\nwindow = "30s"\n[params.conflict_storms]\nmin_count = 20\n',
        encoding="utf-8",
    )
    wide = {"COLUMNS": "200"}  # at 80 columns rich may crop a default away
    result = runner.invoke(app, ["report", "--help"], env=wide)
    assert result.exit_code == 0, result.output
    flat = _flat(result.stdout)
    assert "Asia/Seoul, from loganalyze.toml" in flat
    assert "30s, from loganalyze.toml" in flat
    assert "conflict_storms.min_count=20, from loganalyze.toml" in flat
    again = runner.invoke(app, ["report", "--help"], env=wide)
    assert _flat(again.stdout) == flat  # each invocation builds its commands afresh
    (workdir / "loganalyze.toml").unlink()
    plain = runner.invoke(app, ["report", "--help"], env=wide)
    assert "from loganalyze.toml" not in plain.stdout


@pytest.fixture
def replay_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("config") / "incident.duckdb"
    result = runner.invoke(
        app, ["ingest", str(SAMPLE_LOGS / "eventlive-incident"), "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    return db


def test_config_defaults_apply_and_flags_win(workdir: Path, replay_db: Path):
    shutil.copy(replay_db, workdir / "team.duckdb")
    (workdir / "loganalyze.toml").write_text(
        'db = "team.duckdb"\ntz = "Asia/Seoul"\nwindow = "5m"\n'
        "[params.conflict_storms]\nmin_count = 1000000\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["report", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["range"]["tz"] == "Asia/Seoul"
    assert report["range"]["window_seconds"] == 300
    storms = next(d for d in report["detectors"] if d["name"] == "conflict_storms")
    assert not storms["found"]  # the config's min_count reached the detector

    result = runner.invoke(
        app,
        [
            "report",
            "--format",
            "json",
            "--tz",
            "UTC",
            "--window",
            "1m",
            "-p",
            "conflict_storms.min_count=5",
        ],
    )
    report = json.loads(result.stdout)
    assert report["range"]["tz"] == "UTC" and report["range"]["window_seconds"] == 60
    storms = next(d for d in report["detectors"] if d["name"] == "conflict_storms")
    assert storms["found"]

    # the config's db is read by commands without log paths ...
    query = ["query", "SELECT count(*) AS n FROM ingested_files", "--format", "json"]
    result = runner.invoke(app, query)
    assert result.exit_code == 0, result.output
    files = json.loads(result.stdout)[0]["n"]
    assert files > 0
    # ... while a run over log paths works in memory, leaving the team's database alone
    fixed = str(SAMPLE_LOGS / "eventlive-fixed")
    result = runner.invoke(app, ["report", fixed, "--format", "json"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["run", "schema_errors", fixed, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(runner.invoke(app, query).stdout)[0]["n"] == files
    assert os.environ.get("LOGANALYZE_DB") is None


def test_team_detectors_from_the_config_directories(workdir: Path):
    team = workdir / "detectors"
    team.mkdir()
    source = (queries_dir() / "status_storms.sql").read_text(encoding="utf-8")
    (team / "team_storms.sql").write_text(
        source.replace("-- name: status_storms", "-- name: team_storms"), encoding="utf-8"
    )
    (workdir / "loganalyze.toml").write_text('queries = ["detectors"]\n', encoding="utf-8")
    result = runner.invoke(app, ["detectors", "--json"])
    assert result.exit_code == 0, result.output
    names = [d["name"] for d in json.loads(result.stdout)]
    assert "team_storms" in names and "status_storms" in names
    # a name the bundled detectors already use is refused, naming both files
    clash = workdir / "clash"
    clash.mkdir()
    (clash / "status_storms.sql").write_text(source, encoding="utf-8")
    (workdir / "loganalyze.toml").write_text('queries = ["clash"]\n', encoding="utf-8")
    result = runner.invoke(app, ["detectors"])
    assert result.exit_code == 2 and "already defined" in result.stderr
    # without the config only the bundled detectors remain
    (workdir / "loganalyze.toml").unlink()
    result = runner.invoke(app, ["detectors", "--json"])
    assert "team_storms" not in [d["name"] for d in json.loads(result.stdout)]
