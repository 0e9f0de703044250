"""Management API pulls: each file is one response envelope `{"result":[...],"error":null}`,
pages of at most `page_rows` rows, never spanning more than the API's 24-hour limit.

- `api`: the BigQuery-era `GET /v1/projects/{ref}/analytics/endpoints/logs.all`, one query
  per source (`<source>.api.NNNN.json`), rows as in the Logs Explorer;
- `clickhouse`: the newer `…/analytics/endpoints/logs` over the single ClickHouse `logs`
  table (`logs.clickhouse.NNNN.json`): `id`, `timestamp` (`YYYY-MM-DDTHH:MM:SS.ffffff`,
  UTC), `event_message`, `severity_text`, `source`, and `log_attributes`, a flat map of
  strings keyed by the old metadata path without `metadata.` and without array levels.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ..hosted import SourceRows, hosted_sources
from ..simulate import US
from ..template import Raw, Str, compile_json
from . import Chunk, Project, compact, joined, open_text, render_rows

DAY_US = 24 * 3600 * US


class ApiEnvelopeWriter:
    kind = "api"

    def __init__(self, out_dir: Path, project: Project, *, compress: bool = False,
                 page_rows: int = 1000) -> None:
        self.out_dir = out_dir
        self.project = project
        self.compress = compress
        self.page_rows = page_rows
        self.pending: dict[str, list[pl.Series]] = {}
        self.page_start: dict[str, int] = {}
        self.pages: dict[str, int] = {}
        self.written: list[Path] = []

    def lines(self, chunk: Chunk) -> dict[str, pl.Series]:
        """Rendered rows of this chunk, per file family, in time order."""
        return {rows.source: render_rows(rows, compact)
                for rows in hosted_sources(chunk, self.project)}

    def write(self, chunk: Chunk) -> None:
        for name, lines in self.lines(chunk).items():
            self.pending.setdefault(name, [])
            self.page_start.setdefault(name, chunk.start_us)
            if chunk.end_us - self.page_start[name] > DAY_US:
                self._flush(name, everything=True)
                self.page_start[name] = chunk.start_us
            if len(lines):
                self.pending[name].append(lines)
            self._flush(name, everything=False)

    def _flush(self, name: str, *, everything: bool) -> None:
        if not self.pending[name]:
            return
        lines = pl.concat(self.pending[name])
        cut = len(lines) if everything else len(lines) // self.page_rows * self.page_rows
        for lo in range(0, cut, self.page_rows):
            page = lines.slice(lo, min(self.page_rows, cut - lo))
            self.pages[name] = self.pages.get(name, 0) + 1
            path = self.out_dir / f"{name}.{self.kind}.{self.pages[name]:04d}.json"
            with open_text(path, compress=self.compress) as handle:
                handle.write('{"result":[' + joined(page, ",") + '],"error":null}')
            self.written.append(path.with_name(path.name + ".gz") if self.compress else path)
        rest = lines.slice(cut)
        self.pending[name] = [rest] if len(rest) else []

    def close(self) -> list[Path]:
        for name in sorted(self.pending):
            self._flush(name, everything=True)
        return self.written


SEVERITY = {"edge_logs": "INFO", "postgres_logs": "ERROR", "realtime_logs": "INFO"}


def flatten(node: object, prefix: str = "") -> dict[str, object]:
    """Dotted paths of the leaves; one-element arrays are looked through, nulls dropped."""
    if isinstance(node, dict):
        out: dict[str, object] = {}
        for key, value in node.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    if isinstance(node, list):
        return flatten(node[0], prefix) if len(node) == 1 else {}
    if node is None:
        return {}
    return {prefix[:-1]: node}


def _as_text(leaf: object) -> object:
    """Every map value is a string: columns render nulls as empty strings."""
    if isinstance(leaf, Str | Raw):
        return Str(leaf.column, escape=not isinstance(leaf, Raw) and leaf.escape, null_text="")
    if isinstance(leaf, bool):
        return "true" if leaf else "false"
    return str(leaf)


def clickhouse_shape(rows: SourceRows, variant: str) -> dict:
    shape = rows.shapes[variant]
    attributes = {k: _as_text(v) for k, v in flatten(shape["metadata"]).items()}
    severity = SEVERITY.get(rows.source, "WARNING" if variant == "reused" else "INFO")
    return {"id": Str("id", False), "timestamp": Str("clickhouse_ts", False),
            "event_message": shape["event_message"], "severity_text": severity,
            "source": rows.source, "log_attributes": attributes}


class ClickHouseWriter(ApiEnvelopeWriter):
    kind = "clickhouse"

    def lines(self, chunk: Chunk) -> dict[str, pl.Series]:
        parts = []
        for rows in hosted_sources(chunk, self.project):
            if not rows.frame.height:
                continue
            frame = rows.frame.with_columns(clickhouse_ts=pl.from_epoch(
                "ts_us", time_unit="us").dt.strftime("%Y-%m-%dT%H:%M:%S%.6f"))
            templates = {v: compile_json(clickhouse_shape(rows, v)) for v in rows.shapes}
            line = pl.coalesce([pl.when(pl.col("variant") == v).then(t.expr())
                                for v, t in templates.items()])
            parts.append(frame.select("ts_us", "id", line=line))
        if not parts:
            return {"logs": pl.Series("line", [], dtype=pl.String)}
        return {"logs": pl.concat(parts).sort("ts_us", "id")["line"]}
