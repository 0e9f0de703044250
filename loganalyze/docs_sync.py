"""Keeps the detector list in README.md in step with queries/ (the headers are the
source): `python -m loganalyze.docs_sync` rewrites it; tests/test_docs.py checks it."""

from __future__ import annotations

import sys
from pathlib import Path

BEGIN = "<!-- detector-list:begin (python -m loganalyze.docs_sync) -->"
END = "<!-- detector-list:end -->"
README = Path(__file__).resolve().parents[1] / "README.md"


def detector_list() -> str:
    from .detectors import list_detectors

    lines = ["| detector | title | parameters |", "|---|---|---|"]
    for spec in sorted(list_detectors(), key=lambda s: (s.rank, s.name)):
        params = ", ".join(f"`{p.name}`" for p in spec.params) or "-"
        lines.append(f"| `{spec.name}` | {spec.title} | {params} |")
    return "\n".join(lines)


def replace_marked(text: str, begin: str, end: str, body: str) -> str:
    """`text` with what stands between the marker lines `begin` and `end` replaced."""
    head, sep, rest = text.partition(begin)
    _, sep2, tail = rest.partition(end)
    if not sep or not sep2:
        raise ValueError(f"markers not found: {begin} … {end}")
    return head + begin + "\n" + body + "\n" + end + tail


def with_detector_list(text: str) -> str:
    return replace_marked(text, BEGIN, END, detector_list())


if __name__ == "__main__":
    README.write_text(with_detector_list(README.read_text(encoding="utf-8")), encoding="utf-8")
    sys.stdout.write(f"wrote {README}\n")
