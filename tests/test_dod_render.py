"""Markdown, JSON and terminal renderings of a check run.

The markdown summary is what a PR comment or $GITHUB_STEP_SUMMARY shows: it is kept as a
golden file. Regenerate it after an intended change with
    LOGANALYZE_UPDATE_GOLDEN=1 pytest tests/test_dod_render.py
and review the diff.
"""

from __future__ import annotations

import json
import os

import pytest
from rich.console import Console

import loganalyze
from loganalyze.dod import check, parse_dod
from loganalyze.dod.render import print_rich, to_json, to_markdown
from tests.conftest import TEST_DATA
from tests.test_dod_evaluate import DOD, T0, UNDEFINED_TABLE, insert_errors, insert_traffic

GOLDEN = TEST_DATA / "dod" / "summary.md"


@pytest.fixture
def report(con):
    insert_traffic(con, T0, 900)
    insert_errors(con, T0, 120, 5)
    insert_errors(con, T0, 3, 60, UNDEFINED_TABLE)
    baseline = loganalyze.connect()
    insert_traffic(baseline, T0, 900)
    insert_errors(baseline, T0, 600, 1)
    return check(con, parse_dod(DOD, path="sample.dod.toml"), baseline=baseline)


def test_markdown_matches_the_golden_file(report) -> None:
    text = to_markdown(report)
    if os.environ.get("LOGANALYZE_UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_markdown_table_has_one_row_per_threshold(report) -> None:
    rows = [line for line in to_markdown(report).splitlines() if line.startswith("| **")]
    assert len(rows) == 3
    assert rows[0].startswith("| **P0-1.none** | ❌ fail | 120 | `count == 0` |")
    assert rows[1] == "| **P0-1.drop** | ❌ fail | 80.0% | `drop(count) >= 90%` | 600 |"


def test_json_is_plain_data_with_every_threshold(report) -> None:
    data = json.loads(to_json(report))
    assert (data["outcome"], data["exit_code"]) == ("failed", 1)
    assert data["counts"] == {"pass": 0, "fail": 2, "warn": 1, "inconclusive": 0, "skipped": 0}
    drop = data["checks"][1]["thresholds"][0]
    assert (drop["observed"], drop["limit"], drop["baseline"], drop["unit"]) == (
        0.8,
        0.9,
        600.0,
        "%",
    )


def test_terminal_table(report) -> None:
    console = Console(record=True, width=140, color_system=None)
    print_rich(report, console)
    text = console.export_text()
    assert "P0-1.drop" in text and "80.0%" in text and "drop(count) >= 90%" in text
    assert "failed: 2 fail, 1 warn" in text
