"""`log_line_prefix` → a line regex with numbered parts, and picking the prefix a stderr
log was written with.

The regex is written in the common subset of RE2 (DuckDB) and Python's `re`, so the same
text picks the prefix on the sample here and parses every line in DuckDB. It matches a
line's prefix and severity only (`^(<prefix>(LOG|ERROR|...): +)`): the message is the
rest of the line, cut off by length in SQL, which keeps the regex engine's work per line
small and independent of the message length.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SEVERITIES = (
    "DEBUG5", "DEBUG4", "DEBUG3", "DEBUG2", "DEBUG1", "DEBUG", "INFO", "NOTICE", "WARNING",
    "ERROR", "LOG", "FATAL", "PANIC",
)
SECTION_TAGS = ("DETAIL", "HINT", "CONTEXT", "STATEMENT", "QUERY", "LOCATION")
"""Lines that continue the entry above them (of the same backend) under their own tag."""

_SEVERITY_RE = "(" + "|".join(sorted(SEVERITIES + SECTION_TAGS, key=len, reverse=True)) + ")"
SEVERITY_MARK_RE = r"\b" + _SEVERITY_RE + ": "
"""A severity where a line has one: lines with it that do not fit the prefix are rejected."""

_TS = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: (?:[A-Za-z]{1,6}|[+-]\d\d(?::?\d\d)?))?"

# escape -> (field, regex of its value). Values are lazy where they may hold spaces or
# punctuation: the literal text after them and the severity anchor decide where they end.
ESCAPES: dict[str, tuple[str, str]] = {
    "a": ("application_name", r".*?"),
    "u": ("user_name", r"[^\s@]*?"),
    "d": ("database", r"\S*?"),
    "r": ("connection_from", r"\S*?"),
    "h": ("remote_host", r"\S*?"),
    "L": ("local_address", r"\S*?"),
    "b": ("backend_type", r".*?"),
    "p": ("pid", r"\d+"),
    "P": ("leader_pid", r"\d*"),
    "t": ("ts", _TS),
    "m": ("ts", _TS),
    "n": ("ts", r"\d+\.\d+"),
    "i": ("command_tag", r".*?"),
    "e": ("sqlstate", r"[0-9A-Z]{5}"),
    "c": ("session_id", r"[0-9a-f]+\.[0-9a-f]+"),
    "l": ("line_num", r"\d+"),
    "s": ("session_start", _TS),
    "v": ("vxid", r"\S*?"),
    "x": ("txid", r"\d*"),
    "Q": ("query_id", r"-?\d+"),
}

FIELDS = (
    "ts", "pid", "user_name", "database", "application_name", "connection_from",
    "remote_host", "session_id", "command_tag", "sqlstate", "backend_type", "query_id",
    "free_text",
)
"""Prefix parts the SQL reads (by group number); `free_text` is the free tail of a
generic prefix, searched for `user=`/`db=`/`app=`/`client=` and `user@db`."""

MAX_GROUPS = 40
SAMPLE_HEADS = 2000
"""Entry lines of the sample that prefixes are scored on."""
EMPTY_GROUP = "()"
"""Appended to every compiled regex: the group that fields absent from the prefix read
(always ''), so one SQL text serves every prefix."""

KNOWN_PREFIXES: tuple[str, ...] = (
    "%m [%p] %q%u@%d ",
    "%h %m [%p] %q%u@%d ",
    "%m [%p] ",
    "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
    "%t [%p]: [%l-1] user=%u,db=%d,host=%h,app=%a ",
    "%t [%p]: [%l-1] user=%u,db=%d ",
    "%t [%p]: user=%u,db=%d,app=%a,client=%h ",
    "%t [%p]: db=%d,user=%u,app=%a,client=%h ",
    "%m [%p] user=%u,db=%d ",
    "%m [%p] %u@%d ",
    "%t:%r:%u@%d:[%p]:",
    "%m [%p]: [%l-1] db=%d,user=%u ",
    "%m %u %d [%p] ",
    "%t [%p] ",
    "%m %e [%p] %q%u@%d ",
    "%m [%p] %e %q%u@%d ",
    "%m [%p] %q%u@%d %e ",
    "%t ",
    "%m ",
)
"""The prefixes tried in this order (documented in docs/formats-postgres.md): PostgreSQL's
and Debian's defaults, Supabase's image, pgBadger's recommended ones, Amazon RDS, Google
Cloud SQL. Cloud envelopes that carry the time outside the text (Cloud SQL's
`textPayload`) are also tried with the leading time removed."""

DEFAULT_PREFIX = "%m [%p] "
"""PostgreSQL's default log_line_prefix: what is assumed when no known prefix fits."""

GENERIC_PREFIXES: tuple[str, ...] = ("%m [%p]", "%t [%p]")
"""Tried last: a time and `[pid]`, then free text up to the severity."""


@dataclass(frozen=True)
class CompiledPrefix:
    prefix: str
    regex: str
    groups: dict[str, int]
    """field -> group number (1-based) in `regex`; absent fields are not listed."""
    group_count: int
    """Groups in `regex`; the last one is the empty group."""
    generic: bool = False

    @property
    def has_pid(self) -> bool:
        return "pid" in self.groups

    @property
    def has_ts(self) -> bool:
        return "ts" in self.groups

    @property
    def specificity(self) -> int:
        return len(self.groups)

    def group_of(self, field: str) -> int:
        """The group holding `field`, or the always-empty last group when absent."""
        return self.groups.get(field, self.group_count)

    def sql_params(self) -> dict[str, object]:
        params: dict[str, object] = {
            "re": self.regex,
            "names": [f"g{i}" for i in range(1, self.group_count + 1)],
            "g_sev": f"g{self.groups['severity']}",
        }
        params.update({"g_" + f: f"g{self.group_of(f)}" for f in FIELDS})
        return params


class PrefixError(ValueError):
    pass


def compile_prefix(prefix: str, *, generic: bool = False) -> CompiledPrefix:
    """Compile a `log_line_prefix` value (PostgreSQL's `%` escapes, `%q`, padding such as
    `%-10u`) into the line regex. Group 1 is always the whole prefix + severity mark."""
    out: list[str] = []
    groups: dict[str, int] = {}
    next_group = 2  # group 1 wraps prefix + severity
    optional_from: int | None = None
    i = 0
    while i < len(prefix):
        ch = prefix[i]
        if ch != "%":
            out.append(re.escape(ch) if ch != " " else " ")
            i += 1
            continue
        m = re.match(r"%(-?\d+)?(.)", prefix[i:])
        if not m:
            raise PrefixError(f"log_line_prefix ends inside an escape: {prefix!r}")
        pad, esc = m.group(1), m.group(2)
        i += m.end()
        if esc == "%":
            out.append("%")
            continue
        if esc == "q":
            # Non-session processes stop printing the prefix here.
            optional_from = len(out)
            continue
        if esc not in ESCAPES:
            raise PrefixError(
                f"unknown escape %{esc} in log_line_prefix {prefix!r}"
            )
        field, value_re = ESCAPES[esc]
        value_re = _greedy_before(value_re, prefix[i : i + 1]) if not pad else value_re
        if field in groups or field in ("local_address", "line_num", "leader_pid", "vxid", "txid", "session_start"):
            part = "(?:" + value_re + ")"
        else:
            part = "(" + value_re + ")"
            groups[field] = next_group
            next_group += 1
        if pad:
            part = " *" + part + " *"
        out.append(part)
    if generic:
        out.append("(?: |: )(.*?) ?")
        groups["free_text"] = next_group
        next_group += 1
    body = "".join(out)
    if optional_from is not None:
        head, tail = "".join(out[:optional_from]), "".join(out[optional_from:])
        body = head + ("(?:" + tail + ")?" if tail else "")
    groups["severity"] = next_group
    next_group += 1
    regex = "^(" + body + _SEVERITY_RE + ": *)"
    if next_group > MAX_GROUPS:
        raise PrefixError(f"log_line_prefix has too many parts: {prefix!r}")
    # Only one empty group: each extra capture group costs per line in the regex engine.
    regex += EMPTY_GROUP
    re.compile(regex)  # a prefix that compiles to an invalid regex fails here, not in SQL
    return CompiledPrefix(
        prefix=prefix, regex=regex, groups=groups, group_count=next_group, generic=generic
    )


# Lazy value classes, and the literal characters they cannot match: before such a
# character the greedy form matches exactly the same text, and RE2 extracts groups of a
# greedy class faster (about 15% of the whole line regex on a server log).
_STOPS_OF_LAZY = {r"\S*?": " \t", r"[^\s@]*?": " \t@"}


def _greedy_before(value_re: str, next_char: str) -> str:
    stops = _STOPS_OF_LAZY.get(value_re)
    if stops and next_char and next_char in stops:
        return value_re[:-1]
    return value_re


def strip_leading_time(prefix: str) -> str | None:
    """The prefix without its leading `%m `/`%t ` (cloud envelopes carry the time)."""
    m = re.match(r"^%[mtn] ?", prefix)
    return prefix[m.end():] if m and prefix[m.end():] else None


def candidates(*, time_outside: bool) -> list[CompiledPrefix]:
    out = [compile_prefix(p) for p in KNOWN_PREFIXES]
    out += [compile_prefix(p, generic=True) for p in GENERIC_PREFIXES]
    if time_outside:
        stripped = [strip_leading_time(p) for p in KNOWN_PREFIXES]
        out += [compile_prefix(p) for p in dict.fromkeys(s for s in stripped if s)]
    return out


@dataclass(frozen=True)
class PrefixChoice:
    compiled: CompiledPrefix
    matched: int
    considered: int
    stated: bool

    @property
    def fits(self) -> bool:
        return self.matched > 0 and self.matched * 10 >= self.considered * 8


def choose_prefix(
    lines: Iterable[str], *, stated: str | None = None, time_outside: bool = False
) -> PrefixChoice:
    """The prefix matching most of the sample's entry lines (not continuation lines);
    ties go to the prefix listed first among the most specific."""
    return _choose(tuple(lines), stated, time_outside)


@functools.lru_cache(maxsize=8)
def _choose(lines: tuple[str, ...], stated: str | None, time_outside: bool) -> PrefixChoice:
    # cached: sniffing and loading the same file ask the same question
    heads = [ln for ln in lines if ln and not ln.startswith("\t")][:SAMPLE_HEADS]
    if stated is not None:
        compiled = compile_prefix(stated)
        return PrefixChoice(compiled, _count(compiled, heads), len(heads), stated=True)
    best: tuple[tuple[int, int, int, int], CompiledPrefix] | None = None
    for order, cand in enumerate(candidates(time_outside=time_outside)):
        n = _count(cand, heads)
        key = (n, 0 if cand.generic else 1, cand.specificity, -order)
        if best is None or key > best[0]:
            best = (key, cand)
    assert best is not None
    if best[0][0] == 0:
        # Nothing fits: assume PostgreSQL's own default rather than whichever candidate
        # happened to sort first.
        return PrefixChoice(compile_prefix(DEFAULT_PREFIX), 0, len(heads), stated=False)
    return PrefixChoice(best[1], best[0][0], len(heads), stated=False)


def _count(cand: CompiledPrefix, lines: Sequence[str]) -> int:
    rx = re.compile(cand.regex)
    return sum(1 for ln in lines if rx.match(ln))


_MARK = re.compile(SEVERITY_MARK_RE)


def looks_like_stderr(lines: Sequence[str]) -> float:
    """Share of the sample's non-continuation lines that carry a severity mark."""
    heads = [ln for ln in lines if ln and not ln.startswith("\t")]
    if not heads:
        return 0.0
    return sum(1 for ln in heads if _MARK.search(ln)) / len(heads)
