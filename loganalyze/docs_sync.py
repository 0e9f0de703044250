"""Every generated block of the docs, written from the code in one place.

- README.md: the detector list (from the detector headers);
- queries/README.md: the detector table with parameters, subjects and declared metrics;
- docs/schema.md: the normalized tables (from the comments in schema.sql).

`python -m loganalyze.docs_sync` rewrites them; `python -m loganalyze.docs_sync --check`
lists the stale ones and exits 1 (tests/test_docs.py runs the same check).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from .detectors import list_detectors
from .schema_doc import markdown as schema_markdown

REPO = Path(__file__).resolve().parents[1]
README_BEGIN = "<!-- detector-list:begin (python -m loganalyze.docs_sync) -->"
README_END = "<!-- detector-list:end -->"
QUERIES_BEGIN = "<!-- detectors:begin (python -m loganalyze.docs_sync) -->"
QUERIES_END = "<!-- detectors:end -->"


def detector_list() -> str:
    lines = ["| detector | title | parameters |", "|---|---|---|"]
    for spec in list_detectors():
        params = ", ".join(f"`{p.name}`" for p in spec.params) or "-"
        lines.append(f"| `{spec.name}` | {spec.title} | {params} |")
    return "\n".join(lines)


def detector_table() -> str:
    """The detector table of queries/README.md."""
    lines = [
        "| rank | name | title | parameters (type = default) | subject | metrics (kind) | needs |",
        "|---:|---|---|---|---|---|---|",
    ]
    for spec in list_detectors():
        params = "<br>".join(
            f"`{p.name}`: {p.type} = `{_default_text(p.default)}`".replace("|", "\\|")
            for p in spec.params
        )
        metrics = ", ".join(f"{m.name} ({m.kind})" for m in spec.metric_specs)
        needs = "; ".join(" or ".join(group) for group in spec.needs) or "-"
        lines.append(
            f"| {spec.rank} | `{spec.name}` | {spec.title} | {params or '-'} | "
            f"{', '.join(spec.subject) or '-'} | {metrics} | {needs} |"
        )
    return "\n".join(lines)


def _default_text(value: object) -> str:
    from .timeparse import format_duration

    if value is None:
        return "null"
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def replace_marked(text: str, begin: str, end: str, body: str) -> str:
    """`text` with what stands between the marker lines `begin` and `end` replaced."""
    head, sep, rest = text.partition(begin)
    _, sep2, tail = rest.partition(end)
    if not sep or not sep2:
        raise ValueError(f"markers not found: {begin} … {end}")
    return head + begin + "\n" + body + "\n" + end + tail


def _marked(begin: str, end: str, body: Callable[[], str]) -> Callable[[str], str]:
    return lambda text: replace_marked(text, begin, end, body())


GENERATED: dict[str, Callable[[str], str]] = {
    "README.md": _marked(README_BEGIN, README_END, detector_list),
    "queries/README.md": _marked(QUERIES_BEGIN, QUERIES_END, detector_table),
    "docs/schema.md": lambda _text: schema_markdown(),
}
"""Each generated file (relative to the repository) → its text made current."""


def stale(root: Path = REPO) -> list[str]:
    """The generated files whose text differs from what the code generates."""
    out = []
    for name, regenerate in GENERATED.items():
        text = (root / name).read_text(encoding="utf-8")
        if regenerate(text) != text:
            out.append(name)
    return out


def write(root: Path = REPO) -> list[str]:
    """Rewrite every stale generated file; returns their names."""
    changed = stale(root)
    for name in changed:
        path = root / name
        path.write_text(GENERATED[name](path.read_text(encoding="utf-8")), encoding="utf-8")
    return changed


def _main(argv: list[str]) -> int:
    if argv == ["--check"]:
        names = stale()
        for name in names:
            sys.stdout.write(f"stale: {name}\n")
        return 1 if names else 0
    if argv:
        sys.stdout.write("usage: python -m loganalyze.docs_sync [--check]\n")
        return 2
    for name in write():
        sys.stdout.write(f"wrote {name}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
