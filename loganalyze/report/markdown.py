"""The report as markdown, for pasting into a postmortem document: the same content as
the terminal view (header, one section per detector that found something, DoD table)."""

from __future__ import annotations

from collections.abc import Collection

from ..findings import Finding
from .model import Report
from .text import (
    PARTIAL,
    caveat_texts,
    chain_lines,
    column_label,
    cut,
    header_facts,
    headline_lines,
    key_number_text,
    offender_rows,
    offenders_title,
    report_sparkline,
    seen_text,
    unjudged_text,
)
from .zones import format_instant


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|")


def _table(
    columns: list[str],
    rows: list[list[str]],
    right: Collection[str] = (),
    labels: list[str] | None = None,
) -> list[str]:
    lines = ["| " + " | ".join(_cell(c) for c in (labels or columns)) + " |"]
    lines.append("|" + "|".join("---:" if c in right else "---" for c in columns) + "|")
    lines.extend("| " + " | ".join(_cell(v) for v in row) + " |" for row in rows)
    return lines


def render_markdown(report: Report, *, redact: bool = True) -> str:
    """`redact`: mask secrets and addresses from the logs (see loganalyze.redact)."""
    if redact:
        from ..redact import redact_obj

        report = redact_obj(report)
    lines = [f"# {report.title}", ""]
    lines += _table(["", ""], [[f"**{k}**", v] for k, v in header_facts(report)])
    lines.append("")
    if report.notice:
        lines += [f"> **Note:** {report.notice}", ""]
    lines += ["## Headline", ""]
    lines += [f"- {text}" for text in headline_lines(report)] + [""]
    lines += [f"**Causal chain** — {text}" for text in chain_lines(report)]
    if report.chains:
        lines.append("")
    if report.dod is not None:
        lines += _dod(report)
    for position, result in enumerate(report.found, start=1):
        lines += _section(report, result, position)
    if report.quiet:
        lines += ["**Nothing found by:** " + ", ".join(f"`{r.name}`" for r in report.quiet), ""]
    unjudged = unjudged_text(report)
    if unjudged:
        lines += [f"**Not judged:** {unjudged}", ""]
    return "\n".join(lines).rstrip() + "\n"


def _section(report: Report, result: Finding, position: int) -> list[str]:
    lines = [f"## {position}. {result.title} (`{result.name}`)", "", f"_{result.spec.finds}_", ""]
    lines += [key_number_text(result), ""]
    seen = seen_text(result, report.tz)
    if seen:
        lines += [seen.capitalize(), ""]
    lines += [line for text in caveat_texts(result) for line in (f"> **Caveat:** {text}", "")]
    columns, rows = offender_rows(result, report.tz)
    if rows:
        lines += [f"**{offenders_title(result)}**", ""]
        labels = [column_label(result, c) for c in columns]
        lines += _table(columns, rows, right=set(result.metric_columns), labels=labels)
        lines.append("")
    spark = report_sparkline(report, result)
    if spark.strip():
        note = f" ({PARTIAL} partial window)" if PARTIAL in spark else ""
        lines += [f"{result.headline_label} per {report.window_text}: `{spark}`{note}", ""]
    examples = report.examples.get(result.name)
    if examples:
        lines += ["Example log lines:", "", "```"]
        lines += [f"{format_instant(ts, report.tz)} {table}: {cut(line)}" for ts, table, line in examples]
        lines += ["```", ""]
    return lines


def _dod(report: Report) -> list[str]:
    """The verdicts as `loganalyze check --format markdown` shows them."""
    from ..dod.render import to_markdown

    assert report.dod is not None
    return ["## Definitions of Done", "", *to_markdown(report.dod, redact=False).splitlines(), ""]
