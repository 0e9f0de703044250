"""Drain request bodies: undoing Content-Encoding within the size limit, and turning a
body into the canonical form the spool keeps — one JSON array of events — plus the parts
that cannot be read, as rejected rows.

The common case costs one validating pass of msgspec over the body (the array as sent,
or NDJSON joined into an array by one regular-expression pass), which checks the JSON
syntax and counts the top-level elements without building Python objects for them (about
ten times the speed of `json.loads`). The per-element and per-line walks below run only
for malformed bodies, which are bounded by the body size limit.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field

import msgspec

RAW_KEEP_CHARS = 1 << 20
"""Rejected text longer than this is cut (and says so): a 16 MB garbage body is kept
as evidence, not as a 16 MB row."""


class BodyTooLarge(Exception):
    pass


class UnsupportedEncoding(Exception):
    pass


@dataclass(frozen=True)
class Reject:
    line: int | None
    reason: str
    raw: str


@dataclass
class DrainBody:
    events: bytes = b"[]"
    """A JSON array (as bytes) of every readable event, in the order sent."""
    count: int = 0
    rejects: list[Reject] = field(default_factory=list)
    malformed: str | None = None
    """Why the body is not entirely readable (answered with 400), else None."""


def decode_content(raw: bytes, encoding: str | None, limit: int) -> bytes:
    """The body without its Content-Encoding, never more than `limit` bytes (a small
    gzip body may expand without bound)."""
    enc = (encoding or "identity").strip().lower()
    if enc in ("identity", ""):
        if len(raw) > limit:
            raise BodyTooLarge
        return raw
    if enc in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif enc == "deflate":
        wbits = zlib.MAX_WBITS
    else:
        raise UnsupportedEncoding(enc)
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise ValueError(f"cannot decompress ({enc}): {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise BodyTooLarge
    if not inflater.eof:
        raise ValueError(f"cannot decompress ({enc}): truncated")
    return out


_ELEMENTS = msgspec.json.Decoder(list[msgspec.Raw])
_ONE_VALUE = msgspec.json.Decoder(msgspec.Raw)
_BETWEEN_LINES = re.compile(rb"\n\s*")


class Malformed(ValueError):
    pass


def _check_text(text: bytes) -> None:
    # msgspec checks the JSON grammar but not the bytes inside strings
    if not text.isascii():
        try:
            text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Malformed(f"not UTF-8 (byte {exc.start})") from None


def _count_elements(text: bytes) -> int:
    """Elements of the JSON array `text`; Malformed when it is not valid JSON."""
    try:
        count = len(_ELEMENTS.decode(text))
    except (msgspec.DecodeError, RecursionError) as exc:
        raise Malformed(str(exc).removeprefix("JSON is malformed: ")) from None
    _check_text(text)
    return count


def _check_value(text: bytes) -> None:
    try:
        _ONE_VALUE.decode(text)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise Malformed(str(exc).removeprefix("JSON is malformed: ")) from None
    _check_text(text)


def parse_drain_body(body: bytes) -> DrainBody:
    """A JSON array, a single JSON object, or NDJSON (one object per line)."""
    text = body.removeprefix(b"\xef\xbb\xbf").strip(b" \t\r\n")
    if not text:
        return DrainBody(malformed="empty body", rejects=[Reject(None, "empty body", "")])
    if text.startswith(b"["):
        try:
            return DrainBody(events=text, count=_count_elements(text))
        except Malformed as whole:
            return _salvage_array(text, whole)
    if text.startswith(b"{"):
        try:
            _check_value(text)
        except Malformed:
            return _parse_ndjson(text)
        return DrainBody(events=b"[" + text + b"]", count=1)
    reason = "not a JSON array or object"
    try:
        _check_value(text)
    except Malformed as exc:
        reason = "malformed JSON: " + str(exc)
    return DrainBody(malformed=reason, rejects=[Reject(1, reason, _keep(text))])


def _parse_ndjson(text: bytes) -> DrainBody:
    # JSON strings cannot hold a raw newline, so every newline separates two documents;
    # a plain replace is the fast path (\r and trailing blanks are JSON whitespace), the
    # regular expression handles blank lines.
    for joined in (
        b"[" + text.replace(b"\n", b",") + b"]",
        b"[" + _BETWEEN_LINES.sub(b",", text) + b"]",
    ):
        try:
            return DrainBody(events=joined, count=_count_elements(joined))
        except Malformed:
            continue
    return _salvage_lines(text)


def _salvage_lines(text: bytes) -> DrainBody:
    """NDJSON with unreadable lines: the readable ones are kept as events, the others as
    rejected rows naming their line."""
    good: list[bytes] = []
    rejects: list[Reject] = []
    for number, line in enumerate(text.split(b"\n"), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            _check_value(line)
        except Malformed as exc:
            rejects.append(Reject(number, "malformed JSON line: " + str(exc), _keep(line)))
        else:
            good.append(line)
    return DrainBody(
        events=b"[" + b",".join(good) + b"]",
        count=len(good),
        rejects=rejects,
        malformed=f"{len(rejects)} line(s) are not JSON (first: line {rejects[0].line})",
    )


def _salvage_array(text: bytes, whole: Malformed) -> DrainBody:
    """An array cut short or broken part-way: the complete elements before the break are
    kept as events, the rest of the body as one rejected row."""
    reason = "malformed JSON: " + str(whole)
    try:
        source = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        why = f"not UTF-8 (byte {exc.start})"
        return DrainBody(malformed=why, rejects=[Reject(None, why, _keep(text))])
    good: list[str] = []
    pos = 1
    end = len(source)
    while True:
        while pos < end and source[pos] in " \t\r\n,":
            pos += 1
        if pos >= end or source[pos] == "]":
            break
        try:  # the standard library finds where the element ends, msgspec checks it
            _, stop = _BOUNDARIES.raw_decode(source, pos)
            _check_value(source[pos:stop].encode("utf-8"))
        except (ValueError, RecursionError):
            break
        good.append(source[pos:stop])
        pos = stop
    line = source.count("\n", 0, pos) + 1
    return DrainBody(
        events=("[" + ",".join(good) + "]").encode("utf-8"),
        count=len(good),
        rejects=[Reject(line, reason, _keep(source[pos:].encode("utf-8")))],
        malformed=reason,
    )


def _no_constants(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


_BOUNDARIES = json.JSONDecoder(parse_constant=_no_constants)


def _keep(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace")
    if len(text) > RAW_KEEP_CHARS:
        return text[:RAW_KEEP_CHARS] + f"… [{len(text) - RAW_KEEP_CHARS} more characters not kept]"
    return text
