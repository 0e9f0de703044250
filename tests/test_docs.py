"""Keeps the README and generated docs honest: its commands run, CI runs its test command,
every command has --help, and the generated parts match their sources."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loganalyze.cli import app
from loganalyze.docs_sync import stale
from loganalyze.ingest import formats

from .conftest import REPO, SAMPLE_LOGS

README = (REPO / "README.md").read_text(encoding="utf-8")
CODE_BLOCKS = re.findall(r"```(?:sh|bash)?\n(.*?)```", README, flags=re.S)


def test_readme_opens_with_main_job_then_tests():
    first, second = CODE_BLOCKS[0].strip(), CODE_BLOCKS[1].strip()
    assert "pip install ." in first and "loganalyze report sample_logs/" in first
    assert "pip install -e '.[dev]'" in second and second.endswith("pytest")


def test_ci_runs_the_readme_test_command():
    test_command = CODE_BLOCKS[1].strip().split(" && ", 2)[-1]  # after venv + activate
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()


def test_readme_main_job_runs_on_the_bundled_replay():
    main_job = CODE_BLOCKS[0].strip().split(" && ")[-1]
    args = main_job.split()[1:]  # drop the `loganalyze` program name
    target = REPO / args[-1]
    if not target.exists():
        pytest.fail(f"the README's main job needs {target}, which is missing")
    result = subprocess.run(
        [sys.executable, "-m", "loganalyze", *args],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "schema" in result.stdout.lower() or "42703" in result.stdout


def _commands() -> list[str]:
    from typer.main import get_command

    return sorted(get_command(app).commands)  # type: ignore[attr-defined]


def test_every_command_has_help():
    runner = CliRunner()
    names = _commands()
    assert {"ingest", "query", "schema", "formats", "detectors", "run", "check", "report",
            "charts", "synth"} <= set(names)
    for name in names:
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage" in result.output


def test_every_generated_doc_block_is_current():
    assert stale() == [], "run: python -m loganalyze.docs_sync"


def test_every_format_has_an_example_and_is_documented():
    documented = README + "".join(
        p.read_text(encoding="utf-8") for p in (REPO / "docs").glob("formats-*.md")
    )
    for fmt in formats():
        assert "loganalyze ingest" in fmt.example, fmt.name
        assert fmt.description, fmt.name
    hosted = {f.name for f in formats() if f.name.startswith("supabase-")}
    assert hosted, "hosted readers are registered"
    undocumented = [f.name for f in formats() if f.name not in hosted and f.name not in documented]
    assert not undocumented, f"formats missing from docs/formats-*.md: {undocumented}"


def test_readme_links_resolve():
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if "://" in target:
            continue
        assert (REPO / target).exists(), target


def test_sample_logs_exist_for_the_readme():
    for name in ("eventlive-incident", "eventlive-fixed"):
        assert (SAMPLE_LOGS / name / "manifest.json").is_file(), name


@pytest.mark.slow
def test_built_wheel_ships_the_queries(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(REPO)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("loganalyze-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {n.split("/")[-1] for n in names if n.startswith("loganalyze/queries/")}
    expected = {p.name for p in (REPO / "queries").glob("*.sql")}
    assert expected and expected <= shipped
    assert "loganalyze/schema.sql" in names and "loganalyze/ingest/macros.sql" in names
