"""Finding input files, undoing compression, and taking the sample that formats are
sniffed from. Compression is recognised by magic bytes, never by the file name."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import json
import lzma
import os
import re
import shutil
import sys
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import InputError

SAMPLE_BYTES = 256 * 1024

# Sidecar files that live beside exported logs (our own replays put a manifest and a
# README next to the logs); a directory walk passes over them, an explicit path does not.
SIDECAR_NAMES = frozenset({"manifest.json", "readme", "license"})
SIDECAR_SUFFIXES = frozenset({".md", ".toml", ".rst", ".html", ".png", ".svg", ".ipynb"})

_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
}


@dataclass(frozen=True)
class Sample:
    """The start of a (decompressed) file: what formats are sniffed from."""

    text: str
    lines: tuple[str, ...]
    """Non-empty lines of the sample, the last (possibly cut) line dropped when the
    sample did not reach the end of the file."""
    complete: bool
    """True when the sample holds the whole file."""

    @property
    def first_char(self) -> str:
        stripped = self.text.lstrip("\ufeff \t\r\n")
        return stripped[:1]


STDIN_PATH = "-"
STDIN_DISPLAY = "<stdin>"


def spool_stdin(
    paths: Iterable[str | os.PathLike[str]], workdir: Path, stdin: BinaryIO | None = None
) -> tuple[list[str | os.PathLike[str]], dict[Path, str]]:
    """`-` among the paths reads standard input (`docker logs db 2>&1 | loganalyze ingest -`):
    it is copied to a file in `workdir`, since sniffing and DuckDB's readers read a file.
    Returns the paths with `-` replaced, and the display name of each spooled file."""
    out: list[str | os.PathLike[str]] = []
    shown: dict[Path, str] = {}
    for raw in paths:
        if os.fspath(raw) != STDIN_PATH:
            out.append(raw)
            continue
        if shown:
            raise InputError("standard input given twice", hint="pass - once", file=STDIN_DISPLAY)
        source = stdin if stdin is not None else sys.stdin.buffer
        if source.isatty():
            raise InputError(
                "standard input is a terminal, not a log stream",
                hint="pipe the logs in: docker logs supabase-db 2>&1 | loganalyze ingest -",
                file=STDIN_DISPLAY,
            )
        spooled = workdir / "stdin"
        with spooled.open("wb") as fh:
            shutil.copyfileobj(source, fh, 1 << 20)
        shown[spooled] = STDIN_DISPLAY
        out.append(spooled)
    return out, shown


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files to ingest, in a stable order: explicit files as given, directories walked
    recursively (sorted), hidden files and known sidecar files passed over."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if not child.is_file():
                    continue
                rel = child.relative_to(path)
                if any(part.startswith(".") for part in rel.parts):
                    continue
                if child.name.lower() in SIDECAR_NAMES or child.suffix.lower() in SIDECAR_SUFFIXES:
                    continue
                out.append(child)
        elif path.is_file():
            out.append(path)
        elif path.exists():
            raise InputError("not a regular file or directory", file=str(path))
        else:
            raise InputError("no such file or directory", file=str(path))
    seen: set[Path] = set()
    unique: list[Path] = []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def compression_of(path: Path) -> str | None:
    with path.open("rb") as fh:
        head = fh.read(8)
    for magic, name in _MAGIC.items():
        if head.startswith(magic):
            return name
    return None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def plain_file(path: Path, workdir: Path) -> Iterator[Path]:
    """Yield a path to the uncompressed content of `path` (the file itself when it is
    not compressed). Truncated or corrupt archives fail naming the file."""
    kind = compression_of(path)
    if kind is None:
        yield path
        return
    opener = {"gzip": gzip.open, "bzip2": bz2.open, "xz": lzma.open}[kind]
    fd, tmp_name = tempfile.mkstemp(prefix="plain-", suffix=".log", dir=workdir)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, opener(path, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
    except (EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(
            f"cannot decompress ({kind}): {exc or 'truncated archive'}",
            hint="the archive is truncated or corrupt; download the export again",
            file=str(path),
        ) from None
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def take_sample(path: Path, display: str) -> Sample:
    """Read the first bytes of a plain file; binary content fails here."""
    with path.open("rb") as fh:
        head = fh.read(SAMPLE_BYTES + 1)
    complete = len(head) <= SAMPLE_BYTES
    head = head[:SAMPLE_BYTES]
    if b"\x00" in head[:8192]:
        raise InputError(
            "binary content (NUL bytes), not a text log export",
            hint="pass the exported .json/.csv/.log file (compressed .gz/.bz2/.xz is fine)",
            file=display,
        )
    text = head.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if not complete and lines:
        lines = lines[:-1]
    return Sample(text=text, lines=tuple(ln for ln in lines if ln.strip()), complete=complete)


def first_object_keys(sample: Sample) -> set[str]:
    """Keys of the first JSON object in the sample (array element or first line)."""
    text = sample.text.lstrip("\ufeff \t\r\n")
    if text.startswith("["):
        text = text[1:].lstrip()
    if not text.startswith("{"):
        return set()
    try:
        obj, _ = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError:
        # The first object is cut by the sample's end: take the top-level keys seen.
        return set(re.findall(r'^\s{0,4}"([A-Za-z_][\w.]*)"\s*:', text[:65536], flags=re.M)) | set(
            re.findall(r'[{,]\s*"([A-Za-z_][\w.]*)"\s*:', text[:2000])
        )
    return set(obj) if isinstance(obj, dict) else set()
