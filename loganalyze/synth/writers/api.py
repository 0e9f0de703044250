"""Management API pulls (`GET /v1/projects/{ref}/analytics/endpoints/logs.all`): each file
is one response envelope `{"result":[...],"error":null}`, pages of at most `page_rows`
rows, never spanning more than the API's 24-hour limit."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ..hosted import hosted_sources
from ..simulate import US
from . import Chunk, Project, compact, joined, open_text, render_rows

DAY_US = 24 * 3600 * US


class ApiEnvelopeWriter:
    def __init__(self, out_dir: Path, project: Project, *, compress: bool = False,
                 page_rows: int = 1000) -> None:
        self.out_dir = out_dir
        self.compress = compress
        self.project = project
        self.page_rows = page_rows
        self.pending: dict[str, list[pl.Series]] = {}
        self.pending_rows: dict[str, int] = {}
        self.page_start: dict[str, int] = {}
        self.pages: dict[str, int] = {}
        self.written: list[Path] = []

    def write(self, chunk: Chunk) -> None:
        for rows in hosted_sources(chunk, self.project):
            source = rows.source
            self.pending.setdefault(source, [])
            self.pending_rows.setdefault(source, 0)
            self.page_start.setdefault(source, chunk.start_us)
            if chunk.end_us - self.page_start[source] > DAY_US:
                self._flush(source, everything=True)
                self.page_start[source] = chunk.start_us
            lines = render_rows(rows, compact)
            if len(lines):
                self.pending[source].append(lines)
                self.pending_rows[source] += len(lines)
            self._flush(source, everything=False)

    def _flush(self, source: str, *, everything: bool) -> None:
        if not self.pending[source]:
            return
        lines = pl.concat(self.pending[source])
        cut = len(lines) if everything else len(lines) // self.page_rows * self.page_rows
        for lo in range(0, cut, self.page_rows):
            page = lines.slice(lo, min(self.page_rows, cut - lo))
            self.pages[source] = self.pages.get(source, 0) + 1
            path = self.out_dir / f"{source}.api.{self.pages[source]:04d}.json"
            with open_text(path, compress=self.compress) as handle:
                handle.write('{"result":[' + joined(page, ",") + '],"error":null}')
            self.written.append(path.with_name(path.name + ".gz") if self.compress else path)
        rest = lines.slice(cut)
        self.pending[source] = [rest] if len(rest) else []
        self.pending_rows[source] = len(rest)

    def close(self) -> list[Path]:
        for source in sorted(self.pending):
            self._flush(source, everything=True)
        return self.written
