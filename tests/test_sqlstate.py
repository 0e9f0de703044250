"""SQLSTATE inference from the message text (no server needed; the measurement on a
real server is tests/test_sqlstate_server.py)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

import loganalyze
from loganalyze.ingest import ingest, sqlstate

REPO = Path(__file__).resolve().parents[1]
CATALOG = REPO / "loganalyze" / "ingest" / sqlstate.CATALOG_FILE

# As a PostgreSQL 15 server writes them (taken from its logs), with the code it logged.
REAL_MESSAGES = [
    ("42703", "column registrations.id does not exist"),
    ("42703", 'column "webinar" does not exist'),
    ("42703", 'column "nope" of relation "registrations" does not exist'),
    ("42P01", 'relation "registration" does not exist'),
    ("42P01", 'missing FROM-clause entry for table "r"'),
    ("42883", "function webinar_count(integer) does not exist"),
    ("42883", "operator does not exist: integer = text"),
    ("23505", 'duplicate key value violates unique constraint "registrations_pkey"'),
    ("23503", 'insert or update on table "registrations" violates foreign key constraint '
              '"registrations_webinar_id_fkey"'),
    ("23503", 'update or delete on table "webinars" violates foreign key constraint '
              '"registrations_webinar_id_fkey" on table "registrations"'),
    ("23502", 'null value in column "user_id" of relation "registrations" violates not-null constraint'),
    ("42501", "permission denied for table registrations"),
    ("42501", "permission denied for schema private"),
    ("42501", 'new row violates row-level security policy for table "registrations"'),
    ("42501", "must be owner of table registrations"),
    ("57014", "canceling statement due to statement timeout"),
    ("57014", "canceling statement due to user request"),
    ("40001", "could not serialize access due to concurrent update"),
    ("40001", "could not serialize access due to read/write dependencies among transactions"),
    ("40P01", "deadlock detected"),
    ("53300", "sorry, too many clients already"),
    ("53300", "remaining connection slots are reserved for non-replication superuser connections"),
    ("53300", 'too many connections for role "attendee"'),
    ("25P02", "current transaction is aborted, commands ignored until end of transaction block"),
    ("28P01", 'password authentication failed for user "authenticator"'),
    ("28000", 'no pg_hba.conf entry for host "10.0.0.7", user "x", database "postgres", no encryption'),
    ("42601", 'syntax error at or near "SELEC"'),
    ("42601", "syntax error at end of input"),
    ("22P02", 'invalid input syntax for type uuid: "abc"'),
    ("22007", 'invalid input syntax for type date: "1999-08-Jan"'),
    ("22012", "division by zero"),
    ("55P03", 'could not obtain lock on relation "registrations"'),
    ("57P01", "terminating connection due to administrator command"),
    ("42P17", 'infinite recursion detected in policy for relation "registrations"'),
    ("0A000", "cannot use subquery in check constraint"),
    ("58P01", 'could not open file "base/5/16384": No such file or directory'),
    ("42501", 'could not open file "base/5/16384": Permission denied'),
]

# Wording of other majors the catalog carries besides PostgreSQL 15's.
OTHER_MAJORS = [
    ("22P02", 'invalid input syntax for integer: "abc"'),  # PostgreSQL <= 11
    ("23502", 'null value in column "user_id" violates not-null constraint'),  # <= 12
    ("42501", "permission denied for relation registrations"),  # <= 10
    ("53300", "remaining connection slots are reserved for roles with the SUPERUSER attribute"),  # 16+
]


@pytest.fixture(scope="module")
def con():
    connection = loganalyze.connect()
    yield connection
    connection.close()


@pytest.mark.parametrize(("code", "message"), REAL_MESSAGES + OTHER_MAJORS)
def test_real_messages_get_the_code_the_server_logged(con, code, message):
    assert sqlstate.infer(con, [message]) == [code]


def test_text_no_server_message_has_gets_no_code(con):
    # RAISE EXCEPTION text of a user's function; nothing; empty
    assert sqlstate.infer(con, ["registration window closed for webinar 7", None, ""]) == [None, None, None]


def test_a_message_is_matched_whole(con):
    """Templates are anchored: a server message quoted inside other text is not it."""
    assert sqlstate.infer(con, ['webinar sync failed: relation "registration" does not exist!']) == [None]


def _load_tool(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules.setdefault(name, module)  # its dataclasses look their module up
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _unescape(cell: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), cell)


def _catalog_rows() -> list[dict[str, str]]:
    lines = CATALOG.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


def test_every_template_is_reached_by_a_message_it_describes(con):
    """Each template, filled in, is matched by the catalog (so its hash key and its LIKE
    pattern agree), and by a template with at least as much fixed text."""
    tool = _load_tool("build_sqlstate_catalog")
    samples = {"s": "abc", "m": "Broken pipe x", "c": "q"}
    rows = _catalog_rows()
    messages = []
    for row in rows:
        template = _unescape(row["template"])
        messages.append(re.sub(
            r"%%|" + tool.PLACEHOLDER.pattern,
            lambda m: "%" if m.group(0) == "%%" else samples.get(m.group(0)[-1], "12"),
            template,
        ))
    inferred = sqlstate.infer(con, messages)
    unreached = [r["template"] for r, code in zip(rows, inferred, strict=True) if code is None]
    assert not unreached, unreached[:10]


def test_shipped_catalog_agrees_with_its_generator():
    """like_pattern, literal_chars and the keys are what the generator derives from
    each template (the file was not edited by hand)."""
    tool = _load_tool("build_sqlstate_catalog")
    for row in _catalog_rows():
        template = _unescape(row["template"])
        assert _unescape(row["like_pattern"]) == tool.like_pattern(template), row
        assert int(row["literal_chars"]) == tool.literal_chars(template), row
        assert (_unescape(row["head_key"]), _unescape(row["tail_key"])) == tool.match_keys(template), row
    assert (CATALOG.parent / "sqlstate_catalog.COPYRIGHT").read_text(encoding="utf-8").startswith(
        "PostgreSQL Database Management System"
    )


LOG_WITHOUT_CODE = """\
2026-11-20 09:00:01.100 UTC [4101] authenticator@postgres ERROR:  column registrations.id does not exist at character 8
2026-11-20 09:00:01.100 UTC [4101] authenticator@postgres STATEMENT:  select registrations.id from registrations
2026-11-20 09:00:02.200 UTC [4102] authenticator@postgres ERROR:  deadlock detected
2026-11-20 09:00:02.200 UTC [4102] authenticator@postgres DETAIL:  Process 4102 waits for ShareLock on transaction 771; blocked by process 4103.
2026-11-20 09:00:03.300 UTC [4103] authenticator@postgres ERROR:  registration window closed
2026-11-20 09:00:04.400 UTC [4104] [unknown]@[unknown] FATAL:  password authentication failed for user "authenticator"
2026-11-20 09:00:05.500 UTC [4105] authenticator@postgres LOG:  duration: 1200.5 ms  statement: select pg_sleep(1.2)
"""

# The same kind of log with %e: a function raised "deadlock detected" itself, with its own code.
LOG_WITH_CODE = """\
2026-11-20 09:00:01.100 UTC [4101] 42703 authenticator@postgres ERROR:  column registrations.id does not exist at character 8
2026-11-20 09:00:02.200 UTC [4102] P0001 authenticator@postgres ERROR:  deadlock detected
"""


def test_ingest_infers_codes_only_where_the_line_has_none(tmp_path):
    log = tmp_path / "postgres.log"
    log.write_text(LOG_WITHOUT_CODE, encoding="utf-8")
    con = loganalyze.connect()
    ingest([log], con, log_line_prefix="%m [%p] %q%u@%d ")
    rows = con.execute(
        "SELECT severity, sqlstate, sqlstate_inferred FROM postgres_logs ORDER BY ts"
    ).fetchall()
    assert rows == [
        ("ERROR", "42703", True),
        ("ERROR", "40P01", True),
        ("ERROR", None, False),
        ("FATAL", "28P01", True),
        ("LOG", None, False),
    ]

    coded = tmp_path / "postgres-e.log"
    coded.write_text(LOG_WITH_CODE, encoding="utf-8")
    con = loganalyze.connect()
    ingest([coded], con, log_line_prefix="%m [%p] %e %q%u@%d ")
    assert con.execute(
        "SELECT sqlstate, sqlstate_inferred FROM postgres_logs ORDER BY ts"
    ).fetchall() == [("42703", False), ("P0001", False)]


def _hosted_row(n: int, message: str, severity: str, code: str | None) -> str:
    parsed = {"error_severity": severity, "sql_state_code": code, "process_id": 48211,
              "timestamp": f"2026-11-20 01:05:0{n}.112 UTC", "user_name": "authenticator",
              "database_name": "postgres", "session_id": "6741d2a0.bc53", "session_line_num": n}
    return json.dumps({
        "event_message": message, "id": f"7d3e0c1a-0005-4b2b-9c1d-00000000000{n}",
        "identifier": "abcdefghijklmnopqrst", "timestamp": 1763600700112000 + n * 1_000_000,
        "metadata": [{"host": "db-abcdefghijklmnopqrst", "parsed": [parsed]}],
    })


def test_hosted_export_rows_without_a_code_get_one_inferred(tmp_path):
    export = tmp_path / "postgres_logs.ndjson"
    export.write_text("\n".join([
        _hosted_row(1, "permission denied for table registrations", "ERROR", None),
        _hosted_row(2, "deadlock detected", "ERROR", "P0001"),  # a code the server logged stays
        _hosted_row(3, "connection authorized: user=authenticator database=postgres", "LOG", None),
        _hosted_row(4, "registration window closed", "ERROR", None),
    ]) + "\n", encoding="utf-8")
    con = loganalyze.connect()
    ingest([export], con)
    assert con.execute(
        "SELECT severity, sqlstate, sqlstate_inferred FROM postgres_logs ORDER BY ts"
    ).fetchall() == [
        ("ERROR", "42501", True),
        ("ERROR", "P0001", False),
        ("LOG", None, False),
        ("ERROR", None, False),
    ]
