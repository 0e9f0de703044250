"""One property per reader: a valid export of its format, cut, flipped, padded with
blank or garbage lines, given a BOM, a Latin-1 byte, JSON nested deep or a huge value,
either ingests (every line of a one-line-per-row format stored, counted as a duplicate
or kept in rejected_rows) or fails with one line naming the file, leaving the database
as it was. Never a traceback, never a silent loss.

Examples are few per reader (the suite runs on small machines); hypothesis keeps the
failing ones it finds in .hypothesis/ and tries them first next time."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loganalyze import connect
from loganalyze.errors import LogAnalyzeError
from loganalyze.ingest import ingest
from loganalyze.store import LOG_TABLES

from .conftest import SHARED, TEST_DATA

# LOGANALYZE_PROPERTY_EXAMPLES=200 for a longer hunt
EXAMPLES = int(os.environ.get("LOGANALYZE_PROPERTY_EXAMPLES", "12"))

# reader → (fixture, one row per non-blank line?)
READERS: dict[str, tuple[Path, bool]] = {
    "supabase-ndjson": (TEST_DATA / "hosted" / "events.ndjson", True),
    "supabase-json": (TEST_DATA / "hosted" / "studio-download.json", False),
    "supabase-csv": (TEST_DATA / "hosted" / "studio-download.csv", False),
    "supabase-api": (TEST_DATA / "hosted" / "api-page-1.json", False),
    "gotrue": (TEST_DATA / "selfhosted" / "gotrue.log", True),
    "kong": (TEST_DATA / "selfhosted" / "kong.log", True),
    "postgrest": (TEST_DATA / "selfhosted" / "postgrest.log", False),
    "realtime": (TEST_DATA / "selfhosted" / "realtime.log", False),
    "supavisor": (TEST_DATA / "selfhosted" / "supavisor.log", False),
    "vercel": (TEST_DATA / "vercel" / "drain.ndjson", True),
    "pg-cron": (TEST_DATA / "cron" / "job_run_details.csv", False),
    "postgres-stderr": (TEST_DATA / "postgres" / "with_sqlstate.log", False),
    "postgres-csvlog": (TEST_DATA / "postgres" / "csvlog26.csv", False),
    "postgres-jsonlog": (TEST_DATA / "postgres" / "jsonlog.json", False),
    "postgres-cnpg": (SHARED / "peer_corpora" / "pgbadger" / "cnpg.log.gz", False),
    "postgres-cloudsql": (SHARED / "peer_corpora" / "pgbadger" / "cloudsql.log.gz", False),
}


def test_every_reader_has_a_property():
    from loganalyze.ingest import formats

    assert {f.name for f in formats()} == set(READERS)


# --------------------------------------------------------------------------- mutations


@st.composite
def mutations(draw, size: int, lines: int):
    """A short list of damage to do to a file of `size` bytes and `lines` lines."""
    kinds = st.sampled_from(["cut", "flip", "blank", "garbage", "bom", "latin1", "deep", "huge"])
    out = []
    for kind in draw(st.lists(kinds, min_size=1, max_size=3)):
        line = draw(st.integers(0, max(0, lines - 1)))
        if kind == "cut":
            out.append(("cut", draw(st.integers(1, max(1, size - 1)))))
        elif kind == "flip":
            out.append(("flip", draw(st.integers(0, max(0, size - 1))), draw(st.integers(1, 255))))
        elif kind == "blank":
            out.append(("blank", line, draw(st.integers(1, 3000))))
        elif kind == "garbage":
            text = draw(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\x00"), min_size=1, max_size=60))
            out.append(("garbage", line, text))
        elif kind == "bom":
            out.append(("bom",))
        elif kind == "latin1":
            out.append(("latin1", line))
        elif kind == "deep":
            out.append(("deep", line, draw(st.integers(200, 3000))))
        else:
            out.append(("huge", line, draw(st.integers(10_000, 400_000))))
    return out


def damage(data: bytes, steps: list[tuple]) -> bytes:
    for step in steps:
        rows = data.split(b"\n")
        kind = step[0]
        if kind == "cut":
            data = data[: step[1]]
        elif kind == "flip" and data:
            at = min(step[1], len(data) - 1)
            data = data[:at] + bytes([data[at] ^ step[2]]) + data[at + 1 :]
        elif kind == "blank":
            data = b"\n".join(rows[: step[1]] + [b""] * step[2] + rows[step[1] :])
        elif kind == "garbage":
            data = b"\n".join(rows[: step[1]] + [step[2].encode("utf-8")] + rows[step[1] :])
        elif kind == "bom":
            data = b"\xef\xbb\xbf" + data
        elif kind == "latin1" and step[1] < len(rows):
            rows[step[1]] = rows[step[1]] + "é".encode("latin-1")
            data = b"\n".join(rows)
        elif kind == "deep":
            nested = b"[" * step[2] + b"1" + b"]" * step[2]
            data = b"\n".join(rows[: step[1]] + [b'{"deep": ' + nested + b"}"] + rows[step[1] :])
        elif kind == "huge" and step[1] < len(rows):
            row = rows[step[1]]
            filler = b"x" * step[2]
            # inside a JSON object as a new key, else at the end of the line
            rows[step[1]] = row.replace(b"{", b'{"zz_huge": "' + filler + b'", ', 1) if row.lstrip().startswith(b"{") else row + filler
            data = b"\n".join(rows)
    return data


# --------------------------------------------------------------------------- the property


def _state(con) -> dict[str, int]:
    tables = (*LOG_TABLES, "ingested_files", "rejected_rows")
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables}


def _line_rows(data: bytes) -> tuple[int, int]:
    """Rows a one-row-per-line file holds: its non-blank lines, counted with LF only
    and with a lone CR as a line end too (some readers take it as one)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lf = sum(1 for line in data.split(b"\n") if line.strip())
    any_end = sum(1 for line in data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n") if line.strip())
    return lf, any_end


def check_property(reader: str, source: Path, one_row_per_line: bool, steps: list[tuple], tmp: Path) -> None:
    raw = source.read_bytes()
    if source.suffix == ".gz":
        import gzip

        raw = gzip.decompress(raw)[:200_000]
    data = damage(raw, steps)
    path = tmp / ("damaged" + "".join(source.suffixes).removesuffix(".gz"))
    path.write_bytes(data)
    con = connect()
    try:
        ingest([TEST_DATA / "selfhosted" / "gotrue.log"], con)  # something to keep intact
        before = _state(con)
        forced = reader if one_row_per_line else None
        try:
            summary = ingest([path], con, fmt=forced, reference_date=dt.date(2026, 11, 20))
        except LogAnalyzeError as exc:
            assert int(exc.exit_code) in (2, 3)
            assert "\n" not in exc.message and exc.message.strip()
            assert _state(con) == before, "a failed ingest changed the database"
            return
        after = _state(con)
        stored = sum(after[t] - before[t] for t in LOG_TABLES)
        rejected = after["rejected_rows"] - before["rejected_rows"]
        counted = summary.to_dict()
        assert stored == counted["rows"]
        assert rejected == counted["rejected"]
        if one_row_per_line:
            accounted = counted["rows"] + counted["duplicates"] + counted.get("merged", 0) + counted["rejected"]
            fewest, most = _line_rows(data)
            assert fewest <= accounted <= most, f"{accounted} rows accounted for {fewest} lines"
    finally:
        con.close()


def _readers() -> list:
    params = []
    for name, (source, per_line) in READERS.items():
        marks = []
        if not source.exists():
            marks.append(pytest.mark.skip(reason=f"fixture not found: {source} (set LOGANALYZE_SHARED)"))
        params.append(pytest.param(name, source, per_line, id=name, marks=marks))
    return params


@pytest.mark.parametrize(("reader", "source", "one_row_per_line"), _readers())
def test_damaged_exports_never_traceback_or_lose_rows(reader, source, one_row_per_line, tmp_path_factory):
    raw = source.read_bytes()
    size, lines = len(raw), raw.count(b"\n") + 1
    if source.suffix == ".gz":
        size, lines = 200_000, 2000

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(steps=mutations(size, lines))
    def run(steps):
        check_property(reader, source, one_row_per_line, steps, tmp_path_factory.mktemp(reader))

    run()


def test_the_damage_is_real():
    data = b'{"a": 1}\n{"b": 2}\n'
    assert damage(data, [("cut", 5)]) == b'{"a":'
    assert damage(data, [("blank", 1, 2)]) == b'{"a": 1}\n\n\n{"b": 2}\n'
    assert damage(data, [("latin1", 0)]).split(b"\n")[0].endswith(b"\xe9")
    assert damage(data, [("huge", 1, 3)]) == b'{"a": 1}\n{"zz_huge": "xxx", "b": 2}\n'
    assert json.loads(damage(b"", [("deep", 0, 3)]).strip()) == {"deep": [[[1]]]}
