"""SQLSTATE of a PostgreSQL error message whose log line does not carry one.

PostgreSQL writes the SQLSTATE only when `%e` is in `log_line_prefix` (csvlog and jsonlog
always carry it). Without it the code is inferred from the message text: the message is
matched against the server's own message templates (`sqlstate_catalog.tsv`, generated
from the PostgreSQL sources by `tools/build_sqlstate_catalog.py`), and the template with
the most fixed text wins.

The matching is plain SQL on the connection: `la_infer_sqlstate(msg)` (macros.sql) is a
scalar subquery over the temp table this module loads. Readers apply it to the distinct
messages that need a code — a reader stages the message in FROM_COLUMN and
`infer_staged` fills the codes in; the Postgres readers join a distinct-message relation
themselves — so each distinct message is matched once however many lines repeat it, and
the wide rows never pass through the subquery's join. Templates are LIKE patterns (printf placeholders → `%`): DuckDB compiles a
regex that comes from a column once per row, which made regex matching over a hundred
times slower than LIKE on the same pairs. A template is reached by hash joins on the
message's first 24, 16, 8 and 4 characters (each template is keyed by the longest its
fixed head allows), or its last four when the template starts with a placeholder; the
few with placeholders at both ends are tried on every message.
"""

from __future__ import annotations

from importlib import resources

import duckdb

CATALOG_FILE = "sqlstate_catalog.tsv"
TABLE = "_la_sqlstate_catalog"

# The TSV escapes tab, newline, carriage return and backslash as \t \n \r \\.
_UNESCAPE = (
    "replace(replace(replace(replace(replace({col}, '\\\\', chr(1)), '\\t', chr(9)), "
    "'\\n', chr(10)), '\\r', chr(13)), chr(1), '\\')"
)

_LOAD_SQL = f"""
CREATE OR REPLACE TEMP TABLE {TABLE} AS
SELECT sqlstate, condition, {_UNESCAPE.format(col="template")} AS template,
    {_UNESCAPE.format(col="like_pattern")} AS like_pattern, literal_chars,
    nullif({_UNESCAPE.format(col="head_key")}, '') AS head_key,
    nullif({_UNESCAPE.format(col="tail_key")}, '') AS tail_key,
    weight, origin,
    -- most fixed text wins; then the server's own sources over extensions and other
    -- majors' wording; then the code more raise sites use; then a fixed order
    row_number() OVER (ORDER BY literal_chars,
        CASE WHEN origin LIKE '%wording' THEN 0 WHEN origin LIKE '%contrib' THEN 1 ELSE 2 END,
        weight, sqlstate DESC) AS preference
FROM read_csv($path, delim = '\t', header = true, quote = '', escape = '',
    columns = {{'sqlstate': 'VARCHAR', 'condition': 'VARCHAR', 'template': 'VARCHAR',
               'like_pattern': 'VARCHAR', 'literal_chars': 'INTEGER', 'head_key': 'VARCHAR',
               'tail_key': 'VARCHAR', 'weight': 'INTEGER', 'origin': 'VARCHAR'}})
"""


FROM_COLUMN = "_sqlstate_from"
"""A reader that wants codes inferred stages this column: the message to infer from, NULL
on rows that need no code (a code already logged, a line that is no error)."""


def infer_staged(con: duckdb.DuckDBPyConnection, staged: str, *, flag: bool) -> None:
    """Fill `sqlstate` (and `sqlstate_inferred` with `flag`) of the staged rows whose
    FROM_COLUMN fits a template: each distinct message matched once, the codes joined
    back, after the rows are staged (inside the reader's select the subquery would carry
    every wide row through its join)."""
    table = '"' + staged.replace('"', '""') + '"'
    con.execute(
        "UPDATE " + table + " SET sqlstate = i.inferred"
        + (", sqlstate_inferred = true" if flag else "")
        + " FROM (SELECT m, la_infer_sqlstate(m) AS inferred FROM (SELECT DISTINCT " + FROM_COLUMN
        + " AS m FROM " + table + " WHERE " + FROM_COLUMN + " IS NOT NULL)) i"
        " WHERE " + table + "." + FROM_COLUMN + " = i.m AND i.inferred IS NOT NULL"
    )


def catalog_path() -> str:
    return str(resources.files("loganalyze.ingest").joinpath(CATALOG_FILE))


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Load the template catalog into the connection's temp table (once per connection)."""
    loaded = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = $name", {"name": TABLE}
    ).fetchone()
    if loaded and loaded[0]:
        return
    con.execute(_LOAD_SQL, {"path": catalog_path()})


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """The SQL helpers every reader may use (ingest/macros.sql, temporary: they live with
    the connection), with the catalog table `la_infer_sqlstate` among them reads."""
    install(con)
    con.execute(resources.files("loganalyze.ingest").joinpath("macros.sql").read_text(encoding="utf-8"))


def infer(con: duckdb.DuckDBPyConnection, messages: list[str]) -> list[str | None]:
    """The inferred SQLSTATE of each message (None where no template matches)."""
    install_macros(con)
    rows = con.execute(
        "SELECT la_infer_sqlstate(m) FROM unnest($messages) WITH ORDINALITY AS t(m, i) ORDER BY i",
        {"messages": messages},
    ).fetchall()
    return [r[0] for r in rows]
