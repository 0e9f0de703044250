"""`loganalyze pull`, and `--project REF` for `report`, `run` and `check` (pull the asked
range first)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import LogAnalyzeError, UsageError
from .common import DbOption, TzOption, examples, fail, stderr, typed_range

if TYPE_CHECKING:
    from rich.console import Console

    from ..pull import PullSummary

ProjectOption = Annotated[
    str | None,
    typer.Option(
        "--project",
        help="Pull this hosted project's logs for the asked range first (token from "
        "$SUPABASE_ACCESS_TOKEN; see `loganalyze pull --help`).",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    app.command(
        "pull",
        epilog=examples(
            "loganalyze pull --project cphvojqhqmexlspvylbd --since 2h --db incident.duckdb",
            "loganalyze pull --project cphvojqhqmexlspvylbd --since 19:00 --tz Asia/Seoul "
            "--source edge_logs,postgres_logs",
        ),
    )(pull_command)


def pull_command(
    project: Annotated[
        str, typer.Option("--project", help="Project ref (20 letters, as in <ref>.supabase.co).",
                          show_default=False)
    ],
    since: Annotated[
        str, typer.Option("--since", help="Start: a duration before now (2h, 30m, 1d) or an ISO timestamp.")
    ] = "2h",
    until: Annotated[
        str | None, typer.Option("--until", help="End: a duration before now or an ISO timestamp (default: now).")
    ] = None,
    source: Annotated[
        list[str] | None,
        typer.Option("--source", help="Sources to pull, comma-separated or repeated "
                     "(default: every Supabase source: edge_logs, postgres_logs, auth_logs, …).",
                     show_default=False),
    ] = None,
    db: DbOption = None,
    token_file: Annotated[
        Path | None,
        typer.Option("--token-file", help="Read the access token from this file instead of "
                     "$SUPABASE_ACCESS_TOKEN.", show_default=False),
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option("--api-url", envvar="LOGANALYZE_API_URL",
                     help="Management API base URL.", show_default="https://api.supabase.com"),
    ] = None,
    lag: Annotated[
        str, typer.Option("--lag", help="Ingestion lag: the minutes before a pull that the next "
                          "pull fetches again.")
    ] = "5m",
    slice_length: Annotated[
        str, typer.Option("--slice", help="Time slice per query (at most 24h).")
    ] = "1h",
    page_rows: Annotated[int, typer.Option("--page-rows", help="Rows asked for per request.")] = 10_000,
    concurrency: Annotated[
        int, typer.Option("--concurrency", help="Requests in flight at most (lowered on HTTP 429).")
    ] = 2,
    max_time: Annotated[
        str, typer.Option("--max-time", help="Time budget of the whole pull; slices not done "
                          "by then are reported incomplete.")
    ] = "10m",
    backoff: Annotated[
        str, typer.Option("--backoff", help="First retry wait (doubles per retry, with jitter).")
    ] = "1s",
    as_json: Annotated[
        bool, typer.Option("--json/--no-json", help="Print the summary as JSON on stdout.")
    ] = False,
    tz: TzOption = None,
) -> None:
    """Fetch a hosted project's logs from the Management API into the database, complete.

    Every source is read in slices of at most 24 h, paged by (timestamp, id), and each
    slice's rows are confirmed against a count() of the same slice. A re-run fetches only
    what the database lacks, plus the last --lag minutes. Exit codes: 0 complete;
    2 usage (bad ref, no token); 3 the API refused (token, permission, project, plan)
    or kept failing; 5 incomplete (the slices are listed; what was fetched is kept).
    """
    from ..pull import incomplete_error

    try:
        options = pull_options(source, api_url=api_url, lag=lag, slice_length=slice_length,
                               page_rows=page_rows, concurrency=concurrency,
                               max_time=max_time, backoff=backoff)
        since, until = typed_range(since, until, tz)
        summary = _run_pull(project, db, since, until, options, token_file)
    except LogAnalyzeError as exc:
        raise fail(exc) from None
    if as_json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        render_pull_summary(summary, stderr)
    if summary.incomplete:
        raise fail(incomplete_error(summary))


def pull_options(
    sources: list[str] | None = None,
    *,
    api_url: str | None = None,
    lag: str = "5m",
    slice_length: str = "1h",
    page_rows: int = 10_000,
    concurrency: int = 2,
    max_time: str = "10m",
    backoff: str = "1s",
):  # type: ignore[no-untyped-def]
    from ..pull import PullOptions, RetryPolicy, resolve_sources
    from ..timeparse import parse_duration

    names = [n.strip() for item in sources or [] for n in item.split(",") if n.strip()]
    base = parse_duration(backoff).total_seconds()
    return PullOptions(
        sources=resolve_sources(names),
        slice_length=parse_duration(slice_length),
        page_rows=page_rows,
        concurrency=concurrency,
        lag=parse_duration(lag),
        policy=RetryPolicy(base=base, cap=max(base, 30.0),
                           total=parse_duration(max_time).total_seconds()),
        api_url=api_url,
    )


def _run_pull(project, db, since, until, options, token_file=None):  # type: ignore[no-untyped-def]
    from ..pull import check_project_ref, pull, read_token
    from ..store import connect, resolve_db_path

    check_project_ref(project)  # a malformed ref is a usage error before any request
    token = read_token(token_file)
    con = connect(resolve_db_path(db, have_paths=False))
    try:
        with _Progress() as progress:
            return pull(con, project, token, since=since, until=until, options=options,
                        progress=progress)
    finally:
        con.close()


def pull_first(
    project: str | None,
    db: Path | None,
    since: str | None,
    until: str | None,
    last: str | None,
    paths: list[Path] | None = None,
    *,
    incomplete_fails: bool = False,
) -> None:
    """`--project REF` on report/run/check: pull the asked range into the database the
    command then reads. `--last 30m` pulls the 30 minutes before now; no range pulls the
    last 2 hours. An incomplete pull is a warning, or with `incomplete_fails` (check:
    never judge a Definition of Done on logs known to be partial) exit code 5."""
    if project is None:
        return
    from ..pull import incomplete_error
    from ..timeparse import format_duration, parse_duration

    if paths:
        raise UsageError("--project pulls into the database: give no log paths with it",
                         hint="drop the paths, or run `loganalyze pull` and pass --db")
    if last is not None:
        if since is not None or until is not None:
            raise UsageError("--last cannot be combined with --since/--until")
        since = format_duration(parse_duration(last))
    summary = _run_pull(project, db, since or "2h", until, pull_options())
    render_pull_summary(summary, stderr)
    if summary.incomplete:
        error = incomplete_error(summary)
        if incomplete_fails:
            raise error
        stderr.print(f"[yellow]warning:[/] {error.message}; the results cover what was fetched",
                     highlight=False)


def render_pull_summary(summary: PullSummary, console: Console) -> None:
    from rich.table import Table

    from ..timeparse import format_duration

    by_table = summary.ingest.by_table()
    table = Table(
        title=f"pulled project {summary.project}, {_when(summary.start)} .. {_when(summary.end)} "
        f"in {summary.seconds:.1f}s",
        title_justify="left",
    )
    for name, justify in (("source", "left"), ("slices", "right"), ("already had", "right"),
                          ("rows read", "right"),
                          ("new rows", "right"), ("duplicates", "right"), ("rejected", "right"),
                          ("incomplete", "right")):
        table.add_column(name, justify=justify, style="bold" if name == "source" else None)
    for source in summary.sources:
        mine = [s for s in summary.slices if s.slice.source == source]
        had = summary.skipped.get(source) or []
        if not mine and not had:
            continue
        stored = by_table.get(source)
        missing = sum(1 for s in mine if not s.verified)
        table.add_row(
            source,
            f"{len(mine):,}",
            format_duration(sum((hi - lo for lo, hi in had), timedelta())) if had else "-",
            f"{sum(s.rows for s in mine):,}",
            f"{stored.rows:,}" if stored else "0",
            f"{stored.duplicates:,}" if stored else "0",
            f"[red]{stored.rejected:,}[/]" if stored and stored.rejected else "0",
            f"[red]{missing}[/]" if missing else "0",
        )
    console.print(table)
    stats = summary.stats
    console.print(
        f"[dim]{stats.requests:,} requests, {stats.retries:,} retried, {stats.throttled:,} "
        f"rate-limited (HTTP 429); lowest concurrency {summary.lowest_concurrency}[/]",
        highlight=False,
    )
    for piece in summary.incomplete:
        console.print(f"[red]incomplete:[/] {piece.slice.describe()}: {piece.reason}",
                      highlight=False)


def _when(value) -> str:  # type: ignore[no-untyped-def]
    return value.strftime("%Y-%m-%d %H:%M:%SZ")


class _Progress:
    """Slices and rows on stderr while a terminal watches; silent otherwise."""

    def __init__(self) -> None:
        self.bar = None
        self.task = None

    def __enter__(self):  # type: ignore[no-untyped-def]
        if not stderr.is_terminal:
            return None
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.bar = Progress(
            TextColumn("[bold]pull[/]"), BarColumn(), MofNCompleteColumn(),
            TextColumn("slices · {task.fields[rows]:,} rows"), TimeElapsedColumn(),
            console=stderr, transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task("pull", total=None, rows=0)

        def update(state) -> None:  # type: ignore[no-untyped-def]
            assert self.bar is not None and self.task is not None
            self.bar.update(self.task, completed=state.slices_done, total=state.slices_total,
                            rows=state.rows)

        return update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


