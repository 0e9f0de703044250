"""Verdicts for people and programs: a markdown table (PR comments, $GITHUB_STEP_SUMMARY),
JSON, and a rich table for the terminal (rich is imported only when that one is asked for).

Every renderer shows one row per threshold: the check, its verdict, the observed value,
the threshold and the baseline value.
"""

from __future__ import annotations

import json
from typing import Any

from .evaluate import format_value
from .model import CheckReport, CheckResult, ThresholdResult, Verdict

MARKS = {
    Verdict.PASS: "✅",
    Verdict.FAIL: "❌",
    Verdict.WARN: "⚠️",
    Verdict.INCONCLUSIVE: "❔",
    Verdict.SKIPPED: "⏭️",
}
STYLES = {
    Verdict.PASS: "green",
    Verdict.FAIL: "bold red",
    Verdict.WARN: "yellow",
    Verdict.INCONCLUSIVE: "magenta",
    Verdict.SKIPPED: "dim",
}
OUTCOME_MARKS = {"passed": "✅", "failed": "❌", "inconclusive": "❔"}


def observed_text(result: ThresholdResult) -> str:
    if result.observed is None:
        return "—"
    if result.unit == "windows":
        return f"{format_value(result.observed, '')} broken windows in a row"
    return format_value(result.observed, result.unit)


def verdict_text(result: ThresholdResult) -> str:
    """The verdict, marked "(warn)" where a warn-severity threshold did not warn."""
    warn_only = result.threshold.severity.value == "warn" and result.verdict is not Verdict.WARN
    return result.verdict.value + (" (warn)" if warn_only else "")


def baseline_text(result: ThresholdResult) -> str:
    return format_value(result.baseline, "") if result.baseline is not None else "—"


def dod_name(report: CheckReport) -> str:
    if report.dod.title:
        return report.dod.title
    return report.dod.path.name if report.dod.path is not None else "DoD"


def _notes(report: CheckReport) -> list[tuple[CheckResult, str]]:
    """(check, text) for every check a reader should look into: not passed, or warned."""
    notes = []
    for result in report.results:
        if result.verdict is Verdict.PASS:
            continue
        text = result.message or "; ".join(
            t.message for t in result.thresholds if t.verdict is result.verdict and t.message
        )
        notes.append((result, text))
    return notes


# --------------------------------------------------------------------------- markdown


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _shareable(report: CheckReport, redact: bool) -> CheckReport:
    """The report with secrets and addresses from the logs masked (loganalyze.redact):
    what every check output shows unless --no-redact."""
    if not redact:
        return report
    from ..redact import redact_obj

    return redact_obj(report)


def to_markdown(report: CheckReport, *, redact: bool = True) -> str:
    """A GitHub-flavoured markdown summary: heading, table, notes."""
    report = _shareable(report, redact)
    mark = OUTCOME_MARKS[report.outcome]
    lines = [
        f"### {mark} loganalyze check {report.outcome}: {_cell(dod_name(report))}",
        "",
        f"{report.summary()} · range {report.range_text}"
        + (f" · baseline {report.baseline_range_text}" if report.baseline_range_text else ""),
        "",
        "| Check | Verdict | Observed | Threshold | Baseline |",
        "|---|---|---|---|---|",
    ]
    for result in report.results:
        label = f"**{_cell(result.check.id)}**"
        if result.check.title:
            label += f" {_cell(result.check.title)}"
        for index, threshold in enumerate(result.thresholds):
            lines.append(
                f"| {label if index == 0 else '↳'} "
                f"| {MARKS[threshold.verdict]} {verdict_text(threshold)} "
                f"| {_cell(observed_text(threshold))} | `{_cell(threshold.threshold.text)}` "
                f"| {_cell(baseline_text(threshold))} |"
            )
    notes = _notes(report)
    if notes:
        lines += ["", "<details><summary>Why</summary>", ""]
        lines += [
            f"- **{_cell(r.check.id)}** {r.verdict.value}: {_cell(text)}" for r, text in notes
        ]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- json


def to_dict(report: CheckReport, *, redact: bool = True) -> dict[str, Any]:
    """The report as plain data (what `--format json` prints)."""
    report = _shareable(report, redact)
    return {
        "dod": str(report.dod.path) if report.dod.path is not None else None,
        "title": report.dod.title,
        "outcome": report.outcome,
        "exit_code": int(report.exit_code),
        "range": report.range_text,
        "baseline_range": report.baseline_range_text,
        "counts": {v.value: report.count(v) for v in Verdict},
        "checks": [
            {
                "id": r.check.id,
                "title": r.check.title,
                "detector": r.check.detector,
                "severity": r.check.severity.value,
                "verdict": r.verdict.value,
                "events": r.events,
                "windows": r.windows,
                "message": r.message,
                "seconds": round(r.seconds, 4),
                "thresholds": [
                    {
                        "threshold": t.threshold.text,
                        "severity": t.threshold.severity.value,
                        "verdict": t.verdict.value,
                        "observed": t.observed,
                        "limit": t.limit,
                        "baseline": t.baseline,
                        "unit": t.unit,
                        "message": t.message,
                    }
                    for t in r.thresholds
                ],
            }
            for r in report.results
        ],
    }


def to_json(report: CheckReport, *, redact: bool = True) -> str:
    return json.dumps(to_dict(report, redact=redact), indent=2, ensure_ascii=False)


# --------------------------------------------------------------------------- terminal


def threshold_rows(report: CheckReport) -> list[dict[str, str]]:
    """One row per threshold, as every verdict table shows it (`check` and `report
    --dod`): id and title on a check's first row, verdict, observed, baseline, threshold."""
    rows = []
    for result in report.results:
        for index, threshold in enumerate(result.thresholds):
            rows.append(
                {
                    "id": result.check.id if index == 0 else "↳",
                    "title": result.check.title if index == 0 else "",
                    "verdict": threshold.verdict.value,
                    "verdict_text": verdict_text(threshold),
                    "observed": observed_text(threshold),
                    "baseline": baseline_text(threshold),
                    "threshold": threshold.threshold.text,
                }
            )
    return rows


def print_rich(report: CheckReport, console: Any, *, redact: bool = True) -> None:
    """The verdict table on a rich Console (passed in, so tests can capture it); CI logs
    are shared, so secrets are masked here too unless `redact` is False."""
    for renderable in rich_renderables(_shareable(report, redact)):
        console.print(renderable)


def rich_renderables(report: CheckReport) -> list[Any]:
    """The verdict table, the notes of checks that did not pass, and the summary line."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=f"loganalyze check: {dod_name(report)}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
    )
    # a check id is what CI logs are grepped for: it keeps its whole width, never folded
    longest_id = max((len(r.check.id) for r in report.results), default=5)
    # the threshold goes under the check (CI logs are 80 columns): four narrow columns fit
    for name in ("Check", "Verdict", "Observed", "Baseline"):
        table.add_column(
            name,
            justify="right" if name in ("Observed", "Baseline") else "left",
            min_width=longest_id if name == "Check" else None,
            max_width=None if name == "Check" else 16,
            overflow="fold",
        )
    for result in report.results:
        for index, threshold in enumerate(result.thresholds):
            check_label = (
                Text(result.check.id, style="bold") if index == 0 else Text("↳", style="dim")
            )
            if index == 0 and result.check.title:
                check_label.append("\n" + result.check.title, style="dim")
            check_label.append("\nthreshold: " + threshold.threshold.text)
            table.add_row(
                check_label,
                Text(verdict_text(threshold), style=STYLES[threshold.verdict]),
                observed_text(threshold),
                baseline_text(threshold),
            )
    out: list[Any] = [table]
    out += [
        Text.assemble(
            (f"{result.check.id} ", "bold"),
            (result.verdict.value, STYLES[result.verdict]),
            f": {text}",
        )
        for result, text in _notes(report)
    ]
    out.append(
        Text(
            report.summary() + f" (range {report.range_text})",
            style=STYLES[
                {"passed": Verdict.PASS, "failed": Verdict.FAIL}.get(
                    report.outcome, Verdict.INCONCLUSIVE
                )
            ],
        )
    )
    return out


__all__ = [
    "baseline_text",
    "dod_name",
    "observed_text",
    "print_rich",
    "rich_renderables",
    "threshold_rows",
    "to_dict",
    "to_json",
    "to_markdown",
    "verdict_text",
]
