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


def with_detector_list(text: str) -> str:
    head, sep, rest = text.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise ValueError("README.md lacks the detector-list markers")
    return head + BEGIN + "\n" + detector_list() + "\n" + END + tail


if __name__ == "__main__":
    README.write_text(with_detector_list(README.read_text(encoding="utf-8")), encoding="utf-8")
    sys.stdout.write(f"wrote {README}\n")
