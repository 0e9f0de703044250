"""The engine's own ceiling: DuckDB reading the same files with no loganalyze logic.

    python bench/duckdb_bare.py ctas  DB FILE...   CREATE TABLE t<i> AS SELECT * FROM read_json(FILE)
    python bench/duckdb_bare.py count FILE...      SELECT count(*) FROM read_json(FILE)
    python bench/duckdb_bare.py lines DB FILE...   CREATE TABLE t<i> AS the file's raw lines (text logs)

Runs as its own process, like `loganalyze ingest`, so both pay interpreter start-up and
both are measured the same way. Prints the row count on stdout.
"""

from __future__ import annotations

import sys

import duckdb

# Table names come from this closed set, one per input file, never from the input.
TABLE_NAMES = tuple(f"t{i}" for i in range(64))


def main(argv: list[str]) -> int:
    mode, rest = argv[0], argv[1:]
    if mode == "count":
        con = duckdb.connect()
        files = rest
    else:
        con = duckdb.connect(rest[0])
        files = rest[1:]
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET enable_progress_bar = false")  # stdout carries the row count only
    rows = 0
    for name, path in zip(TABLE_NAMES, files, strict=False):
        if mode == "count":
            (n,) = con.execute(
                "SELECT count(*) FROM read_json(?, format = 'newline_delimited')", [path]
            ).fetchone()
        elif mode == "ctas":
            con.execute(
                "CREATE TABLE " + name + " AS SELECT * FROM read_json(?, format = 'newline_delimited')",
                [path],
            )
            (n,) = con.execute("SELECT count(*) FROM " + name).fetchone()
        elif mode == "lines":
            # One VARCHAR column per line: no quoting, no delimiter that occurs in logs.
            con.execute(
                "CREATE TABLE " + name + " AS SELECT * FROM read_csv(?, columns = {'line': 'VARCHAR'}, "
                "header = false, delim = E'\\x01', quote = '', escape = '', auto_detect = false)",
                [path],
            )
            (n,) = con.execute("SELECT count(*) FROM " + name).fetchone()
        else:
            raise SystemExit(f"unknown mode {mode!r}: ctas, count or lines")
        rows += int(n)
    print(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
