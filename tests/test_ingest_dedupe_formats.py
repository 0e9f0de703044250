"""One event, several files: a real PostgreSQL server logging to stderr, csvlog and
jsonlog at once writes every event three times; stored, it must be there once, whatever
the order of the files, in one ingest or several, and where files overlap only partly.
The richer copy fills what the poorer one lacked (a logged SQLSTATE over an inferred
one, csvlog's session id over a stderr line without %c)."""

from __future__ import annotations

import itertools
import re

import pytest

import loganalyze
from loganalyze.ingest import ingest
from loganalyze.ingest.postgres_prefix import SECTION_TAGS

from .test_ingest_postgres_server import EXPECTED_ERRORS, KINDS, server_logs  # noqa: F401

pytestmark = pytest.mark.postgres


def _errors(con) -> dict[str, int]:
    return dict(
        con.execute(
            "SELECT sqlstate, count(*) FROM postgres_logs WHERE severity = 'ERROR' GROUP BY 1"
        ).fetchall()
    )


def _events(con) -> list[tuple]:
    return con.execute(
        "SELECT ts, pid, severity, message, detail, statement, user_name FROM postgres_logs ORDER BY ALL"
    ).fetchall()


_PREFIXED = re.compile(r"^\d{4}-\d\d-\d\d [\d:.]+ \S+ \[(\d+)\] (?:\S+@\S+ )?([A-Z]+):  ")


def _entry_boundary(lines: list[str], i: int) -> bool:
    """Whether the stderr log can be cut before line i without parting an entry from
    its DETAIL/STATEMENT lines (which follow later, interleaved with other backends)."""
    first = _PREFIXED.match(lines[i])
    if not first or first[2] in SECTION_TAGS:
        return False
    started_after_cut: set[str] = set()
    for line in lines[i:]:
        m = _PREFIXED.match(line)
        if not m:
            continue
        if m[2] in SECTION_TAGS:
            if m[1] not in started_after_cut:
                return False
        else:
            started_after_cut.add(m[1])
    return True


@pytest.fixture(scope="module")
def reference(server_logs):  # noqa: F811
    """Each phase's csvlog alone: what one copy of every event looks like."""
    out = {}
    for phase in ("inferred", "logged"):
        con = loganalyze.connect()
        ingest([server_logs[phase, "csvlog"]], con)
        out[phase] = _events(con)
        con.close()
    return out


@pytest.mark.parametrize("order", list(itertools.permutations(KINDS)), ids="-".join)
def test_three_destinations_in_one_ingest_store_each_event_once(server_logs, reference, order):  # noqa: F811
    con = loganalyze.connect()
    summary = ingest([server_logs["inferred", kind] for kind in order], con)
    events = reference["inferred"]
    assert _events(con) == events
    assert _errors(con) == EXPECTED_ERRORS
    assert summary.rows == len(events)
    # the second and third copy of every event are recognised, none inserted again
    assert summary.duplicates + summary.merged == 2 * len(events)
    assert [f.rows for f in summary.files][1:] == [0, 0]
    con.close()


def test_separate_ingests_of_each_destination_add_nothing_after_the_first(server_logs, reference):  # noqa: F811
    con = loganalyze.connect()
    for phase in ("inferred", "logged"):
        first, *others = (ingest([server_logs[phase, kind]], con) for kind in ("jsonlog", "stderr", "csvlog"))
        assert first.rows > 0
        assert [s.rows for s in others] == [0, 0]
    assert _events(con) == sorted(reference["inferred"] + reference["logged"])
    assert _errors(con) == {code: 2 * n for code, n in EXPECTED_ERRORS.items()}
    con.close()


def test_partly_overlapping_files_keep_the_overlap_once_and_the_rest(server_logs, reference, tmp_path):  # noqa: F811
    """The first two thirds of the jsonlog and the stderr log from a third on (cut at an
    entry's first line): together they hold every event, the middle third twice."""
    json_lines = server_logs["inferred", "jsonlog"].read_text().splitlines(keepends=True)
    head = tmp_path / "head.json"
    head.write_text("".join(json_lines[: 2 * len(json_lines) // 3]))
    stderr_lines = server_logs["inferred", "stderr"].read_text().splitlines(keepends=True)
    cut = next(i for i in range(len(stderr_lines) // 3, len(stderr_lines)) if _entry_boundary(stderr_lines, i))
    tail = tmp_path / "tail.log"
    tail.write_text("".join(stderr_lines[cut:]))

    con = loganalyze.connect()
    summary = ingest([head, tail], con)
    assert _events(con) == reference["inferred"]
    assert _errors(con) == EXPECTED_ERRORS
    overlap = summary.files[1].duplicates + summary.files[1].merged
    assert 0 < overlap < summary.files[1].rows + overlap
    con.close()


def test_the_richer_copy_fills_what_the_first_lacked(server_logs):  # noqa: F811
    """stderr without %e or %c first (codes inferred, no session ids), then csvlog: the
    stored rows end up with the logged codes and the session ids, in either order."""
    for first, second in (("stderr", "csvlog"), ("csvlog", "stderr")):
        con = loganalyze.connect()
        ingest([server_logs["inferred", first]], con)
        later = ingest([server_logs["inferred", second]], con)
        assert later.rows == 0
        assert con.execute(
            "SELECT count(*) FILTER (WHERE sqlstate_inferred), count(*) FILTER (WHERE session_id IS NULL) "
            "FROM postgres_logs"
        ).fetchone() == (0, 0)
        assert _errors(con) == EXPECTED_ERRORS
        if first == "stderr":
            # every row gained at least the session id: all merged, none a bare duplicate
            assert later.merged == later.duplicates + later.merged > 0
            assert later.by_table()["postgres_logs"].merged == later.merged
            assert any("merged into postgres_logs" in note for note in later.notes())
        else:
            assert later.merged == 0
        con.close()
