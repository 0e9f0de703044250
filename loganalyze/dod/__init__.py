"""Definitions of Done as code: a TOML file of checks, each a detector, a filter on its
subject columns and thresholds in a small parsed language, judged against logs.

    dod = load_dod("sample_logs/eventlive.dod.toml")     # validated before anything runs
    report = check(con, dod, baseline=baseline_con)      # CheckReport of typed results
    report.exit_code                                     # 0 pass, 1 fail, 4 inconclusive

The file format and the threshold language are documented in docs/check.md.
"""

from __future__ import annotations

from .evaluate import check, format_value
from .expr import ExpressionError, parse_threshold
from .load import load_dod, parse_dod
from .model import (
    Check,
    CheckReport,
    CheckResult,
    Dod,
    Filter,
    Severity,
    Threshold,
    ThresholdResult,
    Verdict,
)

__all__ = [
    "Check",
    "CheckReport",
    "CheckResult",
    "Dod",
    "ExpressionError",
    "Filter",
    "Severity",
    "Threshold",
    "ThresholdResult",
    "Verdict",
    "check",
    "format_value",
    "load_dod",
    "parse_dod",
    "parse_threshold",
]
