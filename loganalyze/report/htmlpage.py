"""The postmortem page: one self-contained HTML file (plotly.js embedded once, no CDN, no
external request) that opens offline from a mail attachment. The incident timeline
first, then a chart and table per detector that found something, then the DoD verdicts.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from html import escape

from .charts import Mark, detector_figure, timeline_figure
from ..findings import Finding
from .model import Report
from .text import (
    DOD_COLUMNS,
    caveat_texts,
    dod_rows,
    header_facts,
    key_number_text,
    offender_rows,
    seen_text,
    unjudged_text,
)
from .zones import format_instant

PLOTLY_CONFIG = {"displaylogo": False, "responsive": False}

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto;
       max-width: 1500px; color: #222; padding: 0 16px; }
h1 { font-size: 1.6em; margin-bottom: 4px; }
h2 { font-size: 1.25em; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.facts th { background: none; border: none; padding-right: 16px; }
table.facts td { border: none; }
.finds { color: #555; font-style: italic; }
.note { background: #fff6d5; padding: 8px 12px; border-left: 4px solid #e0b000; }
.verdict-pass { color: #1a7f37; font-weight: bold; }
.verdict-fail { color: #cf222e; font-weight: bold; }
.verdict-warn { color: #9a6700; font-weight: bold; }
.verdict-inconclusive, .verdict-skipped { color: #8250df; font-weight: bold; }
.chart, .table-wrap { overflow-x: auto; max-width: 100%; }
"""


def _table(columns: list[str], rows: list[list[str]], numeric: Collection[str] = ()) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{escape(v)}</td>' if c in numeric else f"<td>{escape(v)}</td>"
            for c, v in zip(columns, row, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    # wide tables scroll inside their box instead of widening the page
    return (
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _chart(fig, name: str) -> str:
    div = fig.to_html(
        full_html=False, include_plotlyjs=False, div_id=f"chart-{name}", config=PLOTLY_CONFIG
    )
    return f'<div class="chart" data-chart="{escape(name)}">{div}</div>'


def _result_section(report: Report, result: Finding, marks: Sequence[Mark]) -> str:
    parts = [
        f'<section class="detector" id="detector-{escape(result.name)}">',
        f"<h2>{escape(result.title)} <code>{escape(result.name)}</code></h2>",
        f'<p class="finds">{escape(result.spec.finds)}</p>',
        f"<p>{escape(key_number_text(result))}</p>",
    ]
    seen = seen_text(result, report.tz)
    if seen:
        parts.append(f"<p>{escape(seen.capitalize())}</p>")
    parts.extend(f'<p class="note">Caveat: {escape(text)}</p>' for text in caveat_texts(result))
    parts.append(_chart(detector_figure(report, result, marks), result.name))
    columns, rows = offender_rows(result, report.tz)
    if rows:
        parts.append("<h3>Top offenders</h3>")
        parts.append(_table(columns, rows, set(result.metric_columns)))
    parts.append("</section>")
    return "\n".join(parts)


def _dod_section(report: Report) -> str:
    assert report.dod is not None
    dod = report.dod
    title = f"Definitions of Done ({escape(dod.file)}): {escape(dod.outcome.upper())}"
    if dod.error:
        return (
            f'<section id="dod"><h2>{title}</h2><p class="note">{escape(dod.error)}</p></section>'
        )
    head = "".join(f"<th>{escape(c)}</th>" for c in DOD_COLUMNS)
    body = []
    for row in dod_rows(report):
        verdict = row[1].lower()
        cells = [
            f"<td>{escape(row[0])}</td>",
            f'<td class="verdict-{escape(verdict)}">{escape(row[1])}</td>',
        ]
        cells += [f"<td>{escape(v)}</td>" for v in row[2:]]
        body.append("<tr>" + "".join(cells) + "</tr>")
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    return f'<section id="dod"><h2>{title}</h2>{table}</section>'


def _contents(report: Report) -> str:
    """What was found, most severe first, each linked to its section."""
    items = "".join(
        f'<li><a href="#detector-{escape(r.name)}">{escape(r.title)}</a>: '
        f"{escape(key_number_text(r))}</li>"
        for r in report.found
    )
    if report.dod is not None:
        items += f'<li><a href="#dod">Definitions of Done</a>: {escape(report.dod.outcome)}</li>'
    return f"<nav><h2>Findings</h2><ol>{items}</ol></nav>" if items else ""


def _mark_facts(report: Report, marks: Sequence[Mark]) -> list[tuple[str, str]]:
    """Marks listed in the header, so one that falls outside the range (and so is not
    drawn) is not silently lost."""
    facts = []
    for mark in marks:
        outside = (report.start is not None and mark.at < report.start) or (
            report.end is not None and mark.at >= report.end
        )
        when = format_instant(mark.at, report.tz)
        facts.append(("Mark", f"{when} {mark.label}" + (" (outside the range)" if outside else "")))
    return facts


def render_html(report: Report, marks: Sequence[Mark] = (), *, redact: bool = True) -> str:
    """The whole page as one string; `redact` masks secrets and addresses from the logs
    (see loganalyze.redact)."""
    from plotly.offline import get_plotlyjs

    if redact:
        from ..redact import redact_obj

        report = redact_obj(report)
    facts = "".join(
        f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>"
        for label, value in [*header_facts(report), *_mark_facts(report, marks)]
    )
    body = [
        f"<header><h1>{escape(report.title)}</h1>",
        f'<table class="facts">{facts}</table></header>',
    ]
    if report.notice:
        body.append(f'<p class="note">{escape(report.notice)}</p>')
    body.append(_contents(report))
    body.append('<section id="timeline"><h2>Incident timeline</h2>')
    body.append(_chart(timeline_figure(report, marks), "timeline"))
    body.append("</section>")
    found = report.found
    if not found:
        body.append("<p>No detector found anything in this range.</p>")
    body.extend(_result_section(report, result, marks) for result in found)
    if report.quiet:
        names = ", ".join(f"<code>{escape(r.name)}</code>" for r in report.quiet)
        body.append(f"<p><strong>Nothing found by:</strong> {names}</p>")
    unjudged = unjudged_text(report)
    if unjudged:
        body.append(f'<p class="note"><strong>Not judged, input missing:</strong> {escape(unjudged)}</p>')
    if report.dod is not None:
        body.append(_dod_section(report))
    title = escape(report.title)
    if report.start is not None:
        title += f" {format_instant(report.start, report.tz)} ({escape(report.tz)})"
    # plotly.js goes inline, once, so the file works offline; "</" is split so no
    # string inside the library can end the script element early.
    plotly_js = get_plotlyjs().replace("</", "<\\/")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>{STYLE}</style>\n"
        f'<script type="text/javascript">{plotly_js}</script>\n</head>\n<body>\n'
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
