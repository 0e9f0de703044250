"""Keeps the README honest about the command line: every flag its commands use exists on
that command, its config example loads, the options it promises are there, and
`pip install .` brings what the README's chart command needs."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from loganalyze.cli import app
from loganalyze.config import load_config

from .conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
SHELL_BLOCKS = re.findall(r"^```sh\n(.*?)^```", README, flags=re.S | re.M)
TOML_BLOCKS = re.findall(r"^```toml\n(.*?)^```", README, flags=re.S | re.M)


def _readme_commands() -> list[list[str]]:
    """Each `loganalyze ...` invocation of the README's shell blocks, as argv."""
    commands = []
    for block in SHELL_BLOCKS:
        text = block.replace("\\\n", " ")
        for line in text.splitlines():
            line = line.split(" # ")[0].split("   #")[0]
            for part in re.split(r"&&|\|", line):
                words = shlex.split(part, comments=True)
                if words and words[0] == "loganalyze":
                    commands.append(words[1:])
    return commands


def _options(command) -> set[str]:  # type: ignore[no-untyped-def]
    names = set()
    for param in command.params:
        names.update(param.opts)
        names.update(param.secondary_opts)
    return names


def test_every_flag_in_the_readme_exists_on_its_command():
    commands = get_command(app).commands  # type: ignore[attr-defined]
    seen = 0
    unknown = []
    for argv in _readme_commands():
        if not argv or argv[0].startswith("-"):
            continue
        name, *rest = argv
        assert name in commands, f"README runs an unknown command: loganalyze {name}"
        known = _options(commands[name])
        for word in rest:
            if word.startswith("-") and word != "-":
                seen += 1
                if word.split("=")[0] not in known:
                    unknown.append(f"loganalyze {name} {word}")
    assert seen >= 15, "the README's commands were found"
    assert not unknown


def test_readme_names_the_everyday_options():
    for text in (
        "--version",
        "--install-completion",
        "--no-redact",
        "--redact",
        "--title",
        "--param conflict_storms.min_count",
        "loganalyze.toml",
        "[tool.loganalyze]",
        "$LOGANALYZE_REDACT_KEY",
    ):
        assert text in README, text


def test_readme_config_example_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (toml,) = TOML_BLOCKS
    values = tomllib.loads(toml)
    for directory in values.get("queries", []):
        (tmp_path / directory).mkdir(parents=True)
    (tmp_path / "loganalyze.toml").write_text(toml, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    config = load_config()
    assert config.get("tz") == values["tz"] and config.params == values["params"]
    assert config.get("db") == tmp_path / values["db"]


def test_version_and_completion_are_wired():
    runner = CliRunner()
    assert runner.invoke(app, ["--version"]).stdout.startswith("loganalyze ")
    assert "--install-completion" in runner.invoke(app, ["--help"]).stdout


def test_pip_install_brings_the_chart_exporter():
    """`loganalyze charts --format png` works after `pip install .` (with a Chromium):
    kaleido is a runtime dependency, not an extra."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = [re.split(r"[<>=!~ \[]", d, maxsplit=1)[0] for d in project["dependencies"]]
    assert "kaleido" in runtime
    extras = project.get("optional-dependencies", {})
    assert all("kaleido" not in " ".join(v) for v in extras.values())


def test_charts_without_a_browser_is_one_line_with_the_install_command(tmp_path: Path):
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "charts",
            "--db",
            str(tmp_path / "none.duckdb"),
            "--format",
            "png",
            "--out",
            str(tmp_path / "charts"),
        ],
        env={"BROWSER_PATH": str(tmp_path / "no-such-chromium")},
    )
    assert result.exit_code == 2
    assert "apt-get install -y chromium" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "charts").exists()
