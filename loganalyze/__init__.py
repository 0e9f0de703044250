"""loganalyze: exported Supabase/Postgres/Vercel logs → DuckDB → detectors → reports and
Definition-of-Done checks. This module is the public API that notebooks import:

    import loganalyze as la
    con = la.connect()                                   # in memory; or la.connect("x.duckdb")
    la.ingest(["sample_logs/eventlive-incident"], con)   # sniffed, normalized, deduped
    la.list_detectors()                                  # what can be asked
    frame = la.run_detector(con, "schema_errors", window="1m")   # a polars DataFrame
    report = la.build_report(con)                        # every detector, for the renderers
    verdicts = la.check(con, la.load_dod("sample_logs/eventlive.dod.toml"))
    la.synth("incident", "out/")                         # the incident replay generator

Names resolve lazily so that `import loganalyze` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import DetectorError, DodError, InputError, LogAnalyzeError, UsageError
from .exit_codes import ExitCode
from .store import connect

__version__ = "0.1.0"

_LAZY = {
    "ingest": ("loganalyze.ingest", "ingest"),
    "IngestSummary": ("loganalyze.ingest", "IngestSummary"),
    "formats": ("loganalyze.ingest", "formats"),
    "list_detectors": ("loganalyze.detectors", "list_detectors"),
    "get_detector": ("loganalyze.detectors", "get_detector"),
    "run_detector": ("loganalyze.analysis", "run_detector"),
    "run_all": ("loganalyze.analysis", "run_all"),
    "detect": ("loganalyze.analysis", "detect"),
    "Analysis": ("loganalyze.analysis", "Analysis"),
    "Finding": ("loganalyze.findings", "Finding"),
    "resolve_range": ("loganalyze.timeparse", "resolve_range"),
    "build_report": ("loganalyze.report", "build_report"),
    "render_rich": ("loganalyze.report", "render_rich"),
    "render_markdown": ("loganalyze.report", "render_markdown"),
    "render_json": ("loganalyze.report", "render_json"),
    "render_html": ("loganalyze.report", "render_html"),
    "write_charts": ("loganalyze.report", "write_charts"),
    "report_figures": ("loganalyze.report", "report_figures"),
    "load_dod": ("loganalyze.dod", "load_dod"),
    "check": ("loganalyze.dod", "check"),
    "synth": ("loganalyze.synth", "synth"),
}

__all__ = [
    "DetectorError",
    "DodError",
    "ExitCode",
    "InputError",
    "LogAnalyzeError",
    "UsageError",
    "__version__",
    "connect",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'loganalyze' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
