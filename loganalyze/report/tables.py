"""A polars frame as a rich table on stdout (for `query`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl
    from rich.console import Console


def print_frame(frame: pl.DataFrame, console: Console | None = None, max_rows: int = 200) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(show_lines=False)
    for name in frame.columns:
        table.add_column(name, overflow="fold")
    for row in frame.head(max_rows).iter_rows():
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)
    if frame.height > max_rows:
        console.print(f"[dim]… {frame.height - max_rows:,} more rows (use --format csv or json)[/]")
