"""`loganalyze synth`: write a replay of the EventLive incident (or of a fixed build)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..errors import LogAnalyzeError
from .common import examples, fail, stderr

_FORMATS_DOC = (
    "drain (Supabase NDJSON drain), studio-json / studio-csv (Logs Explorer downloads), "
    "api (Management API envelopes, paged), clickhouse (ClickHouse-era rows of the newer "
    "logs endpoint, paged), selfhosted (kong/auth/db/realtime container "
    "logs), vercel (Vercel NDJSON drain), cron (cron.job_run_details CSV)"
)


def register(app: typer.Typer) -> None:
    app.command(
        "synth",
        epilog=examples(
            "loganalyze synth incident --out replay/",
            "loganalyze synth p0-fixed --out fixed/ --users 3000 --format studio-json --gzip",
            "loganalyze synth realtime-outage --out outage/ --breaker --json > manifest.json",
        ),
    )(synth_command)


def synth_command(
    scenario: Annotated[
        str,
        typer.Argument(
            help="incident | p0-fixed | p1-fixed | realtime-outage", show_default=False
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Directory to write the logs and manifest.json.")
    ],
    users: Annotated[int, typer.Option("--users", help="Concurrent attendees.")] = 1000,
    minutes: Annotated[int, typer.Option("--minutes", help="Length of the replay.")] = 30,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed; the same seed gives identical files.")
    ] = 20260312,
    fmt: Annotated[
        list[str] | None,
        typer.Option("--format", "-f", help="Output format, repeatable: " + _FORMATS_DOC + ".",
                     show_default="drain, vercel, cron"),
    ] = None,
    tz: Annotated[
        str, typer.Option("--tz", help="Time zone for display (logs are always UTC).")
    ] = "Asia/Seoul",
    start: Annotated[
        str, typer.Option("--start", help="Start of the webinar, ISO 8601 (UTC if no offset).")
    ] = "2026-03-12T10:00:00Z",
    breaker: Annotated[
        bool,
        typer.Option("--breaker/--no-breaker", help="realtime-outage: fallback polling behind the circuit "
                     "breaker (visible tabs, exponential backoff)."),
    ] = False,
    gzip: Annotated[bool, typer.Option("--gzip/--no-gzip", help="Gzip every log file.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json/--no-json", help="Print the manifest as JSON on stdout.")
    ] = False,
) -> None:
    """Simulate the webinar and write the logs Supabase and Vercel would have exported,
    with manifest.json holding the true figures the detectors should recover."""
    from ..synth import DEFAULT_FORMATS, synth

    try:
        result = synth(scenario, out, users=users, minutes=minutes, seed=seed,
                       formats=tuple(fmt) if fmt else DEFAULT_FORMATS, tz=tz, start=start,
                       breaker=breaker, compress=gzip)
    except LogAnalyzeError as exc:
        raise fail(exc) from None
    totals = result.manifest["totals"]
    stderr.print(
        f"{result.scenario}: {len(result.files)} files, {result.bytes_written / 1e6:.1f} MB "
        f"in {result.seconds:.1f}s → {result.out_dir}",
        highlight=False,
    )
    stderr.print(
        f"  42703: {totals['sqlstate_42703']}  409 by table: {totals['http_409_by_table']}  "
        f"/auth/v1/user: {totals['auth_user_calls']} "
        f"(mean {totals['auth_user_latency_ms']['mean']} ms)  "
        f"refresh reuse: {totals['refresh_token_already_used']}  "
        f"cron failures: {totals['cron_failures']}",
        highlight=False,
    )
    if as_json:
        print(json.dumps(result.manifest, indent=2, ensure_ascii=False))
