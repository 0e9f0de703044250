"""The command line behaves like the tools people already use: --version, shell
completion, examples closing every --help, --x/--no-x flags, typed times read in --tz,
report --title and --param DETECTOR.NAME=VALUE."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from loganalyze import __version__
from loganalyze.cli import app
from loganalyze.cli.common import parse_detector_params, typed_range
from loganalyze.errors import UsageError
from loganalyze.timeparse import parse_instant

from .conftest import SAMPLE_LOGS

runner = CliRunner()


def _commands() -> dict:
    return get_command(app).commands  # type: ignore[attr-defined]


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"loganalyze {__version__}"


def test_shell_completion_is_offered():
    result = runner.invoke(app, ["--help"])
    assert "--install-completion" in result.stdout and "--show-completion" in result.stdout


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_help_ends_with_examples_of_that_command(name: str):
    result = runner.invoke(app, [name, "--help"])
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    start = max(i for i, line in enumerate(lines) if line == "Examples")
    examples: list[str] = []
    for line in lines[start + 1 :]:  # a long example wraps onto the next lines
        if line.startswith("$ ") or not examples:
            examples.append(line)
        else:
            examples[-1] += " " + line
    assert 1 <= len(examples) <= 3, examples
    for example in examples:
        assert example.startswith(f"$ loganalyze {name}"), example


def test_every_boolean_flag_has_its_negative():
    missing = []
    for name, command in _commands().items():
        for param in command.params:
            flag = getattr(param, "is_bool_flag", False) and param.name != "help"
            if flag and not any(opt.startswith("--no-") for opt in param.secondary_opts):
                missing.append(f"{name} {param.opts[0]}")
    assert not missing


def test_negative_flags_are_accepted(tmp_path: Path):
    result = runner.invoke(
        app,
        [
            "synth",
            "incident",
            "--out",
            str(tmp_path),
            "--users",
            "20",
            "--minutes",
            "1",
            "--no-gzip",
            "--no-breaker",
            "--no-json",
            "--format",
            "cron",
        ],
    )
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.glob("*.gz")] == []


# ---------------------------------------------------------------------- typed times

NOW = datetime(2026, 3, 12, 1, 30, tzinfo=UTC)  # 10:30 in Seoul


@pytest.mark.parametrize(
    ("typed", "zone", "expected"),
    [
        ("2026-03-12T19:05", "Asia/Seoul", datetime(2026, 3, 12, 10, 5, tzinfo=UTC)),
        ("2026-03-12T19:05Z", "Asia/Seoul", datetime(2026, 3, 12, 19, 5, tzinfo=UTC)),
        ("2026-03-12T19:05+01:00", "Asia/Seoul", datetime(2026, 3, 12, 18, 5, tzinfo=UTC)),
        ("2026-03-12T19:05", None, datetime(2026, 3, 12, 19, 5, tzinfo=UTC)),
        ("10:05", "Asia/Seoul", datetime(2026, 3, 12, 1, 5, tzinfo=UTC)),
        ("9:05:30", "Asia/Seoul", datetime(2026, 3, 12, 0, 5, 30, tzinfo=UTC)),
        ("10:05", "UTC", datetime(2026, 3, 12, 10, 5, tzinfo=UTC)),
        ("2026-07-01T12:00", "Europe/Berlin", datetime(2026, 7, 1, 10, 0, tzinfo=UTC)),
        ("2h", "Asia/Seoul", datetime(2026, 3, 11, 23, 30, tzinfo=UTC)),
    ],
)
def test_typed_times_are_read_in_the_zone(typed, zone, expected):
    assert parse_instant(typed, now=NOW, zone=zone) == expected


def test_a_time_of_day_is_today_in_the_zone_not_in_utc():
    # 23:30 UTC on the 11th is already the 12th in Seoul: "10:05" is the 12th's 10:05
    late = datetime(2026, 3, 11, 23, 30, tzinfo=UTC)
    assert parse_instant("10:05", now=late, zone="Asia/Seoul") == datetime(
        2026, 3, 12, 1, 5, tzinfo=UTC
    )
    assert parse_instant("10:05", now=late, zone="UTC") == datetime(2026, 3, 11, 10, 5, tzinfo=UTC)


def test_a_bad_time_names_the_zone_it_would_be_read_in():
    with pytest.raises(UsageError) as raised:
        parse_instant("yesterday-ish", zone="Asia/Seoul")
    assert "Asia/Seoul" in (raised.value.hint or "")


def test_typed_range_uses_tz_and_leaves_missing_sides_open():
    since, until = typed_range("2026-03-12T19:05", None, "Asia/Seoul")
    assert since == datetime(2026, 3, 12, 10, 5, tzinfo=UTC) and until is None
    assert typed_range(None, None, "Asia/Seoul") == (None, None)


@pytest.fixture(scope="module")
def incident_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("cli") / "incident.duckdb"
    result = runner.invoke(
        app, ["ingest", str(SAMPLE_LOGS / "eventlive-incident"), "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    return db


def _json_report(db: Path, *args: str) -> dict:
    result = runner.invoke(app, ["report", "--db", str(db), "--format", "json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_report_since_in_seoul_equals_the_same_instant_in_utc(incident_db: Path):
    seoul = _json_report(incident_db, "--tz", "Asia/Seoul", "--since", "2026-03-12T19:05")
    utc = _json_report(incident_db, "--tz", "UTC", "--since", "2026-03-12T10:05")
    assert seoul["range"]["start"] == utc["range"]["start"] == "2026-03-12T10:05:00Z"
    assert seoul["range"]["tz"] == "Asia/Seoul"


def _detector(report: dict, name: str) -> dict:
    return next(d for d in report["detectors"] if d["name"] == name)


def test_report_param_reaches_the_named_detector_only(incident_db: Path):
    default = _json_report(incident_db, "--tz", "UTC")
    strict = _json_report(
        incident_db, "--tz", "UTC", "--param", "conflict_storms.min_count=1000000"
    )
    assert _detector(default, "conflict_storms")["found"]
    assert not _detector(strict, "conflict_storms")["found"]
    assert _detector(strict, "schema_errors") == _detector(default, "schema_errors")


def test_report_param_errors_name_the_problem(incident_db: Path):
    result = runner.invoke(app, ["report", "--db", str(incident_db), "-p", "min_count=3"])
    assert result.exit_code == 2 and "DETECTOR.NAME=VALUE" in result.stderr
    result = runner.invoke(app, ["report", "--db", str(incident_db), "-p", "nosuch.x=3"])
    assert result.exit_code == 2 and "nosuch" in result.stderr
    result = runner.invoke(
        app, ["report", "--db", str(incident_db), "-p", "conflict_storms.nosuch=3"]
    )
    assert result.exit_code == 2 and "nosuch" in result.stderr


def test_parse_detector_params_merges_over_defaults():
    merged = parse_detector_params(
        ["conflict_storms.min_count=5"],
        {"conflict_storms": {"min_count": 20, "multiple": 3}, "status_storms": {"min_count": 9}},
    )
    assert merged == {
        "conflict_storms": {"min_count": "5", "multiple": 3},
        "status_storms": {"min_count": 9},
    }


def test_report_title_heads_every_format(incident_db: Path, tmp_path: Path):
    title = "Webinar outage 2026-03-12"
    result = runner.invoke(
        app, ["report", "--db", str(incident_db), "--format", "markdown", "--title", title]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"# {title}"
    page = tmp_path / "r.html"
    result = runner.invoke(
        app,
        [
            "report",
            "--db",
            str(incident_db),
            "--format",
            "html",
            "--out",
            str(page),
            "--title",
            "Outage <review>",
        ],
    )
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    assert "<h1>Outage &lt;review&gt;</h1>" in html
    assert re.search(r"<title>Outage &lt;review&gt;", html)


def test_a_mark_takes_a_time_of_day_in_the_zone():
    from loganalyze.report.charts import parse_mark

    mark = parse_mark("19:05 fix deployed", "Asia/Seoul")
    assert mark.label == "fix deployed"
    assert mark.at.astimezone(ZoneInfo("Asia/Seoul")).strftime("%H:%M") == "19:05"
    assert parse_mark("2026-03-12T19:05 fix", "Asia/Seoul").at == datetime(
        2026, 3, 12, 10, 5, tzinfo=UTC
    )
    with pytest.raises(UsageError):
        parse_mark("soonish fix", "Asia/Seoul")


def test_terminal_report_shows_values_unless_asked_to_redact(incident_db: Path):
    # an address, not a version in a User-Agent (Chrome/131.0.0.0) that example lines show
    ipv4 = re.compile(r"(?<![/\w.])(?:\d{1,3}\.){3}\d{1,3}\b")
    wide = {"COLUMNS": "200"}
    plain = runner.invoke(app, ["report", "--db", str(incident_db), "--tz", "UTC"], env=wide)
    masked = runner.invoke(
        app, ["report", "--db", str(incident_db), "--tz", "UTC", "--redact"], env=wide
    )
    assert plain.exit_code == 0 and masked.exit_code == 0, plain.output + masked.output
    assert ipv4.search(plain.stdout), "the replay's client IPs show in the terminal by default"
    assert not ipv4.search(masked.stdout) and "<ip:" in masked.stdout
    markdown = runner.invoke(app, ["report", "--db", str(incident_db), "--format", "markdown"])
    assert not ipv4.search(markdown.stdout) and "<ip:" in markdown.stdout
    raw = runner.invoke(
        app, ["report", "--db", str(incident_db), "--format", "markdown", "--no-redact"]
    )
    assert ipv4.search(raw.stdout)
