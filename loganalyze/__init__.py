"""loganalyze: exported Supabase/Postgres/Vercel logs → DuckDB → detectors → reports and
Definition-of-Done checks. This module is the public API that notebooks import."""

from __future__ import annotations

from .errors import DetectorError, DodError, InputError, LogAnalyzeError, UsageError
from .exit_codes import ExitCode
from .store import connect

__version__ = "0.1.0"

__all__ = [
    "DetectorError",
    "DodError",
    "ExitCode",
    "InputError",
    "LogAnalyzeError",
    "UsageError",
    "__version__",
    "connect",
]
