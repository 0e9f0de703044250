"""Supabase log drain as NDJSON: one raw event per line, one file per source."""

from __future__ import annotations

from pathlib import Path

from ..hosted import hosted_sources
from . import Chunk, Project, TextFiles, compact, joined, render_rows


class DrainWriter:
    suffix = "drain.ndjson"

    def __init__(self, out_dir: Path, project: Project, *, compress: bool = False) -> None:
        self.files = TextFiles(out_dir, compress=compress)
        self.project = project

    def write(self, chunk: Chunk) -> None:
        for rows in hosted_sources(chunk, self.project):
            text = joined(render_rows(rows, compact))
            if text:  # a source with no rows gets no file, as a drain would deliver none
                self.files.append(f"{rows.source}.{self.suffix}", text + "\n")

    def close(self) -> list[Path]:
        return self.files.close()
