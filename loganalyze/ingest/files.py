"""Finding input files, undoing compression, and taking the sample that formats are
sniffed from. Compression is recognised by magic bytes, never by the file name."""

from __future__ import annotations

import bz2
import codecs
import errno
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ..errors import InputError

SAMPLE_BYTES = 256 * 1024
MAX_FIRST_LINE = 64 * 1024 * 1024
"""A first line longer than the sample (one huge row) is read whole up to this size, so
the formats are sniffed from a complete row; DuckDB's readers take rows up to 64 MB."""
_BLOCK = 1 << 20

ENCODING_HINT = (
    "exports are UTF-8; if this file is in another encoding, say which: "
    "--encoding latin-1 (or cp1252, utf-16, …)"
)

MAX_INVALID_UTF8_LINES = 1000
"""Lines with invalid UTF-8 that are set aside as rejected rows; beyond this, or beyond
1 % of the lines, the file is taken to be in another encoding and fails, naming it."""

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
    first_line: int = 1
    """Line number (in the file) of the sample's first line: leading blank lines are
    passed over, however many."""

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


@contextmanager
def reading(path: Path, display: str | None = None) -> Iterator[None]:
    """An OSError while reading an input (unreadable, vanished, an I/O error) becomes
    InputError naming the file and the reason."""
    try:
        yield
    except OSError as exc:
        raise InputError(
            f"cannot read: {exc.strerror or exc}", file=display or str(path)
        ) from None


def compression_of(path: Path) -> str | None:
    with reading(path), path.open("rb") as fh:
        head = fh.read(8)
    for magic, name in _MAGIC.items():
        if head.startswith(magic):
            return name
    return None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with reading(path), path.open("rb") as fh:
        for block in iter(lambda: fh.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


# ------------------------------------------------------------------ work directory

WORKDIR_PREFIX = "loganalyze-"
# loganalyze-<pid>-xxxx (ingest) and loganalyze-spill-<pid>-xxxx (store): the pid says
# whether the process that made it still runs.
_OWNED_DIR = re.compile(r"^loganalyze-(?:spill-)?(\d+)-")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def remove_stale_workdirs(parent: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove temporary directories left by loganalyze processes that no longer run
    (`kill -9` during an ingest of a .gz leaves its decompressed copy behind)."""
    removed = []
    base = Path(parent or tempfile.gettempdir())
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    for entry in entries:
        found = _OWNED_DIR.match(entry.name)
        if not found or int(found.group(1)) == os.getpid() or _process_alive(int(found.group(1))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


@contextmanager
def work_directory() -> Iterator[Path]:
    """A private temporary directory for one ingest (decompressed copies, standard
    input), removed at the end however the ingest ends; stale ones of dead processes
    are removed first."""
    remove_stale_workdirs()
    with tempfile.TemporaryDirectory(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-") as tmp:
        yield Path(tmp)


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
            shutil.copyfileobj(src, out, _BLOCK)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise  # the disk, not the archive: reported as a full disk
        raise InputError(
            f"cannot decompress ({kind}): {exc or 'truncated archive'}",
            hint="the archive is truncated or corrupt; download the export again",
            file=str(path),
        ) from None
    except (EOFError, zlib.error, lzma.LZMAError) as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(
            f"cannot decompress ({kind}): {exc or 'truncated archive'}",
            hint="the archive is truncated or corrupt; download the export again",
            file=str(path),
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


# ------------------------------------------------------------------ encodings


@dataclass
class TextFile:
    """A plain file in UTF-8 as readers get it, and the lines set aside on the way."""

    path: Path
    invalid_lines: list[tuple[int, str]]
    """(line number, the line's text with its bad bytes shown as \\xNN) of lines that are
    not valid UTF-8: blanked in `path`, to be kept as rejected rows."""
    repaired_lines: list[int] = field(default_factory=list)
    """Lines inside a JSON document (an array export, a pretty-printed object) whose bad
    bytes were written as INVALID_BYTE_MARK + two hex digits instead of blanking the line,
    which would break the document: the row holding them is rejected when staged."""


@contextmanager
def utf8_text(plain: Path, workdir: Path, display: str, encoding: str | None = None) -> Iterator[TextFile]:
    """The file as UTF-8 text for DuckDB's readers, which refuse a whole file over one
    bad byte.

    With `encoding` the file is transcoded. Otherwise it is checked (streamed, at C
    speed): a few lines of invalid UTF-8 (a mangled value) are blanked in a copy and
    reported as rejected rows; many (a file in Latin-1 or Windows-1252) fail naming the
    first one and the option to use."""
    if encoding is not None:
        with _transcoded(plain, workdir, display, encoding) as path:
            yield TextFile(path, [])
        return
    with reading(plain, display):
        invalid, lines = _invalid_utf8_lines(plain)
    if not invalid:
        yield TextFile(plain, [])
        return
    in_document = _json_document_lines(plain, {line for line, _ in invalid})
    by_line = [(line, text) for line, text in invalid if line not in in_document]
    marked = sum(text.count("\\x") for line, text in invalid if line in in_document)
    if (
        len(invalid) > MAX_INVALID_UTF8_LINES
        or len(by_line) > max(1, lines // 100)
        or marked > MAX_INVALID_UTF8_LINES
    ):
        line, text = invalid[0]
        raise InputError(
            f"not UTF-8: {len(invalid):,} of {lines:,} lines hold bytes that are not UTF-8 "
            f"(first: {text[:80]!r})",
            hint=ENCODING_HINT,
            file=display,
            line=line,
        )
    bad = {line for line, _ in invalid}
    fd, name = tempfile.mkstemp(prefix="utf8-", suffix=".log", dir=workdir)
    copy = Path(name)
    try:
        with reading(plain, display), os.fdopen(fd, "wb") as out, plain.open("rb") as src:
            for number, raw in enumerate(src, start=1):
                # only a file with a few bad lines comes here; its good lines are copied
                # as they are, each bad one becomes an empty line (numbering kept), or,
                # inside a JSON document, keeps its place with its bad bytes marked
                if number not in bad:
                    out.write(raw)
                elif number in in_document:
                    out.write(raw.decode("utf-8", errors=_MARK_ERRORS).encode("utf-8"))
                else:
                    out.write(raw[len(raw.rstrip(b"\r\n")):])
        yield TextFile(copy, by_line, sorted(in_document))
    finally:
        copy.unlink(missing_ok=True)


INVALID_BYTE_MARK = "\ufdd0"
"""A Unicode noncharacter (reserved for a program's internal use, never interchanged):
in a repaired JSON document each byte that is not UTF-8 becomes this mark and the byte in
two hex digits, so the row can be found, rejected, and shown with the byte as \\xNN."""


def _mark_invalid_bytes(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return "".join(f"{INVALID_BYTE_MARK}{byte:02x}" for byte in bad), error.end


_MARK_ERRORS = "loganalyze-mark-invalid-bytes"
codecs.register_error(_MARK_ERRORS, _mark_invalid_bytes)


def _json_document_lines(path: Path, bad: set[int]) -> set[int]:
    """Which of the `bad` lines are inside a JSON document rather than being a row of
    their own: every one when the file opens with `[` or is one line; when it opens with
    `{`, those that do not parse as one object (NDJSON rows stay line by line, a
    pretty-printed object's lines do not)."""
    with path.open("rb") as fh:
        head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        if not head or head[:1] not in b"[{":
            return set()
        if head[:1] == b"[":
            return set(bad)
        fh.seek(0)
        while not fh.readline().strip():
            pass
        if not any(line.strip() for line in fh):
            return set(bad)  # one object on one line: an API page, not NDJSON
        fh.seek(0)
        inside: set[int] = set()
        for number, raw in enumerate(fh, start=1):
            if number in bad:
                try:
                    row = json.loads(raw.decode("utf-8", errors="replace"))
                except (ValueError, RecursionError):
                    row = None
                if not isinstance(row, dict):
                    inside.add(number)
        return inside


def _invalid_utf8_lines(path: Path) -> tuple[list[tuple[int, str]], int]:
    """Lines of `path` that are not valid UTF-8 (at most MAX_INVALID_UTF8_LINES + 1 of
    them), and the file's number of lines (0 when every line is valid). A valid file is
    decoded block by block and nothing else; only an invalid one is scanned for lines."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        try:
            for block in iter(lambda: fh.read(_BLOCK), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
            return [], 0
        except UnicodeDecodeError:
            pass
    return _scan_invalid_lines(path)


def _scan_invalid_lines(path: Path) -> tuple[list[tuple[int, str]], int]:
    """Blocks cut at line ends are decoded whole; only a block that fails is looked at
    line by line."""
    invalid: list[tuple[int, str]] = []
    lines = 0
    carry = b""
    with path.open("rb") as fh:
        while True:
            block = fh.read(_BLOCK)
            data = carry + block
            if block:
                cut = data.rfind(b"\n") + 1
                data, carry = data[:cut], data[cut:]
            else:
                carry = b""
            if data:
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError:
                    if len(invalid) <= MAX_INVALID_UTF8_LINES:
                        invalid.extend(_bad_lines(data, lines))
                lines += data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
            if not block:
                return invalid, lines


def _bad_lines(data: bytes, before: int) -> Iterator[tuple[int, str]]:
    for offset, raw in enumerate(data.split(b"\n"), start=before + 1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            yield offset, raw.decode("utf-8", errors="backslashreplace").rstrip("\r")


@contextmanager
def _transcoded(plain: Path, workdir: Path, display: str, encoding: str) -> Iterator[Path]:
    import codecs

    try:
        codecs.lookup(encoding)
    except LookupError:
        from ..errors import UsageError

        raise UsageError(f"unknown encoding {encoding!r}", hint="e.g. latin-1, cp1252, utf-16") from None
    fd, name = tempfile.mkstemp(prefix="recoded-", suffix=".log", dir=workdir)
    copy = Path(name)
    try:
        with reading(plain, display), os.fdopen(fd, "w", encoding="utf-8") as out, plain.open(
            "r", encoding=encoding, newline=""
        ) as src:
            shutil.copyfileobj(src, out, _BLOCK)
    except UnicodeDecodeError as exc:
        copy.unlink(missing_ok=True)
        raise InputError(
            f"not {encoding}: {exc.reason}", hint="check the --encoding", file=display
        ) from None
    try:
        yield copy
    finally:
        copy.unlink(missing_ok=True)


def take_sample(path: Path, display: str) -> Sample:
    """Read the first bytes of a plain file; binary content fails here.

    The sample starts at the first non-blank line (a file may open with any number of
    blank lines), without a byte-order mark, and holds at least one whole line (up to
    MAX_FIRST_LINE) so a huge first row is sniffed like any other."""
    with reading(path, display), path.open("rb") as fh:
        head, skipped_lines = _skip_blank_start(fh)
        if len(head) <= SAMPLE_BYTES:
            head += fh.read(SAMPLE_BYTES + 1 - len(head))
        newline = head.find(b"\n", 0, SAMPLE_BYTES)
        if newline < 0 and len(head) > SAMPLE_BYTES:
            head = _through_first_line(fh, head)
            newline = head.find(b"\n")
        keep = max(SAMPLE_BYTES, newline + 1)
        complete = len(head) <= keep and not fh.read(1)
    head = head[:keep]
    if b"\x00" in head[:8192]:
        raise InputError(
            "binary content (NUL bytes), not a text log export",
            hint="pass the exported .json/.csv/.log file (compressed .gz/.bz2/.xz is fine)",
            file=display,
        )
    text = head.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if not complete and lines and not text.endswith("\n"):
        lines = lines[:-1]
    shallow = [ln for ln in lines if not _too_deep(ln)]
    if len(shallow) < len(lines) and any(ln.strip() for ln in shallow):
        # a hostile row nested deeper than Python's json module goes would break the
        # sniffers and readers that look at sample rows; DuckDB reads the row itself
        # (a sample of nothing but such rows is kept: it fails to sniff, loudly)
        lines = shallow
        text = "\n".join(lines) + "\n"
    return Sample(
        text=text,
        lines=tuple(ln for ln in lines if ln.strip()),
        complete=complete,
        first_line=skipped_lines + 1,
    )


_BOM = b"\xef\xbb\xbf"
_DEEP_BRACKETS = 400


def _too_deep(line: str) -> bool:
    """A JSON line nested too deep for Python's json module (its recursion limit).
    Only lines with many brackets are parsed to find out (str.count runs at C speed)."""
    if line.count("[") + line.count("{") <= _DEEP_BRACKETS:
        return False
    try:
        json.loads(line)
    except RecursionError:
        return True
    except ValueError:
        return False
    return False


def _skip_blank_start(fh: BinaryIO) -> tuple[bytes, int]:
    """Pass over a byte-order mark and leading blank lines (streamed: a file of blank
    lines is read in blocks, never held). Returns the bytes read past them and the
    number of blank lines passed over."""
    skipped = 0
    first = True
    while True:
        block = fh.read(_BLOCK)
        if first and block.startswith(_BOM):
            block = block[len(_BOM):]
        first = False
        if not block:
            return b"", skipped
        stripped = block.lstrip(b" \t\r\n")
        if stripped:
            passed = block[: len(block) - len(stripped)]
            # keep the indentation of the first non-blank line
            line_start = passed.rfind(b"\n") + 1
            skipped += passed.count(b"\n")
            return block[line_start:], skipped
        skipped += block.count(b"\n")


def _through_first_line(fh: BinaryIO, head: bytes) -> bytes:
    """Read on until the first line ends (or MAX_FIRST_LINE), then one byte more, so the
    sample can tell whether the file goes on."""
    parts = [head]
    size = len(head)
    while size < MAX_FIRST_LINE:
        block = fh.read(_BLOCK)
        if not block:
            break
        parts.append(block)
        size += len(block)
        if b"\n" in block:
            break
    return b"".join(parts)


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


def leading_json_values(sample: Sample, limit: int) -> list[object]:
    """The complete JSON values at the start of the sample, up to `limit`: the elements
    of an array, or values one after another (pretty-printed objects, JSON lines)."""
    text = sample.text.lstrip("\ufeff \t\r\n")
    if text.startswith("["):
        text = text[1:]
    decoder = json.JSONDecoder()
    out: list[object] = []
    pos = 0
    while len(out) < limit:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        try:
            obj, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            break
        out.append(obj)
    return out
