"""Shared fixtures. `shared_dir` is the project's reference corpora (../shared beside the
checkout); tests that need it skip with a visible reason where a clone lacks it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import loganalyze

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = REPO / "tests" / "data"
SAMPLE_LOGS = REPO / "sample_logs"
SHARED = Path(os.environ.get("LOGANALYZE_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"reference corpora not found at {SHARED} (set LOGANALYZE_SHARED)")
    return SHARED


@pytest.fixture
def con():
    """A fresh in-memory loganalyze database."""
    connection = loganalyze.connect()
    yield connection
    connection.close()
