"""`loganalyze serve`: receive Supabase and Vercel log drains into the database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import LogAnalyzeError
from .common import DbOption, examples, fail, stderr
from .engines import ChdbPathOption, ClickhouseUrlOption


def register(app: typer.Typer) -> None:
    app.command(
        "serve",
        epilog=examples(
            "loganalyze serve --db drains.duckdb",
            "loganalyze serve --host 0.0.0.0 --port 8787 --secret-file drain.secret "
            "--db drains.duckdb",
        ),
    )(serve_command)


def serve_command(
    db: DbOption = None,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on. Anything but loopback needs a secret.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port (0: any free port, printed at start).")] = 8787,
    secret_file: Annotated[
        Path | None,
        typer.Option("--secret-file", help="File holding the Supabase drain's shared secret "
                     "(sent as `Authorization: Bearer SECRET`)."),
    ] = None,
    vercel_secret_file: Annotated[
        Path | None,
        typer.Option("--vercel-secret-file", help="File holding the Vercel drain's signature "
                     "secret (x-vercel-signature)."),
    ] = None,
    vercel_verify: Annotated[
        str | None,
        typer.Option("--vercel-verify", help="Value to answer in x-vercel-verify when Vercel "
                     "checks the endpoint (shown when adding the drain)."),
    ] = None,
    spool: Annotated[
        Path | None,
        typer.Option("--spool", help="Spool directory (default: the database path + .spool).",
                     show_default=False),
    ] = None,
    commit_every: Annotated[
        float, typer.Option("--commit-every", help="Seconds between commits into the database.")
    ] = 2.0,
    max_body: Annotated[
        int, typer.Option("--max-body", help="Largest request body in MiB (413 beyond).")
    ] = 16,
    max_inflight: Annotated[
        int, typer.Option("--max-inflight", help="MiB of request bodies held at once (429 beyond).")
    ] = 64,
    max_backlog: Annotated[
        int, typer.Option("--max-backlog", help="MiB spooled but not yet in the database (503 beyond).")
    ] = 1024,
    memory_limit: Annotated[
        str, typer.Option("--memory-limit", help="Memory budget of each batch ingest.")
    ] = "1GB",
    status_every: Annotated[
        float, typer.Option("--status-every", help="Seconds between status lines on stderr (0: none).")
    ] = 10.0,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="Also forward each commit to ClickHouse: chdb (a store, --chdb-path) or clickhouse "
            "(--clickhouse-url). The DuckDB database stays the durable buffer.",
        ),
    ] = "duckdb",
    clickhouse_url: ClickhouseUrlOption = None,
    chdb_path: ChdbPathOption = None,
) -> None:
    """Receive Supabase and Vercel log drains over HTTP into the database.

    A delivery is acknowledged once it is on disk; events reach the tables within a few
    seconds. Other commands can read the same database meanwhile. Stop with Ctrl-C or
    SIGTERM: what was accepted is committed first. See docs/serve.md.
    """
    from ..serve import ServeConfig, default_spool, read_secret, run_server
    from ..serve.forward import EngineTarget
    from ..store import resolve_db_path

    try:
        db_path = Path(resolve_db_path(db, have_paths=False)).expanduser().resolve()
        config = ServeConfig(
            db=db_path,
            spool=(spool or default_spool(db_path)).expanduser().resolve(),
            host=host,
            port=port,
            supabase_secret=read_secret(secret_file, "secret file") if secret_file else None,
            vercel_secret=read_secret(vercel_secret_file, "Vercel secret file") if vercel_secret_file else None,
            vercel_verify=vercel_verify,
            commit_every=commit_every,
            max_body_bytes=max_body << 20,
            max_inflight_bytes=max_inflight << 20,
            max_backlog_bytes=max_backlog << 20,
            memory_limit=memory_limit,
            status_every=status_every,
            forward_to=(
                None if engine == "duckdb" else EngineTarget(engine, url=clickhouse_url, chdb_path=chdb_path)
            ),
        )
        summary = run_server(config, _ConsoleReporter(config.db, config.forward_to))
    except LogAnalyzeError as exc:
        raise fail(exc) from None
    if summary.left_in_spool:
        stderr.print(f"[yellow]the database stayed busy: the rest stays in {config.spool} "
                     "and is committed at the next start[/]")


class _ConsoleReporter:
    """Status on stderr (stdout stays empty: serve produces no data)."""

    def __init__(self, db: Path, forward_to=None) -> None:  # type: ignore[no-untyped-def]
        self.db = db
        self.forward_to = forward_to

    def ready(self, url: str, drains: dict[str, bool]) -> None:
        stderr.print(f"[bold]serving[/] on {url} → {self.db}", highlight=False)
        if self.forward_to is not None:
            stderr.print(f"  forwarding each commit to {self.forward_to.engine} {self.forward_to.where}",
                         highlight=False)
        for name, open_ in drains.items():
            where = f"{url}/drains/{name}"
            stderr.print(f"  {name:8} {where if open_ else 'off (no secret for a public address)'}",
                         highlight=False)

    def status(self, status) -> None:  # type: ignore[no-untyped-def]
        waiting = (f" · [yellow]database busy {status.waiting_for_db_s:.0f} s[/]"
                   if status.waiting_for_db_s else "")
        stderr.print(
            f"{status.events_per_s:,.0f} ev/s · accepted {status.accepted_events:,} · "
            f"stored {status.stored_rows:,} (dup {status.duplicates:,}) · rejected {status.rejected:,} · "
            f"backlog {status.backlog_bytes / 1e6:,.1f} MB · refused {status.refused:,}{waiting}",
            highlight=False,
        )

    def notice(self, message: str) -> None:
        stderr.print(f"[yellow]{message}[/]", highlight=False)

    def stopping(self) -> None:
        stderr.print("stopping: committing what was accepted", highlight=False)
