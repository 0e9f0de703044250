"""JSON and text lines rendered a whole column at a time.

A row shape is written once as an ordinary Python structure whose leaves may be
`Str("column")` or `Raw("column")` placeholders. `compile_json` serialises it with the
standard library (so key order, separators and indentation are exactly what `json.dumps`
gives) and splits the text at the placeholders; `render` then fills every row with one
polars `concat_str`. No Python code runs per row.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Str:
    """A JSON string taken from a column (null → `null`, or `null_text` as a string)."""

    column: str
    escape: bool = True  # False for columns known to hold no quote, backslash or control
    null_text: str | None = None


@dataclass(frozen=True)
class Raw:
    """JSON text taken verbatim from a column: numbers, booleans, pre-rendered JSON."""

    column: str


_MARK = re.compile(r'"@@(\d+)@@"')


@dataclass(frozen=True)
class Template:
    pieces: tuple[str, ...]
    slots: tuple[Str | Raw, ...]

    def exprs(self) -> list[pl.Expr]:
        out: list[pl.Expr] = []
        for piece, slot in zip(self.pieces, self.slots, strict=False):
            if piece:
                out.append(pl.lit(piece))
            out.append(_slot_expr(slot))
        if self.pieces[-1]:
            out.append(pl.lit(self.pieces[-1]))
        return out

    def expr(self) -> pl.Expr:
        return pl.concat_str(self.exprs())


def json_escape(expr: pl.Expr) -> pl.Expr:
    """The body of a JSON string literal for a text column."""
    return (
        expr.str.replace_all("\\", "\\\\", literal=True)
        .str.replace_all('"', '\\"', literal=True)
        .str.replace_all("\n", "\\n", literal=True)
        .str.replace_all("\r", "\\r", literal=True)
        .str.replace_all("\t", "\\t", literal=True)
    )


def _slot_expr(slot: Str | Raw) -> pl.Expr:
    col = pl.col(slot.column)
    if isinstance(slot, Raw):
        return col.cast(pl.String).fill_null("null")
    text = col.cast(pl.String)
    body = json_escape(text) if slot.escape else text
    null = "null" if slot.null_text is None else json.dumps(slot.null_text)
    return pl.when(text.is_null()).then(pl.lit(null)).otherwise(pl.lit('"') + body + '"')


def compile_json(shape: object, *, indent: int | None = None, prefix: str = "") -> Template:
    """Compile a row shape; `prefix` is put after every newline (nesting in an array)."""
    slots: list[Str | Raw] = []

    def mark(node: object) -> object:
        if isinstance(node, Str | Raw):
            slots.append(node)
            return f"@@{len(slots) - 1}@@"
        if isinstance(node, dict):
            return {k: mark(v) for k, v in node.items()}
        if isinstance(node, list | tuple):
            return [mark(v) for v in node]
        return node

    marked = mark(shape)
    separators = (",", ":") if indent is None else (",", ": ")
    text = json.dumps(marked, indent=indent, separators=separators, ensure_ascii=False)
    if prefix:
        text = text.replace("\n", "\n" + prefix)
    parts = _MARK.split(text)
    pieces = tuple(parts[0::2])
    order = [int(i) for i in parts[1::2]]
    return Template(pieces, tuple(slots[i] for i in order))


def render(frame: pl.DataFrame, template: Template) -> pl.Series:
    """One rendered line per row of `frame`."""
    return frame.select(template.expr().alias("line")).to_series()
