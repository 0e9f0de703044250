"""Masking of secrets and personal data in text taken from the logs, for artefacts that
get shared (HTML, markdown and JSON reports, charts, `check` outputs).

Masked: JWTs, API keys (`apikey=…`, `Authorization: …`, `Bearer …`, `sb_secret_…`,
`sb_publishable_…`, `sbp_…` access tokens, `password=`/`secret=`/`token=` values),
e-mail addresses and IPv4/IPv6 addresses. Each value becomes a pseudonym of its kind and
a keyed hash of the value (`<jwt:3f9a01c2>`, `<email:71c2be04>`, `<ip:…>`, `<key:…>`):
the same value always gets the same pseudonym, so counts and groupings still read, and
a secret that appears once bare and once after `Bearer` is recognisably the same.

The work is vectorised: one regular expression marks every secret in a whole column
(polars), the distinct secrets are hashed in one DuckDB query, and a mapping puts the
pseudonyms back; there is no Python loop over rows.

The hash key is `$LOGANALYZE_REDACT_KEY` when set, else a fixed key, so pseudonyms are
the same across runs and machines (an incident report and the fixed run's compare). With
the fixed key anyone holding a candidate value (an IPv4 address, a guessed e-mail) can
confirm it; set a secret key where that matters.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import threading
from collections.abc import Iterable
from typing import Any, TypeVar

import polars as pl

T = TypeVar("T")

KEY_ENV = "LOGANALYZE_REDACT_KEY"
DEFAULT_KEY = "loganalyze-redact-v1"
HASH_CHARS = 8
"""Hex digits of the pseudonym: 4 billion values, so two users of one report practically
never share one (a shared pseudonym would merge their rows in a grouping)."""

_MARK = "\x00"
"""Wraps each secret while a column is being rewritten; a NUL already in the text is
replaced first (no log text needs one)."""
_NUL_STANDIN = "\ufffd"

_B64 = r"[A-Za-z0-9_-]"
JWT = rf"eyJ{_B64}+\.{_B64}+(?:\.{_B64}*)?"
SUPABASE_KEY = r"\b(?:sb_(?:secret|publishable)_[A-Za-z0-9_-]+|sbp_[0-9a-fA-F]{20,})"
EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4 = rf"\b{_OCTET}(?:\.{_OCTET}){{3}}\b"
_H = r"[0-9A-Fa-f]{1,4}"
# Full form, or `::` with groups on both sides: never a time (10:05:00) or a cast ($1::text).
IPV6 = rf"\b(?:(?:{_H}:){{7}}{_H}|(?:{_H}:){{1,6}}:(?:{_H}:){{0,5}}{_H})\b"

# A value after a name that says it is secret: the name stays, the value is masked.
_VALUE = r"""[^\s"'&,;<>(){}\[\]\x00]+"""
_SECRET_NAMES = (
    r"apikey|api[_-]key|x-api-key|service[_-]?key|service_role_key|access_token|"
    r"refresh_token|id_token|provider_token|token|secret|client_secret|password|passwd"
)
# each: (name)(value), matched case-insensitively
_AUTHORIZATION = (
    rf"""\b(authorization["']?\s*[:=]\s*["']?(?:(?:bearer|basic|token)\s+)?)({_VALUE})"""
)
_BEARER = rf"\b(bearer\s+)({_VALUE})"
_NAMED = rf"""\b((?:{_SECRET_NAMES})["']?\s*[:=]\s*["']?)({_VALUE})"""
_PRODUCT_VERSION = r"\b([A-Za-z][A-Za-z0-9_-]*/[0-9]+(?:\.[0-9]+){1,3})\b"
"""`Chrome/120.0.0.0` in a User-Agent is a version, not an address: kept as it is."""


def _combined() -> tuple[str, str]:
    """One pattern for every kind, and its replacement wrapping each secret in marks.

    Alternatives are tried leftmost-first, so `Authorization: Bearer eyJ…` masks the token
    once (its name kept) rather than matching the JWT inside it again."""
    prefixed = [_AUTHORIZATION, _BEARER, _NAMED]
    bare = [JWT, SUPABASE_KEY, EMAIL, IPV4, IPV6]
    alternatives = [f"(?i:{p})" for p in prefixed] + [_PRODUCT_VERSION] + [f"({p})" for p in bare]
    # groups: 1-6 name/value pairs, 7 the kept version, 8.. the bare kinds
    names = "".join(f"${{{2 * i + 1}}}" for i in range(len(prefixed)))
    values = "".join(f"${{{2 * i + 2}}}" for i in range(len(prefixed)))
    kept = f"${{{2 * len(prefixed) + 1}}}"
    first_bare = 2 * len(prefixed) + 2
    bares = "".join(f"${{{first_bare + i}}}" for i in range(len(bare)))
    replacement = f"{names}{kept}{_MARK}{values}{bares}{_MARK}"
    return "|".join(alternatives), replacement


PATTERN, _REPLACEMENT = _combined()

_KINDS = (  # the kind of a masked value, first match wins
    ("jwt", rf"^{JWT}$"),
    ("email", rf"^{EMAIL}$"),
    ("ip", rf"^(?:{IPV4}|{IPV6})$"),
)


_hasher: Any = None
_hasher_lock = threading.Lock()


def redaction_key() -> str:
    return os.environ.get(KEY_ENV) or DEFAULT_KEY


def _mark(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_all(_MARK, _NUL_STANDIN, literal=True).str.replace_all(
        PATTERN, _REPLACEMENT
    )


def _pseudonyms(secrets: pl.Series, key: str) -> pl.DataFrame:
    """`secret → pseudonym` for distinct secrets: the kind, and a keyed SHA-256 computed
    by DuckDB over the whole column at once."""
    import duckdb

    kind = pl.lit("key")
    for name, pattern in reversed(_KINDS):
        kind = pl.when(pl.col("secret").str.contains(pattern)).then(pl.lit(name)).otherwise(kind)
    table = pl.DataFrame({"secret": secrets}).with_columns(
        kind.alias("kind"),
    )
    table = table.with_columns(
        # e-mail and IPv6 addresses are case-insensitive: one address, one pseudonym
        pl.when(pl.col("kind").is_in(["email", "ip"]))
        .then(pl.col("secret").str.to_lowercase())
        .otherwise(pl.col("secret"))
        .alias("canonical"),
    )
    global _hasher
    with _hasher_lock:
        if _hasher is None:
            _hasher = duckdb.connect()  # in memory, private: never a user's database
        cursor = _hasher.cursor()
    try:
        cursor.register("secrets", table.to_arrow())
        return cursor.sql(
            "SELECT secret, '<' || kind || ':' || left(sha256($key || canonical), $chars) || '>'"
            " AS pseudonym FROM secrets",
            params={"key": key, "chars": HASH_CHARS},
        ).pl()
    finally:
        cursor.close()


def _rebuild(marked: pl.Expr, mapping: pl.DataFrame) -> pl.Expr:
    """Split at the marks, swap each secret for its pseudonym, join again. A secret sits
    at an odd position of the split; text between secrets is never a key of the mapping
    unless it equals a secret, which is then masked too."""
    return (
        marked.str.split(_MARK)
        .list.eval(pl.element().replace(mapping["secret"], mapping["pseudonym"]))
        .list.join("")
    )


def _secrets_of(marked: pl.Series) -> pl.Series:
    """The distinct secrets of a marked column (a kept version leaves an empty pair)."""
    secrets = marked.str.split(_MARK).list.gather_every(2, offset=1).explode().drop_nulls().unique()
    return secrets.filter(secrets.str.len_bytes() > 0).rename("secret")


def redact_series(series: pl.Series, *, key: str | None = None) -> pl.Series:
    """A String series with every secret masked (nulls stay null)."""
    if series.dtype != pl.String:
        raise TypeError(f"redact_series needs a String series, got {series.dtype}")
    marked = series.to_frame("text").select(_mark(pl.col("text")))["text"]
    secrets = _secrets_of(marked)
    if secrets.len() == 0:
        return series
    mapping = _pseudonyms(secrets, key or redaction_key())
    return (
        marked.to_frame("text")
        .select(_rebuild(pl.col("text"), mapping))["text"]
        .rename(series.name)
    )


def _string_columns(frame: pl.DataFrame) -> list[str]:
    return [
        n for n, t in frame.schema.items() if t in (pl.String, pl.Categorical) or _is_text_list(t)
    ]


def _is_text_list(dtype: pl.DataType) -> bool:
    return isinstance(dtype, pl.List) and dtype.inner == pl.String


def redact_frame(frame: pl.DataFrame, *, key: str | None = None) -> pl.DataFrame:
    """The frame with every secret in its text columns (String, Categorical, List[String])
    masked; other columns, the row order and the schema are kept."""
    columns = _string_columns(frame)
    if not columns or frame.height == 0:
        return frame
    # all text columns in one series, so the secrets are hashed in one query
    texts = pl.concat([_as_text(frame[c]) for c in columns], how="vertical").rename("text")
    redacted = redact_series(texts, key=key)
    if redacted is texts:
        return frame
    replaced = []
    offset = 0
    for name in columns:
        original = frame[name]
        size = _as_text(original).len()
        part = redacted.slice(offset, size)
        offset += size
        replaced.append(_restore(original, part).alias(name))
    return frame.with_columns(replaced)


def _as_text(series: pl.Series) -> pl.Series:
    if _is_text_list(series.dtype):
        # only the elements: empty and null lists contribute nothing
        return series.explode(empty_as_null=False, keep_nulls=False)
    return series.cast(pl.String)


def _restore(original: pl.Series, redacted: pl.Series) -> pl.Series:
    if not _is_text_list(original.dtype):
        return redacted.cast(original.dtype)
    lengths = original.list.len().fill_null(0)
    owner = (
        pl.int_range(pl.len(), dtype=pl.UInt32)
        .repeat_by(pl.col("n"))
        .explode(empty_as_null=False, keep_nulls=False)
    )
    elements = (
        pl.DataFrame({"n": lengths})
        .select(owner.alias("row"))
        .with_columns(redacted.alias("text"))
        .group_by("row", maintain_order=True)
        .agg(pl.col("text"))
    )
    rows = pl.DataFrame({"row": pl.Series(range(original.len()), dtype=pl.UInt32)})
    rebuilt = rows.join(elements, on="row", how="left", maintain_order="left")["text"]
    empty = pl.lit([], dtype=pl.List(pl.String))
    return (
        pl.DataFrame({"text": rebuilt, "null": original.is_null()})
        .select(pl.when(pl.col("null")).then(None).otherwise(pl.col("text").fill_null(empty)))
        .to_series()
    )


def redact_text(text: str | None, *, key: str | None = None) -> str | None:
    """One string with every secret masked (None stays None)."""
    if text is None:
        return None
    return redact_series(pl.Series([text], dtype=pl.String), key=key)[0]


def redact_obj(value: T, *, key: str | None = None) -> T:
    """A copy of `value` with every string masked: nested dicts (keys too), lists, tuples,
    sets, polars frames, and dataclass instances (a report, a check result) field by
    field. Other values (numbers, datetimes, paths) are kept. The strings of the whole
    object are masked in one pass."""
    strings: set[str] = set()
    _collect(value, strings, set())
    mapping: dict[str, str] = {}
    if strings:
        originals = sorted(strings)
        masked = redact_series(pl.Series(originals, dtype=pl.String), key=key)
        mapping = {o: m for o, m in zip(originals, masked.to_list(), strict=True) if o != m}
    return _replace(value, mapping, key, {})


def _children(value: Any) -> Iterable[Any]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield v
    elif isinstance(value, list | tuple | set | frozenset):
        yield from value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield getattr(value, f.name)


def _collect(value: Any, strings: set[str], seen: set[int]) -> None:
    if isinstance(value, str):
        strings.add(value)
        return
    if id(value) in seen:
        return
    seen.add(id(value))
    for child in _children(value):
        _collect(child, strings, seen)


def _replace(value: Any, mapping: dict[str, str], key: str | None, done: dict[int, Any]) -> Any:
    if isinstance(value, str):
        return mapping.get(value, value)
    if isinstance(value, pl.DataFrame):
        return redact_frame(value, key=key)
    if isinstance(value, pl.Series):
        if value.dtype == pl.String:
            return redact_series(value, key=key)
        return value
    if id(value) in done:
        return done[id(value)]
    if isinstance(value, dict):
        result: Any = {
            _replace(k, mapping, key, done): _replace(v, mapping, key, done)
            for k, v in value.items()
        }
    elif isinstance(value, list):
        result = [_replace(v, mapping, key, done) for v in value]
    elif isinstance(value, tuple) and hasattr(value, "_fields"):
        result = type(value)(*(_replace(v, mapping, key, done) for v in value))
    elif isinstance(value, tuple | set | frozenset):
        result = type(value)(_replace(v, mapping, key, done) for v in value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        result = copy.copy(value)
        for f in dataclasses.fields(value):
            object.__setattr__(result, f.name, _replace(getattr(value, f.name), mapping, key, done))
    else:
        return value
    done[id(value)] = result
    return result


__all__ = [
    "KEY_ENV",
    "redact_frame",
    "redact_obj",
    "redact_series",
    "redact_text",
    "redaction_key",
]
