"""DoD verdicts for the report: `loganalyze.dod.check` runs the checks, this module turns
its CheckReport into the rows every renderer shows."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from .model import DodSummary, DodVerdict


def verdict_rows(check_report: Any) -> list[DodVerdict]:
    from ..dod import format_value

    rows = []
    for result in check_report.results:
        check = result.check
        deciding = result.deciding
        if deciding is None:
            observed = threshold = "—"
        else:
            observed = format_value(deciding.observed, deciding.unit)
            threshold = deciding.threshold.text
        detail = result.message or (deciding.message if deciding is not None else "")
        rows.append(
            DodVerdict(
                id=check.id,
                title=check.title or check.detector,
                severity=str(getattr(check.severity, "value", check.severity)),
                verdict=str(getattr(result.verdict, "value", result.verdict)),
                observed=observed,
                threshold=threshold,
                detail=detail,
            )
        )
    return rows


def run_dod(
    con,
    dod_file: str | Path,
    baseline: Any = None,
    *,
    since: datetime | None,
    until: datetime | None,
) -> DodSummary:
    """Check the DoD file over the report's range. Without the DoD engine the report still
    renders, saying why the verdicts are missing."""
    name = Path(dod_file).name
    try:
        from ..dod import check
    except ImportError:
        return DodSummary(
            file=name,
            verdicts=[],
            outcome="unavailable",
            error="DoD verdicts unavailable: this installation has no loganalyze.dod.check",
        )
    check_report = check(con, dod_file, baseline, since=since, until=until)
    return DodSummary(
        file=name,
        verdicts=verdict_rows(check_report),
        outcome=str(check_report.outcome),
        result=check_report,
    )
