"""One writer per export format. Each receives every simulated chunk in time order and
appends its rendering; `close()` returns the files it wrote."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import IO, Protocol

import polars as pl

from ..hosted import SourceRows
from ..simulate import Chunk, Project
from ..template import Template, compile_json


class Writer(Protocol):
    def write(self, chunk: Chunk) -> None: ...

    def close(self) -> list[Path]: ...


def render_rows(rows: SourceRows, compile_shape) -> pl.Series:
    """Every row of a source rendered with its variant's template, in time order."""
    frame = rows.frame.sort("ts_us", "id")
    if not frame.height:
        return pl.Series("line", [], dtype=pl.String)
    templates: dict[str, Template] = {v: compile_shape(s) for v, s in rows.shapes.items()}
    if len(templates) == 1:
        (only,) = templates.values()
        return frame.select(only.expr().alias("line")).to_series()
    branches = [pl.when(pl.col("variant") == v).then(t.expr()) for v, t in templates.items()]
    return frame.select(pl.coalesce(branches).alias("line")).to_series()


def compact(shape: dict) -> Template:
    return compile_json(shape)


def joined(lines: pl.Series, sep: str = "\n") -> str:
    """All lines as one string (one vectorised join, no Python loop over rows)."""
    if not len(lines):
        return ""
    return lines.str.join(sep).item()


def open_text(path: Path, *, compress: bool) -> IO[str]:
    """A text file for writing; gzip'd (`path` + .gz) with a zero mtime in the header so
    the same replay gives the same bytes."""
    if not compress:
        return open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
    raw = gzip.GzipFile(filename=str(path) + ".gz", mode="wb", mtime=0, compresslevel=6)
    return io.TextIOWrapper(raw, encoding="utf-8", newline="")


class TextFiles:
    """Append-only text files opened on first use, closed together."""

    def __init__(self, out_dir: Path, *, compress: bool = False) -> None:
        self.out_dir = out_dir
        self.compress = compress
        self.handles: dict[str, IO[str]] = {}
        self.order: list[str] = []

    def append(self, name: str, text: str) -> None:
        if name not in self.handles:
            self.handles[name] = open_text(self.out_dir / name, compress=self.compress)
            self.order.append(name)
        if text:
            self.handles[name].write(text)

    def is_open(self, name: str) -> bool:
        return name in self.handles

    def close(self) -> list[Path]:
        for name in self.order:
            self.handles[name].close()
        suffix = ".gz" if self.compress else ""
        return [self.out_dir / (name + suffix) for name in self.order]


__all__ = ["Chunk", "Project", "TextFiles", "Writer", "compact", "joined", "open_text",
           "render_rows"]
