"""DoD verdicts for the report: the caller runs `loganalyze.dod.check` over the report's
range (the CLI composes `report --dod`), this module turns its CheckReport into the rows
every renderer shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..findings import format_value


@dataclass
class DodVerdict:
    """One DoD check as the report shows it (from `loganalyze.dod.check`)."""

    id: str
    title: str
    severity: str
    verdict: str
    observed: str
    threshold: str
    detail: str = ""
    baseline: str = "—"
    """The baseline value a relative threshold read (— without one)."""


@dataclass
class DodSummary:
    file: str
    verdicts: list[DodVerdict]
    outcome: str
    error: str | None = None
    result: Any = None




def verdict_rows(check_report: Any) -> list[DodVerdict]:
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
                baseline=(
                    format_value(deciding.baseline, "")
                    if deciding is not None and deciding.baseline is not None
                    else "—"
                ),
            )
        )
    return rows


def summarize_dod(check_report: Any) -> DodSummary:
    """A CheckReport (from `loganalyze.check`) as the report shows it."""
    name = getattr(check_report.dod, "path", None) or getattr(check_report.dod, "title", "DoD")
    return DodSummary(
        file=getattr(name, "name", str(name)),
        verdicts=verdict_rows(check_report),
        outcome=str(check_report.outcome),
        result=check_report,
    )
