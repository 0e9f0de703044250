"""The table `loganalyze ingest` prints when it is done (on stderr: it is diagnostics)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from ..ingest import IngestSummary


def render_ingest_summary(summary: IngestSummary, console: Console) -> None:
    from rich.table import Table

    table = Table(title=f"ingested {len(summary.files)} file(s) in {summary.seconds:.1f}s",
                  title_justify="left")
    table.add_column("source", style="bold")
    table.add_column("rows", justify="right")
    table.add_column("duplicates", justify="right")
    # rows already stored (the same event from another file) that gained values they lacked
    table.add_column("merged", justify="right")
    table.add_column("rejected", justify="right")
    table.add_column("first event (UTC)")
    table.add_column("last event (UTC)")
    for name, result in summary.by_table().items():
        table.add_row(
            name,
            f"{result.rows:,}",
            f"{result.duplicates:,}",
            f"{result.merged:,}",
            f"[red]{result.rejected:,}[/]" if result.rejected else "0",
            _ts(result.min_ts),
            _ts(result.max_ts),
        )
    unrouted = sum(f.rejected_unrouted for f in summary.files)
    if unrouted:
        table.add_row("(unknown source)", "0", "0", "0", f"[red]{unrouted:,}[/]", "", "")
    console.print(table)
    for note in summary.notes():
        console.print(f"[dim]note:[/] {note}", highlight=False)
    if summary.rejected:
        console.print(
            f"[yellow]{summary.rejected:,} row(s) could not be normalized[/]; they are kept: "
            "loganalyze query \"SELECT file, line, reason FROM rejected_rows LIMIT 20\"",
            highlight=False,
        )


def _ts(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""  # type: ignore[attr-defined]
