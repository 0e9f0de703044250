"""`loganalyze serve`: a durable receiver for Supabase and Vercel log drains.

    request → body checked → spool (fsync) → 2xx
                                  ↓ every few seconds
              committer: open database → ingest sealed segments → close

`run_server(ServeConfig(...))` runs it until SIGTERM; docs/serve.md describes the
guarantees and how to point the drains at it.
"""

from __future__ import annotations

from .app import DrainReceiver, Reporter, ServeSummary, Status, run_server
from .bodies import DrainBody, parse_drain_body
from .committer import Committer
from .config import ServeConfig, default_spool, is_loopback, read_secret
from .spool import Kind, Spool

__all__ = [
    "Committer",
    "DrainBody",
    "DrainReceiver",
    "Kind",
    "Reporter",
    "ServeConfig",
    "ServeSummary",
    "Spool",
    "Status",
    "default_spool",
    "is_loopback",
    "parse_drain_body",
    "read_secret",
    "run_server",
]
