"""The postmortem page: one self-contained HTML file (plotly.js embedded once, no CDN, no
external request) that opens offline from a mail attachment. A sticky table of contents
beside (or, on narrow screens, above) the story: overview counters, the headline and
causal chains, the DoD verdicts, the incident timeline as the centrepiece, then a chart,
table and example log lines per detector that found something.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from html import escape

from ..findings import Finding
from .charts import Mark, detector_figure, timeline_figure
from .model import Report
from .text import (
    caveat_texts,
    chain_lines,
    column_label,
    cut,
    fmt_number,
    header_facts,
    headline_lines,
    key_number_text,
    offender_rows,
    offenders_title,
    seen_text,
    unjudged_text,
)
from .zones import format_instant

PLOTLY_CONFIG = {"displaylogo": False, "responsive": False}

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
       max-width: 1560px; color: #222; padding: 0 16px; }
.layout { display: grid; grid-template-columns: 220px minmax(0, 1fr); gap: 24px; }
nav.toc { position: sticky; top: 0; align-self: start; max-height: 100vh; overflow-y: auto;
          padding: 16px 0; font-size: 0.9em; }
nav.toc ol { padding-left: 18px; margin: 4px 0; }
nav.toc a { color: #0a58ca; text-decoration: none; }
main { min-width: 0; padding-top: 8px; }
.counters { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
.counter { border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; min-width: 120px; }
.counter .value { font-size: 1.4em; font-weight: 600; font-variant-numeric: tabular-nums; }
.counter .label { color: #555; font-size: 0.85em; }
.headline li { margin: 4px 0; }
.healthy { color: #1a7f37; font-weight: 600; }
.chain { background: #f6f8fa; padding: 8px 12px; border-left: 4px solid #cf222e; }
pre.examples { background: #f6f8fa; padding: 8px; overflow-x: auto; font-size: 0.85em;
               white-space: pre-wrap; word-break: break-all; }
table.dod td:first-child { white-space: nowrap; }
@media (max-width: 1100px) {
  .layout { display: block; }
  nav.toc { position: static; max-height: none; border-bottom: 1px solid #ddd; }
  /* below the width a table fits, each row of the verdicts becomes a card */
  table.dod thead { display: none; }
  table.dod, table.dod tbody, table.dod tr, table.dod td { display: block; width: auto; }
  table.dod tr { border: 1px solid #ddd; margin-bottom: 8px; }
  table.dod td { border: none; white-space: normal; }
  table.dod td::before { content: attr(data-label) ": "; color: #555; font-weight: 600; }
}
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
.table-wrap table { max-width: 100%; }
td { overflow-wrap: anywhere; }
"""


def _table(
    columns: list[str],
    rows: list[list[str]],
    numeric: Collection[str] = (),
    labels: list[str] | None = None,
) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in (labels or columns))
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
        parts.append(f"<h3>{escape(offenders_title(result))}</h3>")
        labels = [column_label(result, c) for c in columns]
        parts.append(_table(columns, rows, set(result.metric_columns), labels))
    examples = report.examples.get(result.name)
    if examples:
        lines = "\n".join(
            f"{format_instant(ts, report.tz)} {table}: {cut(line)}" for ts, table, line in examples
        )
        parts.append(f'<h3>Example log lines</h3><pre class="examples">{escape(lines)}</pre>')
    parts.append("</section>")
    return "\n".join(parts)


DOD_COLUMNS = ("check", "verdict", "observed", "baseline", "threshold")


def _dod_section(report: Report) -> str:
    """The verdicts, one row per threshold as `loganalyze check` shows them."""
    from ..dod.render import dod_name, threshold_rows

    assert report.dod is not None
    title = f"Definitions of Done ({escape(dod_name(report.dod))}): {escape(report.dod.outcome.upper())}"
    head = "".join(f"<th>{escape(c)}</th>" for c in DOD_COLUMNS)
    body = []
    for row in threshold_rows(report.dod):
        check = f"<strong>{escape(row['id'])}</strong>"
        if row["title"]:
            check += f"<br>{escape(row['title'])}"
        cells = [
            f'<td data-label="check">{check}</td>',
            f'<td data-label="verdict" class="verdict-{escape(row["verdict"])}">'
            f"{escape(row['verdict_text'].upper())}</td>",
            f'<td data-label="observed" class="num">{escape(row["observed"])}</td>',
            f'<td data-label="baseline" class="num">{escape(row["baseline"])}</td>',
            f'<td data-label="threshold"><code>{escape(row["threshold"])}</code></td>',
        ]
        body.append("<tr>" + "".join(cells) + "</tr>")
    table = f'<table class="dod"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    summary = escape(report.dod.summary() + f" (range {report.dod.range_text})")
    return f'<section id="dod"><h2>{title}</h2>{table}<p>{summary}</p></section>'


def _contents(report: Report) -> str:
    """The table of contents: the story's parts, then every finding, each linked."""
    items = ['<li><a href="#headline">Headline</a></li>']
    if report.dod is not None:
        items.append(f'<li><a href="#dod">Definitions of Done</a>: {escape(report.dod.outcome)}</li>')
    items.append('<li><a href="#timeline">Incident timeline</a></li>')
    found = "".join(
        f'<li><a href="#detector-{escape(r.name)}">{escape(r.title)}</a></li>' for r in report.found
    )
    if found:
        items.append(f"<li>Findings<ol>{found}</ol></li>")
    return f'<nav class="toc"><h2>Contents</h2><ol>{"".join(items)}</ol></nav>'


def _counters(report: Report) -> str:
    """Events, HTTP requests, errors and their rate, database errors, span, sources."""
    facts = report.overview
    if not facts:
        return ""
    span = "—"
    if report.start is not None and report.end is not None:
        minutes = (report.end - report.start).total_seconds() / 60
        span = f"{minutes:,.0f} min" if minutes < 600 else f"{minutes / 60:,.1f} h"
    rate = facts.get("error_rate")
    cells = [
        ("events", fmt_number(facts.get("events"))),
        ("HTTP requests", fmt_number(facts.get("http_requests"))),
        ("HTTP errors (4xx/5xx)", fmt_number(facts.get("http_errors"))),
        ("error rate", "—" if rate is None else f"{rate * 100:.1f}%"),
        ("database errors", fmt_number(facts.get("db_errors"))),
        ("time span", span),
        ("sources", fmt_number(facts.get("sources"))),
    ]
    return '<div class="counters">' + "".join(
        f'<div class="counter"><div class="value">{escape(v)}</div>'
        f'<div class="label">{escape(k)}</div></div>'
        for k, v in cells
    ) + "</div>"


def _headline(report: Report) -> str:
    healthy = not report.headlines
    items = "".join(
        f'<li class="{"healthy" if healthy else ""}">{escape(text)}</li>'
        for text in headline_lines(report)
    )
    chains = "".join(f'<p class="chain">{escape(text)}</p>' for text in chain_lines(report))
    return f'<section id="headline"><h2>Headline</h2><ul class="headline">{items}</ul>{chains}</section>'


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
        _counters(report),
        f'<table class="facts">{facts}</table></header>',
    ]
    if report.notice:
        body.append(f'<p class="note">{escape(report.notice)}</p>')
    body.append(_headline(report))
    if report.dod is not None:
        body.append(_dod_section(report))
    body.append('<section id="timeline"><h2>Incident timeline</h2>')
    body.append(_chart(timeline_figure(report, marks), "timeline"))
    body.append("</section>")
    body.extend(_result_section(report, result, marks) for result in report.found)
    if report.quiet:
        names = ", ".join(f"<code>{escape(r.name)}</code>" for r in report.quiet)
        body.append(f"<p><strong>Nothing found by:</strong> {names}</p>")
    unjudged = unjudged_text(report)
    if unjudged:
        body.append(f'<p class="note"><strong>Not judged:</strong> {escape(unjudged)}</p>')
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
        f'<div class="layout">{_contents(report)}<main>\n'
        + "\n".join(body)
        + "\n</main></div>\n</body>\n</html>\n"
    )
