"""The report as JSON: everything, machine-readable. Instants are ISO 8601 UTC (`Z`);
the display zone is stated once under `range.tz`. Frames are converted column-wise by
polars, not row by row."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import polars as pl

from ..findings import Finding
from .model import Report, key_numbers

FORMAT_VERSION = 1
FLOAT_DECIMALS = 6


def frame_records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: instants → ISO UTC text, durations → seconds."""
    converted = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            if dtype.time_zone is None:
                column = column.dt.replace_time_zone("UTC")
            column = column.dt.convert_time_zone("UTC").dt.to_string("%Y-%m-%dT%H:%M:%S%.fZ")
        elif isinstance(dtype, pl.Duration):
            column = column.dt.total_microseconds() / 1e6
        elif isinstance(dtype, pl.Date):
            column = column.dt.to_string("%Y-%m-%d")
        elif dtype.is_float():
            # parallel sums differ in the last bits from run to run; six decimals keep
            # the output stable without losing anything a reader could use
            column = column.round(FLOAT_DECIMALS)
        converted.append(column.alias(name))
    if not converted:
        return []
    return json.loads(frame.select(converted).write_json())


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _stable(result: Finding) -> pl.DataFrame:
    """Rows in a deterministic order (windows, then subjects) so output diffs are real."""
    keys = (["window_start"] if result.windowed else []) + result.subject_columns
    keys = [k for k in keys if k in result.frame.columns]
    return result.frame.sort(keys, nulls_last=True, maintain_order=True) if keys else result.frame


def _rounded(value: Any) -> Any:
    return round(value, FLOAT_DECIMALS) if isinstance(value, float) else value


def _result(result: Finding) -> dict[str, Any]:
    spec = result.spec
    return {
        "name": result.name,
        "title": result.title,
        "finds": spec.finds,
        "rank": result.rank,
        "found": result.found,
        "windowed": result.windowed,
        "subject": list(spec.subject),
        "metrics": list(spec.metrics),
        "metric_kinds": {m.name: m.kind for m in spec.metric_specs},
        "metric_units": {m.name: m.unit for m in spec.metric_specs if m.unit},
        "events": spec.events,
        "conclusive": result.conclusive,
        "inputs": result.inputs,
        "missing_inputs": list(result.missing),
        "caveats": list(result.caveats),
        "totals": {m: _rounded(result.total(m)) for m in result.metric_columns},
        "key_numbers": {k.label: _rounded(k.value) for k in key_numbers(result)},
        "started": _iso(result.started()),
        "stopped": _iso(result.stopped()),
        "events_after_stop": result.traffic_after,
        "top_offenders": frame_records(result.top_offenders()),
        "rows": frame_records(_stable(result)),
    }


def report_dict(report: Report) -> dict[str, Any]:
    dod = None
    if report.dod is not None:
        from ..dod.render import to_dict

        dod = to_dict(report.dod, redact=False)  # the shape of `check --format json`
    return {
        "format_version": FORMAT_VERSION,
        "range": {
            "start": _iso(report.start),
            "end": _iso(report.end),
            "data_start": _iso(report.data_start),
            "data_end": _iso(report.data_end),
            "window": report.window_text,
            "window_seconds": report.window.total_seconds(),
            "tz": report.tz,
        },
        "notice": report.notice,
        "narrowed": report.narrowed or None,
        "headline": [h.sentence for h in report.headlines],
        "chains": [{"title": c.title, "steps": list(c.steps)} for c in report.chains],
        "overview": report.overview,
        "examples": {
            name: [{"ts": _iso(ts), "table": table, "line": line} for ts, table, line in lines]
            for name, lines in report.examples.items()
        },
        "sources": frame_records(report.sources),
        "files": frame_records(report.files),
        "rejected": {
            "rows": report.rejected_rows,
            "by_reason": frame_records(report.rejected),
        },
        "detectors": [_result(r) for r in report.results],
        "timeline": frame_records(
            report.timeline.sort(["panel", "window_start", "series"], maintain_order=True)
        ),
        "dod": dod,
    }


def render_json(report: Report, *, redact: bool = True) -> str:
    """`redact`: mask secrets and addresses from the logs (see loganalyze.redact)."""
    data = report_dict(report)
    if redact:
        from ..redact import redact_obj

        data = redact_obj(data)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
