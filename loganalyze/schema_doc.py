"""Column documentation of the normalized tables, read from the comments in schema.sql
(the one place it is written). `python -m loganalyze.docs_sync` regenerates
docs/schema.md; a test keeps the two in step."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .store import schema_sql

_TABLE = re.compile(r"^CREATE TABLE IF NOT EXISTS (\w+) \($")
_COLUMN = re.compile(r"^\s+(\w+)\s+([A-Z]+(?:\([^)]*\))?)[^-]*?(?:--\s*(.*))?$")


@dataclass(frozen=True)
class ColumnDoc:
    name: str
    type: str
    doc: str


def column_docs() -> dict[str, list[ColumnDoc]]:
    """table -> its columns in order, with type and meaning."""
    out: dict[str, list[ColumnDoc]] = {}
    current: list[ColumnDoc] | None = None
    for line in schema_sql().splitlines():
        table = _TABLE.match(line)
        if table:
            current = out.setdefault(table.group(1), [])
            continue
        if current is None:
            continue
        if line.startswith(")"):
            current = None
            continue
        col = _COLUMN.match(line)
        if col:
            current.append(ColumnDoc(col.group(1), col.group(2), (col.group(3) or "").strip()))
    return out


def table_docs() -> dict[str, str]:
    """table -> the comment line just above its CREATE TABLE."""
    out: dict[str, str] = {}
    previous = ""
    for line in schema_sql().splitlines():
        table = _TABLE.match(line)
        if table:
            out[table.group(1)] = previous.lstrip("- ").strip() if previous.startswith("--") else ""
        previous = line
    return out


def markdown() -> str:
    parts = [
        "# The normalized tables",
        "",
        "Generated from the comments in `loganalyze/schema.sql` by "
        "`python -m loganalyze.docs_sync`; `loganalyze schema` prints the same.",
        "All timestamps are `TIMESTAMPTZ` in UTC; every log table has `id` (unique within the "
        "table: re-ingesting a file adds nothing), `ts` and `file_id`.",
        "",
    ]
    summaries = table_docs()
    for table, columns in column_docs().items():
        parts += [f"## `{table}`", ""]
        if summaries.get(table):
            parts += [summaries[table], ""]
        parts += ["| column | type | meaning |", "|---|---|---|"]
        parts += [f"| `{c.name}` | {c.type} | {c.doc.replace('|', '/')} |" for c in columns]
        parts.append("")
    return "\n".join(parts)

