"""Ingest: raw exports → sniffed → normalized DuckDB tables.

`ingest(paths, con)` is the entry point; `formats()` lists the readers. One module per
input format family registers its readers here on import.
"""

from __future__ import annotations

from ..callable_module import make_callable
from . import (  # noqa: F401  (each module registers its formats)
    gotrue,
    kong,
    pg_cron,
    postgres,
    postgrest,
    realtime,
    supabase_hosted,
    supavisor,
    vercel,
)
from .core import (
    FileResult,
    IngestOptions,
    IngestSummary,
    LogFormat,
    TableResult,
    formats,
    get_format,
    ingest,
    register,
    sniff_sample,
)
from .files import Sample, expand_paths, take_sample

make_callable(__name__, ingest)

__all__ = [
    "FileResult",
    "IngestOptions",
    "IngestSummary",
    "LogFormat",
    "Sample",
    "TableResult",
    "expand_paths",
    "formats",
    "get_format",
    "ingest",
    "register",
    "sniff_sample",
    "take_sample",
]
