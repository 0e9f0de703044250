"""docs/check.md stays true: its DoD example loads against the real detectors, its exit
codes are the ExitCode enum's, its CI example names files that exist."""

from __future__ import annotations

import re

from loganalyze.dod import load_dod, parse_dod
from loganalyze.dod.expr import AGGREGATES
from loganalyze.exit_codes import ExitCode
from tests.conftest import REPO

DOC = (REPO / "docs" / "check.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, flags=re.DOTALL)


def test_the_toml_example_is_a_valid_dod_file() -> None:
    (example,) = blocks("toml")
    dod = parse_dod(example, path="docs/check.md")
    assert [c.detector for c in dod.checks] == [
        "schema_errors",
        "status_storms",
        "polling_pressure",
        "realtime_presence",
    ]


def test_the_bundled_dod_file_loads() -> None:
    dod = load_dod(REPO / "sample_logs" / "eventlive.dod.toml")
    rows = {c.id.split(".")[0] for c in dod.checks}
    assert rows == {"P0-1", "P0-2", "P0-3", "P1-1", "P1-2", "P1-3", "P1-4", "P2-1", "P2-2"}


def test_exit_code_table_matches_the_enum() -> None:
    table = dict(re.findall(r"^\| (\d) \| (.+?) \|$", DOC, flags=re.MULTILINE))
    assert {int(code) for code in table} == {int(code) for code in ExitCode}


def test_every_function_is_documented() -> None:
    for name in AGGREGATES:
        assert f"`{name}(" in DOC or f"`{name}(x)`" in DOC, name


def test_ci_example_names_existing_files() -> None:
    (workflow,) = blocks("yaml")
    assert "loganalyze check sample_logs/eventlive.dod.toml" in workflow
    for replay in re.search(r"replay: \[(.*?)\]", workflow).group(1).split(", "):
        assert (REPO / "sample_logs" / replay).is_dir(), replay
