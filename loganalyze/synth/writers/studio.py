"""Studio Logs Explorer downloads: "Download JSON" and "Download CSV".

JSON is `JSON.stringify(rows, null, 2)`: a pretty-printed array of row objects with the
nested metadata kept. CSV is Papa.unparse of the same rows: header from the first row's
keys, nested values (and nulls) JSON-stringified into one cell, CRLF line ends.
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from ..hosted import SourceRows, hosted_sources
from ..template import Raw, Str, compile_json
from . import Chunk, Project, TextFiles, joined, render_rows


class StudioJsonWriter:
    def __init__(self, out_dir: Path, project: Project, *, compress: bool = False) -> None:
        self.files = TextFiles(out_dir, compress=compress)
        self.project = project
        self.started: set[str] = set()

    def write(self, chunk: Chunk) -> None:
        for rows in hosted_sources(chunk, self.project):
            lines = render_rows(rows, lambda s: compile_json(s, indent=2, prefix="  "))
            name = f"{rows.source}.studio.json"
            if not len(lines):  # Studio offers no download of an empty result
                continue
            lead = ",\n  " if name in self.started else "[\n  "
            self.started.add(name)
            self.files.append(name, lead + joined(lines, ",\n  "))

    def close(self) -> list[Path]:
        for name in sorted(self.started):
            self.files.append(name, "\n]")
        return self.files.close()


def csv_cells(rows: SourceRows) -> pl.DataFrame:
    """One column per top-level key: scalars as text, nested values as compact JSON."""
    frame = rows.frame.sort("ts_us", "id")
    shape = next(iter(rows.shapes.values()))
    columns = []
    for key in shape:
        per_variant = []
        for variant, full in rows.shapes.items():
            value = full[key]
            if isinstance(value, Str | Raw):
                expr = pl.col(value.column).cast(pl.String)
            elif isinstance(value, dict | list):
                expr = compile_json(value).expr()
            else:
                expr = pl.lit(value)
            per_variant.append(pl.when(pl.col("variant") == variant).then(expr))
        columns.append(pl.coalesce(per_variant).alias(key))
    return frame.select(columns)


class StudioCsvWriter:
    def __init__(self, out_dir: Path, project: Project, *, compress: bool = False) -> None:
        self.files = TextFiles(out_dir, compress=compress)
        self.project = project

    def write(self, chunk: Chunk) -> None:
        for rows in hosted_sources(chunk, self.project):
            name = f"{rows.source}.studio.csv"
            first = not self.files.is_open(name)
            if not rows.frame.height:
                continue
            buffer = io.StringIO()
            csv_cells(rows).write_csv(buffer, include_header=first, quote_style="necessary",
                                      null_value="null", line_terminator="\r\n")
            self.files.append(name, buffer.getvalue())

    def close(self) -> list[Path]:
        return self.files.close()
