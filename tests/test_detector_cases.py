"""Every detector against its case file in tests/detector_cases/ (small input rows →
expected rows), like sqlfluff's per-rule YAML cases.

A case file is TOML: `detector = "NAME"` and `[[case]]` entries. In a case, every key
named after a log table (`[[case.edge_logs]]`, ...) is an input row; `window`, `since`,
`until`, `last` and `params` go to the detector; `[[case.expect]]` are the expected rows
in order (only the keys given are compared; timestamps as ISO strings ending in Z, floats
to 1e-6 relative, "__null__" for null). A case lists every row the detector must return, or, with
`filter = {column = value, ...}`, every row that matches the filter. `notice` is a text
the finding's notice must contain; `error` a text the DetectorError it raises must
contain.
"""

from __future__ import annotations

import math
import tomllib
from datetime import datetime
from pathlib import Path

import pytest

import loganalyze
from loganalyze.analysis import detect
from loganalyze.detectors import list_detectors
from loganalyze.errors import DetectorError
from loganalyze.store import BOOKKEEPING_TABLES, LOG_TABLES, quote_ident

CASES_DIR = Path(__file__).parent / "detector_cases"
RUN_KEYS = ("window", "since", "until", "last")
NULL = "__null__"  # TOML has no null


def _cases():
    for path in sorted(CASES_DIR.glob("*.toml")):
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
        for index, case in enumerate(spec["case"]):
            yield pytest.param(spec["detector"], case, id=f"{path.stem}:{index}:{case['name']}")


def load_rows(con, case: dict) -> None:
    """Insert a case's input rows, table by table (a handful of rows each)."""
    for table in LOG_TABLES + BOOKKEEPING_TABLES:
        for row in case.get(table, []):
            columns = list(row)
            statement = (
                "INSERT INTO "
                + quote_ident(table)
                + " ("
                + ", ".join(quote_ident(c) for c in columns)
                + ") VALUES ("
                + ", ".join("?" for _ in columns)
                + ")"
            )
            con.execute(statement, [row[c] for c in columns])


def _same(actual, expected) -> bool:
    if expected == NULL:
        return actual is None
    if isinstance(actual, datetime):
        return actual.isoformat().replace("+00:00", "Z") == expected
    if isinstance(expected, float) and actual is not None:
        return math.isclose(actual, expected, rel_tol=1e-6, abs_tol=1e-9)
    return actual == expected


def test_every_detector_has_a_case_file():
    covered = {
        tomllib.loads(p.read_text(encoding="utf-8"))["detector"] for p in CASES_DIR.glob("*.toml")
    }
    assert covered == {s.name for s in list_detectors()}


@pytest.mark.parametrize(("detector", "case"), list(_cases()))
def test_detector_case(detector, case):
    con = loganalyze.connect()
    load_rows(con, case)
    run = {k: case[k] for k in RUN_KEYS if k in case}
    if "error" in case:
        with pytest.raises(DetectorError, match=case["error"]):
            detect(con, detector, **run, **case.get("params", {}))
        return
    finding = detect(con, detector, **run, **case.get("params", {}))
    con.close()
    assert finding.frame.columns == list(finding.spec.columns)
    if "notice" in case:
        assert finding.notice is not None and case["notice"] in finding.notice
    rows = [
        row
        for row in finding.frame.to_dicts()
        if all(_same(row.get(k), v) for k, v in case.get("filter", {}).items())
    ]
    expected = case.get("expect", [])
    shown = "\n".join(str(r) for r in rows)
    assert len(rows) == len(expected), f"{len(rows)} rows, expected {len(expected)}:\n{shown}"
    for i, (row, want) in enumerate(zip(rows, expected, strict=True)):
        wrong = {k: row.get(k) for k, v in want.items() if not _same(row.get(k), v)}
        assert not wrong, f"row {i}: {wrong} != { {k: want[k] for k in wrong} }\n{shown}"
