"""The replayable scenarios: the incident and the states after each round of fixes."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import UsageError


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    schema_bug: bool
    """`select=id` on registrations → 42703, then an INSERT (409/23505 when registered)."""
    idempotent_registration: bool
    """Registration is an upsert with ignore-duplicates: one write, duplicates are no-ops."""
    ping_extra_reads: tuple[int, int]
    """Inclusive range of the extra table reads one `/api/presence/ping` makes."""
    heartbeat_rpc: bool
    """The heartbeat goes from the browser straight to an RPC: no Vercel hop, no
    `/auth/v1/user`, one call every `heartbeat_interval_s`."""
    track_single_upsert: bool
    """`/api/access/track` is one upsert (JWT verified locally)."""
    presence_on_sync: bool
    """Duplicate-login presence: track on entry, react to sync events, rare correction
    (else every tab tracks every 5 s)."""
    realtime_outage: bool
    """Realtime is down for a window; chat falls back to polling."""
    cron_failures: bool
    """The retention jobs fail under load (statement timeout)."""


INCIDENT = Scenario(
    name="incident",
    summary="the incident: 400/42703 on every ping and track, INSERT → 409/23505, "
    "4–10 queries per ping, /auth/v1/user on every call, presence every 5 s",
    schema_bug=True,
    idempotent_registration=False,
    ping_extra_reads=(0, 6),
    heartbeat_rpc=False,
    track_single_upsert=False,
    presence_on_sync=False,
    realtime_outage=False,
    cron_failures=True,
)
P0_FIXED = replace(
    INCIDENT,
    name="p0-fixed",
    summary="after P0: no registrations.id, fail fast, ping never writes registrations, "
    "idempotent registration",
    schema_bug=False,
    idempotent_registration=True,
    ping_extra_reads=(0, 3),
    cron_failures=False,
)
P1_FIXED = replace(
    P0_FIXED,
    name="p1-fixed",
    summary="after P0 and P1: heartbeat RPC every 2 min without /auth/v1/user, "
    "access/track as one upsert, presence on entry + sync events",
    ping_extra_reads=(0, 0),
    heartbeat_rpc=True,
    track_single_upsert=True,
    presence_on_sync=True,
)
REALTIME_OUTAGE = replace(
    P1_FIXED,
    name="realtime-outage",
    summary="the P1-fixed app with Realtime down for a window; chat falls back to polling "
    "every 2 s (or, with --breaker, behind a circuit breaker)",
    realtime_outage=True,
)
SCENARIOS: dict[str, Scenario] = {
    s.name: s for s in (INCIDENT, P0_FIXED, P1_FIXED, REALTIME_OUTAGE)
}


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise UsageError(
            f"unknown scenario {name!r}", hint="choose one of: " + ", ".join(SCENARIOS)
        ) from None
