"""Every detector's findings on the bundled replays are exactly those of a reference commit.

Speed work rewrites detector bodies and the shared macros; it must never change what they
find. Each replay under sample_logs/ is ingested as shipped, every detector runs over the
whole range with the default window and with `--window all`, and each Finding's frame
(and per-window series, when the detector has one) is reduced to a digest: rows sorted,
floats rounded to 9 significant digits (parallel sums may differ in the last bits).
tests/data/findings_checksum.json holds the digests and the commit that produced them; it
changes only when a detector's meaning changes on purpose.

    python -m tests.test_findings_checksum --write [COMMIT]   # regenerate the reference
    python -m tests.test_findings_checksum DB [DB ...]    # one digest per database (bench)
"""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE_LOGS = REPO / "sample_logs"
REFERENCE = REPO / "tests" / "data" / "findings_checksum.json"
WINDOWS = ("1m", "all")


def _cell(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return format(value, ".9g")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value.total_seconds())
    if isinstance(value, str):
        # file names (ingest_coverage) as given to ingest: the same wherever the checkout is
        return repr(value.replace(str(SAMPLE_LOGS), "sample_logs"))
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_cell(v) for v in value) + "]"
    return repr(value)


def _frame_digest(frame) -> str:
    """Order-independent digest of a polars frame: its columns, then its rows sorted."""
    rows = sorted("\x1f".join(_cell(v) for v in row) for row in frame.iter_rows())
    text = "\x1e".join([",".join(frame.columns), *rows])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def findings_digests(con) -> dict[str, str]:
    """{"detector@window": digest} for every detector over the database's whole span."""
    from loganalyze.analysis import Analysis

    digests: dict[str, str] = {}
    for window in WINDOWS:
        with Analysis(con, window=window) as analysis:
            for finding in analysis.findings():
                parts = [_frame_digest(finding.frame)]
                if finding.series_frame is not None:
                    parts.append(_frame_digest(finding.series_frame))
                digests[f"{finding.name}@{window}"] = "+".join(parts)
    return dict(sorted(digests.items()))


def replay_names() -> list[str]:
    if not SAMPLE_LOGS.is_dir():
        return []
    return sorted(p.name for p in SAMPLE_LOGS.iterdir() if (p / "manifest.json").is_file())


def replay_digests(name: str, memory_limit: str | None = None) -> dict[str, str]:
    import loganalyze
    from loganalyze.ingest import ingest

    con = loganalyze.connect(memory_limit=memory_limit)
    try:
        ingest([SAMPLE_LOGS / name], con)
        return findings_digests(con)
    finally:
        con.close()


def _reference() -> dict:
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", replay_names())
def test_findings_equal_reference(name: str) -> None:
    reference = _reference()
    assert name in reference["replays"], f"{name} has no reference digest: regenerate {REFERENCE.name}"
    expected = reference["replays"][name]
    got = replay_digests(name)
    changed = sorted(k for k in expected.keys() | got.keys() if expected.get(k) != got.get(k))
    assert not changed, (
        f"{name}: findings differ from commit {reference['commit']} for {changed}; if a "
        f"detector's meaning changed on purpose, regenerate with "
        f"`python -m tests.test_findings_checksum --write`"
    )


def test_findings_equal_reference_under_a_small_memory_budget() -> None:
    """report/run/check run under a memory budget and spill beyond it; spilling must not
    change a single finding."""
    name = "eventlive-incident"
    if name not in replay_names():
        pytest.skip(f"replay {name} not found under {SAMPLE_LOGS}")
    expected = _reference()["replays"][name]
    got = replay_digests(name, memory_limit="128MB")
    assert sorted(k for k in expected if expected[k] != got.get(k)) == []


def test_memory_limit_option_is_validated() -> None:
    from typer.testing import CliRunner

    from loganalyze.cli import app

    for command in (["report"], ["run", "db_errors"], ["check", str(REPO / "sample_logs" / "eventlive.dod.toml")]):
        result = CliRunner().invoke(app, [*command, "--memory-limit", "lots"])
        assert result.exit_code == 2, (command, result.output)
        assert "not a memory size: 'lots'" in result.output


def test_reference_covers_every_replay() -> None:
    if not replay_names():
        pytest.skip(f"no bundled replays under {SAMPLE_LOGS}")
    assert sorted(_reference()["replays"]) == replay_names()


def _write_reference(commit: str | None = None) -> None:
    dirty = ""
    if commit is None:  # a checkout; an exported tree (git archive) names its commit itself
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "queries", "loganalyze"],
                               cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    data = {
        "comment": "Digests of every detector's findings on the bundled replays (see "
                   "tests/test_findings_checksum.py); produced by the code at the commit below.",
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "windows": list(WINDOWS),
        "replays": {name: replay_digests(name) for name in replay_names()},
    }
    REFERENCE.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {REFERENCE} for commit {data['commit']}")


def _main(argv: list[str]) -> int:
    if argv[:1] == ["--write"]:
        _write_reference(*argv[1:2])
        return 0
    import duckdb

    for db in argv:
        con = duckdb.connect(db, read_only=True)
        digests = findings_digests(con)
        con.close()
        whole = hashlib.sha256(json.dumps(digests, sort_keys=True).encode()).hexdigest()[:16]
        print(json.dumps({"db": db, "digest": whole, "detectors": digests}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
