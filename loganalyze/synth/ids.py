"""Random identifiers built a whole column at a time from the seeded generator.

Hex digits are produced by table lookup on random bytes, so a million uuids cost a few
numpy operations rather than a million `uuid.uuid4()` calls, and the same seed always
gives the same identifiers.
"""

from __future__ import annotations

import numpy as np
import polars as pl

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


def _chars_to_series(chars: np.ndarray) -> pl.Series:
    """An (n, width) uint8 array of ASCII codes as a string column."""
    n, width = chars.shape
    fixed = np.ascontiguousarray(chars).view(f"S{width}").reshape(n)
    return pl.Series(fixed).cast(pl.String)


def hex_chars(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    """(n, width) array of random lowercase hex digit codes."""
    return _HEX[rng.integers(0, 16, size=(n, width), dtype=np.uint8)]


def hex_strings(rng: np.random.Generator, n: int, width: int) -> pl.Series:
    return _chars_to_series(hex_chars(rng, n, width))


def digit_strings(rng: np.random.Generator, n: int, width: int) -> pl.Series:
    return _chars_to_series(_DIGITS[rng.integers(0, 10, size=(n, width), dtype=np.uint8)])


def uuid4_strings(rng: np.random.Generator, n: int) -> pl.Series:
    """Version-4 uuids in canonical 8-4-4-4-12 form."""
    digits = hex_chars(rng, n, 32)
    digits[:, 12] = ord("4")
    digits[:, 16] = np.frombuffer(b"89ab", dtype=np.uint8)[rng.integers(0, 4, size=n)]
    out = np.empty((n, 36), dtype=np.uint8)
    dash = ord("-")
    out[:, 0:8] = digits[:, 0:8]
    out[:, 8] = dash
    out[:, 9:13] = digits[:, 8:12]
    out[:, 13] = dash
    out[:, 14:18] = digits[:, 12:16]
    out[:, 18] = dash
    out[:, 19:23] = digits[:, 16:20]
    out[:, 23] = dash
    out[:, 24:36] = digits[:, 20:32]
    return _chars_to_series(out)


def ipv4_strings(rng: np.random.Generator, n: int, first_octets: tuple[int, ...]) -> pl.Series:
    """Public-looking IPv4 addresses whose first octet is drawn from `first_octets`."""
    octets = rng.integers(1, 255, size=(n, 4))
    octets[:, 0] = np.asarray(first_octets)[rng.integers(0, len(first_octets), size=n)]
    frame = pl.DataFrame({f"o{i}": octets[:, i] for i in range(4)})
    return frame.select(
        pl.concat_str([pl.col(f"o{i}").cast(pl.String) for i in range(4)], separator=".")
    ).to_series()
