"""Incident replays: simulate the EventLive webinar and write the logs Supabase and Vercel
would have exported, plus `manifest.json`, the true figures the detectors should recover.

    from loganalyze.synth import synth
    result = synth("incident", "replay/", users=200, minutes=10, formats=("drain", "vercel"))

The simulation runs in one-minute chunks of whole columns (numpy/polars), each chunk is
handed to every requested writer and to the manifest tally, then dropped: memory stays
bounded however long the replay. The same arguments give byte-identical files.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..callable_module import make_callable
from ..errors import UsageError
from .manifest import Manifest
from .scenarios import SCENARIOS, Scenario, get_scenario
from .simulate import US, Params, Simulation
from .writers.api import ApiEnvelopeWriter, ClickHouseWriter
from .writers.drain import DrainWriter
from .writers.pgcron import CronCsvWriter
from .writers.selfhosted import SelfHostedWriter
from .writers.studio import StudioCsvWriter, StudioJsonWriter
from .writers.vercel import VercelDrainWriter

WRITERS = {
    "drain": DrainWriter,
    "studio-json": StudioJsonWriter,
    "studio-csv": StudioCsvWriter,
    "api": ApiEnvelopeWriter,
    "clickhouse": ClickHouseWriter,
    "selfhosted": SelfHostedWriter,
    "vercel": VercelDrainWriter,
    "cron": CronCsvWriter,
}
FORMAT_HELP = {
    "drain": "Supabase log drain, NDJSON, one file per source (<source>.drain.ndjson)",
    "studio-json": "Logs Explorer 'Download JSON' (<source>.studio.json)",
    "studio-csv": "Logs Explorer 'Download CSV' (<source>.studio.csv)",
    "api": "Management API logs.all envelopes, pages of 1000 rows (<source>.api.NNNN.json)",
    "clickhouse": "Management API logs envelopes of ClickHouse-era rows, all sources "
    "(logs.clickhouse.NNNN.json)",
    "selfhosted": "self-hosted container logs: supabase-kong/auth/db/realtime.log",
    "vercel": "Vercel log drain, NDJSON (vercel.drain.ndjson)",
    "cron": "cron.job_run_details exported as CSV (cron.job_run_details.csv)",
}
FORMATS: tuple[str, ...] = tuple(WRITERS)
DEFAULT_FORMATS: tuple[str, ...] = ("drain", "vercel", "cron")
DEFAULT_SEED = 20260312
DEFAULT_START = "2026-03-12T10:00:00Z"


@dataclass
class SynthResult:
    out_dir: Path
    scenario: str
    files: list[Path]
    manifest_path: Path
    manifest: dict
    seconds: float
    bytes_written: int = 0
    formats: tuple[str, ...] = field(default_factory=tuple)


def _parse_start(start: str | datetime) -> int:
    if isinstance(start, datetime):
        moment = start
    else:
        try:
            moment = datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(f"not an ISO timestamp: {start!r}",
                             hint="e.g. 2026-03-12T10:00:00Z or 2026-03-12T19:00:00+09:00"
                             ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * US


def _check_formats(formats: Iterable[str]) -> tuple[str, ...]:
    chosen: list[str] = []
    for name in formats:
        if name not in WRITERS:
            raise UsageError(f"unknown format {name!r}", hint="choose from: " + ", ".join(FORMATS))
        if name not in chosen:
            chosen.append(name)
    if not chosen:
        raise UsageError("no output format chosen", hint="e.g. --format drain")
    return tuple(chosen)


def synth(
    scenario: str | Scenario,
    out_dir: str | Path,
    *,
    users: int = 1000,
    minutes: int = 30,
    seed: int = DEFAULT_SEED,
    formats: Sequence[str] = DEFAULT_FORMATS,
    tz: str = "Asia/Seoul",
    start: str | datetime = DEFAULT_START,
    breaker: bool = False,
    compress: bool = False,
) -> SynthResult:
    """Simulate `scenario` and write its logs and `manifest.json` into `out_dir`.

    `formats` chooses the export shapes (see `FORMAT_HELP`); `compress` gzips every log
    file. The manifest's figures do not depend on the formats chosen."""
    began = time.perf_counter()
    chosen = get_scenario(scenario) if isinstance(scenario, str) else scenario
    if users < 1 or minutes < 1:
        raise UsageError("--users and --minutes must be at least 1")
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"unknown time zone {tz!r}", hint="an IANA name such as Asia/Seoul"
                         ) from None
    names = _check_formats(formats)
    start_us = _parse_start(start)
    if breaker and not chosen.realtime_outage:
        raise UsageError("--breaker only applies to the realtime-outage scenario")
    params = Params(users=users, minutes=minutes, seed=seed, start_us=start_us, breaker=breaker)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    sim = Simulation(chosen, params)
    writers = [WRITERS[name](out, sim.project, compress=compress) for name in names]
    manifest = Manifest(sim)
    for chunk in sim.chunks():
        for writer in writers:
            writer.write(chunk)
        manifest.add(chunk)
    files: list[Path] = []
    for writer in writers:
        files.extend(writer.close())
    files.sort()

    start_utc = datetime.fromtimestamp(start_us / US, tz=UTC)
    parameters = {
        "users": users, "minutes": minutes, "seed": seed,
        "start": start_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "start_local": start_utc.astimezone(zone).isoformat(),
        "tz": tz, "breaker": breaker, "formats": list(names), "compress": compress,
        "ping_interval_s": params.ping_interval_s,
        "track_interval_s": params.track_interval_s,
        "heartbeat_interval_s": params.heartbeat_interval_s,
        "admin_poll_s": params.admin_poll_s,
        "chat_poll_s": params.chat_poll_s,
        "refresh_period_s": params.refresh_period_s,
        "two_tab_share": params.two_tab_share,
        "capacity_calls_per_s": params.capacity_per_user * users,
    }
    document = manifest.build(scenario_summary=chosen.summary, parameters=parameters,
                              files=[f.name for f in files])
    manifest_path = out / "manifest.json"
    manifest_path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n",
                             encoding="utf-8")
    size = sum(f.stat().st_size for f in files)
    return SynthResult(out_dir=out, scenario=chosen.name, files=files,
                       manifest_path=manifest_path, manifest=document,
                       seconds=time.perf_counter() - began, bytes_written=size, formats=names)


__all__ = ["DEFAULT_FORMATS", "FORMATS", "FORMAT_HELP", "SCENARIOS", "SynthResult", "synth"]

make_callable(__name__, synth)
