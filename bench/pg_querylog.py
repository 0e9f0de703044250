"""A real PostgreSQL query log under pgbench, and loganalyze against pgBadger on it.

    python bench/pg_querylog.py                       # ≥ 1 GB log, 3 timed runs per tool
    python bench/pg_querylog.py --quick               # 2 MB, one run: keeps the script working
    python bench/pg_querylog.py --size-mb 1024 --keep-log /tmp/pg-querylog.log
    python bench/pg_querylog.py --reuse-log /tmp/pg-querylog.log   # time an existing log again

pgBadger's home ground: `log_min_duration_statement = 0`, so every statement of every
session is a `duration:` line that pgBadger normalizes and ranks. The log is written by a
private PostgreSQL cluster (Debian's server binaries, as tests/pg_server.py starts them)
in a temporary directory, with the collector off and the server's stderr redirected to
the file (`pg_ctl -l`), the way a container's stdout log is written, and with the
supabase/postgres log_line_prefix `%h %m [%p] %q%u@%d `. The workload is pgbench's
tpcb-like transactions plus a multi-line SELECT, in turn over the simple, extended and
prepared protocols (so `statement:`, `parse`/`bind`/`execute` lines and their `DETAIL:
parameters:` all occur), with a few failing statements after each round so ERRORs of
several SQLSTATEs exist.

Timed, each as its own process through bench/measure.py (wall, CPU, peak RSS), in a
rotating order per round: `loganalyze ingest`, DuckDB's bare line read, pgBadger -j 1
and -j 2, lnav's headless count. Then agreement: `duration:` entries counted in the file
by grep, stored by loganalyze (rows with duration_ms) and counted by pgBadger, and ERROR
counts by SQLSTATE. The section is printed as markdown (and written with --out).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pwd
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH_DIR))

import run as bench  # noqa: E402  (bench/run.py: peers, lnav's format, the markdown helpers)

from tests.pg_server import PgServer, find_bindir  # noqa: E402

PREFIX = "%h %m [%p] %q%u@%d "
MB = 1_000_000
APP_USER = "app"
APP_DB = "bench"

# A statement over several lines: in a stderr log its continuation lines start with a tab.
MULTILINE_SCRIPT = """\\set aid random(1, 100000 * :scale)
SELECT a.aid, a.abalance,
       b.bbalance
  FROM pgbench_accounts a
  JOIN pgbench_branches b ON b.bid = a.bid
 WHERE a.aid = :aid;
"""

# Failing statements run after each pgbench round (psql, simple protocol): each gives an
# ERROR line with its STATEMENT, some over several lines.
FAILING_SQL = """\
SELECT no_such_column FROM pgbench_accounts LIMIT 1;
INSERT INTO pgbench_branches (bid, bbalance) VALUES (1, 0);
SELECT *
  FROM no_such_table
 WHERE id = 1;
SELECT 1 / (SELECT count(*) - count(*) FROM pgbench_branches);
SET statement_timeout = '20ms';
SELECT pg_sleep(1);
RESET statement_timeout;
"""
FAILING_STATES = {"42703": 1, "23505": 1, "42P01": 1, "22012": 1, "57014": 1}


# ---------------------------------------------------------------- the log


@dataclass
class Cluster(PgServer):
    """tests/pg_server.py's throwaway cluster (initdb as the postgres user, stop by the
    postmaster's PID), started with the collector off: its stderr goes to `log`."""

    log: Path = Path("postgres.log")

    def start(self) -> None:
        if os.geteuid() == 0:  # initdb refuses root: the server runs as postgres
            self._run_as = ["runuser", "-u", "postgres", "--"]
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self.log.touch()
            os.chown(self.log, pw.pw_uid, pw.pw_gid)
        subprocess.run(self._server_cmd(str(self.bindir / "initdb"), "-D", str(self.data_dir), "-U", "postgres",
                                        "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"),
                       check=True, capture_output=True, text=True)
        conf = {
            "listen_addresses": "'127.0.0.1'", "port": str(self.port),
            "unix_socket_directories": f"'{self.root}'",
            "logging_collector": "off", "log_destination": "'stderr'",
            "log_line_prefix": "'" + self.log_line_prefix + "'", "log_timezone": "'UTC'", "lc_messages": "'C'",
            "log_min_duration_statement": str(self.log_min_duration_ms), "log_min_error_statement": "error",
            "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
            "max_connections": "20", "shared_buffers": "64MB", "autovacuum": "off",
        }
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as fh:
            fh.write("\n# loganalyze query-log benchmark cluster\n")
            fh.writelines(f"{k} = {v}\n" for k, v in conf.items())
        subprocess.run(self._server_cmd(str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log),
                                        "-w", "-t", "60", "start"), check=True, capture_output=True, text=True)
        self.pid = int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])

    def run_sql(self, sql: str, *, user: str, db: str) -> None:
        """A script whose errors are wanted (the failing statements)."""
        subprocess.run([str(self.bindir / "psql"), "-X", "-q", "-h", "127.0.0.1", "-p", str(self.port),
                        "-U", user, "-d", db, "-v", "ON_ERROR_STOP=0", "-f", "-"],
                       input=sql, capture_output=True, text=True, timeout=300, check=False)

    def pgbench(self, *args: str) -> None:
        proc = subprocess.run([str(self.bindir / "pgbench"), "-h", "127.0.0.1", "-p", str(self.port),
                               "-U", APP_USER, *args, APP_DB], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise bench.BenchError("pgbench failed: " + proc.stderr.strip()[-500:])


def write_query_log(log: Path, size_bytes: int, *, quick: bool) -> dict[str, object]:
    """Run pgbench against a private cluster until its log holds `size_bytes`."""
    bindir = find_bindir()
    if bindir is None:
        raise bench.BenchError("no PostgreSQL 15+ server under /usr/lib/postgresql "
                               "(bash .ci/start-postgres.sh installs it)")
    root = Path(tempfile.mkdtemp(prefix="loganalyze-pgq-"))
    os.chmod(root, 0o755)
    cluster = Cluster(bindir, root, bench_port(), PREFIX, 0, log=log)
    script = root / "multiline.sql"
    script.write_text(MULTILINE_SCRIPT, encoding="utf-8")
    os.chmod(script, 0o644)
    modes = ("simple", "extended", "prepared")
    plan = {"scale": 1 if quick else 4, "clients": 4, "threads": 2,
            "round": "-t 60" if quick else "-T 20", "scripts": "tpcb-like@9 + multi-line SELECT@1",
            "protocols": "/".join(modes)}
    started = time.monotonic()
    rounds = 0
    try:
        cluster.start()
        cluster.run_sql(f"CREATE ROLE {APP_USER} LOGIN; CREATE DATABASE {APP_DB} OWNER {APP_USER};",
                        user="postgres", db="postgres")
        cluster.pgbench("-i", "-q", "-s", str(plan["scale"]))
        while log.stat().st_size < size_bytes:
            mode = modes[rounds % len(modes)]
            cluster.pgbench("-n", "-c", "4", "-j", "2", "-M", mode, *str(plan["round"]).split(),
                            "-b", "tpcb-like@9", "-f", f"{script}@1")
            cluster.run_sql(FAILING_SQL, user=APP_USER, db=APP_DB)
            rounds += 1
            bench.say(f"querylog: round {rounds} ({mode}): {log.stat().st_size / MB:,.0f} MB")
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    plan["rounds"] = rounds
    plan["seconds"] = round(time.monotonic() - started)
    return plan


def bench_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- counting the file


def grep_count(pattern: str, path: Path) -> int:
    out = subprocess.run(["grep", "-c", "-a", "-E", pattern, str(path)], capture_output=True, text=True,
                         check=False)
    return int(out.stdout.strip() or 0)


def file_facts(log: Path) -> dict[str, int]:
    """Counts taken from the file with grep, neither tool's parser."""
    head = r"^\S* ?[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+ UTC \[[0-9]+\] "
    return {
        "lines": int(subprocess.run(["wc", "-l", str(log)], capture_output=True, text=True,
                                    check=True).stdout.split()[0]),
        "duration": grep_count(head + r"\S*@\S* LOG:  duration: ", log),
        "statement": grep_count(head + r"\S*@\S* LOG:  duration: [0-9.]+ ms  statement: ", log),
        "parse": grep_count(head + r"\S*@\S* LOG:  duration: [0-9.]+ ms  parse ", log),
        "bind": grep_count(head + r"\S*@\S* LOG:  duration: [0-9.]+ ms  bind ", log),
        "execute": grep_count(head + r"\S*@\S* LOG:  duration: [0-9.]+ ms  execute ", log),
        "error": grep_count(head + r"\S*@\S* ERROR:  ", log),
        "entries": grep_count(head + r"(\S*@\S* )?(LOG|ERROR|FATAL|PANIC|WARNING|NOTICE|INFO|DEBUG[1-5]?):  ", log),
        "tab": grep_count("^\t", log),
    }


# ---------------------------------------------------------------- timing


@dataclass
class Timed:
    """One command under test and its timed runs (wall s, CPU s, peak RSS MB)."""

    name: str
    argv: list[str]
    env: dict[str, str] | None = None
    db: Path | None = None  # deleted before each run: every ingest starts from nothing
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    stdout: str = ""
    failure: str | None = None

    def once(self, workdir: Path) -> None:
        if self.db is not None:
            bench.remove_db(self.db)()
        result = bench.run_measured(self.argv, workdir, env=self.env)
        measured = json.loads((workdir / ".measure.json").read_text())
        self.wall.append(result.seconds)
        self.cpu.append(measured["cpu_seconds"])
        self.rss_mb.append(result.peak_rss_mb)
        self.stdout = result.stdout


def paired(numerator: Timed, denominator: Timed, attr: str = "wall") -> float | None:
    """Median over rounds of numerator/denominator, each pair from the same round."""
    pairs = [a / b for a, b in zip(getattr(numerator, attr), getattr(denominator, attr), strict=False)]
    return statistics.median(pairs) if pairs else None


def time_rounds(tools: list[Timed], runs: int, workdir: Path, after_round) -> None:
    """`runs` rounds, the order rotating each round so each tool runs first as often as
    the others; no warm-up round (counting the file with grep has read it into the page
    cache for every tool alike). `after_round` writes what is measured so far."""
    for r in range(runs):
        k = r % len(tools)
        for tool in tools[k:] + tools[:k]:
            if tool.failure is not None:
                continue
            bench.say(f"querylog: run {r + 1}/{runs} {tool.name}")
            try:
                tool.once(workdir)
            except bench.BenchError as exc:
                tool.failure = str(exc)
                bench.say(f"querylog: {tool.name} FAILED: {exc}")
        after_round(r + 1)


# ---------------------------------------------------------------- agreement


def statement_kind_sql() -> str:
    """The word after `duration: N ms  `: statement, parse, bind or execute."""
    return "rtrim(split_part(ltrim(substr(message, strpos(message, ' ms ') + 4)), ' ', 1), ':')"


def ours_counts(db: Path) -> dict[str, object]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        kinds = {k: (int(n), float(ms or 0)) for k, n, ms in con.execute(
            "SELECT " + statement_kind_sql() + " AS kind, count(*), sum(duration_ms) FROM postgres_logs "
            "WHERE duration_ms IS NOT NULL GROUP BY kind").fetchall()}
        (rows, with_statement, multi_line) = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE duration_ms IS NOT NULL AND statement IS NOT NULL), "
            "count(*) FILTER (WHERE duration_ms IS NOT NULL AND contains(statement, chr(10))) "
            "FROM postgres_logs").fetchone()  # type: ignore[misc]
        (rejected,) = con.execute("SELECT count(*) FROM rejected_rows").fetchone()  # type: ignore[misc]
        errors = dict(con.execute(
            "SELECT coalesce(sqlstate, '?'), count(*) FROM postgres_logs WHERE severity = 'ERROR' "
            "GROUP BY 1").fetchall())
        return {"kinds": kinds, "rows": int(rows), "with_statement": int(with_statement),
                "multi_line": int(multi_line), "rejected": int(rejected), "errors": errors}
    finally:
        con.close()


def sqlstate_of(db: Path, example: str) -> str:
    """The SQLSTATE loganalyze gave the ERROR whose message starts like `example`."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute(
            "SELECT sqlstate FROM postgres_logs WHERE severity = 'ERROR' AND "
            "(starts_with($ex, message) OR starts_with(message, $ex)) "
            "GROUP BY sqlstate ORDER BY count(*) DESC LIMIT 1", {"ex": example}).fetchone()
    finally:
        con.close()
    return row[0] if row and row[0] else "?"


def pgbadger_counts(path: Path) -> dict[str, object]:
    """Queries (statement + execute durations), their total ms, parse/bind totals, and
    the ERROR classes with an example each, from pgBadger's JSON output."""
    doc = json.loads(path.read_text(errors="replace"))
    overall = doc["overall_stat"]
    durations = overall.get("postgres", {}).get("queries_duration") or {}
    normalized = (doc.get("normalyzed_info") or {}).get("postgres", {})
    classes = {}
    for key, info in (doc.get("error_info") or {}).get("postgres", {}).items():
        example = (info.get("error") or [key])[0]
        # pgBadger files a few LOG events (e.g. "database system was shut down") under
        # its error classes too; only ERROR lines are compared
        if example.startswith("ERROR:"):
            classes[key.removeprefix("ERROR:").strip()] = (int(info.get("count", 0)),
                                                           example.removeprefix("ERROR:").strip())
    return {
        "queries": int(overall.get("postgres", {}).get("queries_number", 0)),
        "execute_ms": float(durations.get("execute", 0)),
        "prepare_ms": float(durations.get("prepare", 0)),
        "bind_ms": float(durations.get("bind", 0)),
        "normalized": len(normalized),
        "normalized_count": sum(int(v.get("count", 0)) for v in normalized.values()),
        "lines": int(doc.get("nlines", 0) or 0),
        "classes": classes,
    }


# ---------------------------------------------------------------- the section


def server_version() -> str:
    bindir = find_bindir()
    if bindir is None:
        return "?"
    out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip().removeprefix("postgres (PostgreSQL) ") or "?"


def loads() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def same(a: object, b: object) -> str:
    return "yes" if a == b else "**no**"


def render(*, log: Path, facts: dict[str, int], workload: dict[str, object], tools: list[Timed],
           runs_done: int, runs: int, ours: dict[str, object] | None, theirs: dict[str, object] | None,
           theirs_j2: dict[str, object] | None, states: dict[str, str], meta: dict[str, str],
           workdir: Path, regenerate: str) -> str:
    nbytes = log.stat().st_size
    by_name = {t.name: t for t in tools}
    la = by_name["loganalyze ingest"]
    out = ["## 9. Postgres query log under pgbench vs pgBadger", ""]
    out.append(
        f"Run {meta['started']} UTC on the code at commit {meta['commit']}, {runs_done} timed run(s) per "
        f"tool{'' if runs_done == runs else f' (of {runs} planned)'}, median; no warm-up round (the "
        "grep counts below read the whole file just before, so every tool starts from the page cache); "
        "the tools run in a rotating order within each round and ratios are taken round by round, "
        f"then the median. Machine: {os.cpu_count()} cores shared with other work; load averages "
        f"(1/5/15 min) at start {meta['load_start']}, at end {meta.get('load_end', loads())}.")
    out.append("")
    kinds = ", ".join(f"{k} {facts[k]:,}" for k in ("statement", "parse", "bind", "execute"))
    out.append(
        f"Input: a stderr log {bench.fmt_mb(nbytes)}, {facts['lines']:,} lines, {facts['duration']:,} "
        f"`duration:` entries ({kinds}), {facts['error']:,} ERROR entries, {facts['tab']:,} tab-indented "
        f"continuation lines (multi-line statements), written by PostgreSQL {meta['server']} with "
        f"`log_min_duration_statement = 0`, `logging_collector = off` (stderr redirected to the file by "
        f"`pg_ctl -l`), `log_line_prefix = '{PREFIX}'`, `log_timezone = 'UTC'`. Workload: `pgbench -i "
        f"-s {workload.get('scale', '?')}`, then {workload.get('rounds', '?')} rounds of `pgbench -n -c "
        f"{workload.get('clients', '?')} -j {workload.get('threads', '?')} {workload.get('round', '?')} "
        f"-b tpcb-like@9 -f multiline.sql@1`, the protocol turning over "
        f"{workload.get('protocols', '?')} (`-M`), each round followed by five failing statements in "
        "psql (42703, 23505, 42P01 over three lines, 22012, 57014); "
        f"{workload.get('seconds', '?')} s to write. Lines/s below count lines of the file for every tool.")
    out.append("")
    out.append("| tool | median | range | MB/s | lines/s | CPU s (median) | peak RSS MB |")
    out.append("|---|---|---|---|---|---|---|")
    for t in tools:
        if not t.wall:
            out.append(f"| {t.name} | {'failed' if t.failure else '—'} | — | — | — | — | — |")
            continue
        med = statistics.median(t.wall)
        out.append(f"| {t.name} | {med:.2f} s | {min(t.wall):.2f}–{max(t.wall):.2f} s | "
                   f"{nbytes / MB / med:,.1f} | {facts['lines'] / med:,.0f} | "
                   f"{statistics.median(t.cpu):.2f} | {max(t.rss_mb):,.0f} |")
    out.append("")
    for t in tools:
        if t.failure:
            out.append(f"{t.name} failed: `{t.failure}`")
            out.append("")
    ratios = []
    for name, target in (("pgBadger -j 1", 30.0), ("pgBadger -j 2", 15.0), ("lnav headless count", 0.5)):
        peer = by_name.get(name)
        if peer is None or not peer.wall or not la.wall:
            continue
        wall, cpu = paired(peer, la), paired(peer, la, "cpu")
        ratios.append(f"loganalyze throughput / {name}: **{bench.fmt_x(wall)}** wall (target ≥ "
                      f"{target:g}×: {'met' if wall is not None and wall >= target else 'missed'}), "
                      f"{bench.fmt_x(cpu)} in CPU seconds")
    bare = by_name.get("DuckDB bare CTAS of the lines")
    if bare is not None and bare.wall and la.wall:
        ratios.append(f"loganalyze ingest time / DuckDB's bare line read: {bench.fmt_x(paired(la, bare))}")
    out.append("Paired per round: " + "; ".join(ratios) + ".")
    out.append("")
    if ours and theirs:
        out += agreement(facts, ours, theirs, theirs_j2, states)
    lnav = by_name.get("lnav headless count")
    if lnav is not None and lnav.wall:
        words = lnav.stdout.split()[2:]  # after the header "log_level n"
        out += ["lnav's own count by level (it folds the tab-indented lines into the line above): "
                + ", ".join(f"{words[i]} {words[i + 1]}" for i in range(0, len(words) - 1, 2)) + ".", ""]
    out.append("Commands (the log and databases under a temporary work directory):")
    out.append("")
    out.append("```")
    out += [shlex.join(bench.display_argv(t.argv, workdir)) for t in tools]
    out.append("```")
    out.append("")
    out.append(f"Regenerate (writes the log under /tmp, prints this section): `{regenerate}`")
    out.append("")
    return "\n".join(out)


def agreement(facts: dict[str, int], ours: dict[str, object], theirs: dict[str, object],
              theirs_j2: dict[str, object] | None, states: dict[str, str]) -> list[str]:
    kinds: dict[str, tuple[int, float]] = ours["kinds"]  # type: ignore[assignment]

    def n(kind: str) -> int:
        return kinds.get(kind, (0, 0.0))[0]

    def ms(*names: str) -> float:
        return round(sum(kinds.get(k, (0, 0.0))[1] for k in names), 3)

    queries_file = facts["statement"] + facts["execute"]
    queries_ours = n("statement") + n("execute")
    rows = [
        ("log entries (prefixed lines other than DETAIL, STATEMENT, ...)", f"{facts['entries']:,}",
         f"{ours['rows']:,}", "—", same(facts["entries"], ours["rows"])),
        ("`duration:` entries", f"{facts['duration']:,}", f"{sum(v[0] for v in kinds.values()):,}",
         "— (counts statement + execute only)", same(facts["duration"], sum(v[0] for v in kinds.values()))),
        ("queries: `statement:` + `execute` durations", f"{queries_file:,}", f"{queries_ours:,}",
         f"{theirs['queries']:,}", same(queries_file, queries_ours) if queries_ours == theirs["queries"]
         else "**no**"),
        ("their total duration, ms", "—", f"{ms('statement', 'execute'):,.3f}",
         f"{theirs['execute_ms']:,.3f}", same(round(ms('statement', 'execute'), 1), round(theirs['execute_ms'], 1))),
        ("`parse` durations: count / total ms", f"{facts['parse']:,}", f"{n('parse'):,} / {ms('parse'):,.3f}",
         f"— / {theirs['prepare_ms']:,.3f}", same(round(ms('parse'), 1), round(theirs['prepare_ms'], 1))),
        ("`bind` durations: count / total ms", f"{facts['bind']:,}", f"{n('bind'):,} / {ms('bind'):,.3f}",
         f"— / {theirs['bind_ms']:,.3f}", same(round(ms('bind'), 1), round(theirs['bind_ms'], 1))),
    ]
    out = ["Agreement. Counts from the file itself (grep on the prefix and `LOG:  duration: N ms  <kind>`), "
           "from loganalyze's `postgres_logs` (rows with `duration_ms`, by the word after the duration) and "
           "from pgBadger -j 1's JSON (`overall_stat`):", "",
           "| count | file (grep) | loganalyze | pgBadger | same |", "|---|---|---|---|---|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    out.append("")
    out.append(
        f"loganalyze stored {ours['rows']:,} rows, rejected {ours['rejected']:,}; every duration row "
        f"carries its statement text ({ours['with_statement']:,} rows with both), "
        f"{ours['multi_line']:,} of them a statement over several lines, rebuilt from the tab-indented "
        f"continuation lines; the `DETAIL:  parameters:` line of a bind/execute is that row's `detail`. "
        f"pgBadger groups the {theirs['queries']:,} queries into {theirs['normalized']:,} normalized "
        "statements (literals and parameters replaced by `?`) and ranks them; loganalyze does not "
        "normalize: it keeps each statement's text and `duration_ms`, and the `rpc_latency` detector "
        "groups durations by the relation or function a statement targets (else its command tag), over "
        "every `duration:` row, parse and bind included, where pgBadger's query counts take "
        "`statement:` and `execute` only."
        + ("" if theirs_j2 is None else
           f" pgBadger -j 2 counted {theirs_j2['queries']:,} queries "
           f"({'the same as' if theirs_j2['queries'] == theirs['queries'] else 'not the same as'} -j 1)."))
    out.append("")
    ours_errors: dict[str, int] = ours["errors"]  # type: ignore[assignment]
    per_state: dict[str, int] = {}
    out += ["ERROR counts. pgBadger's classes (by normalized message; the prefix has no `%e`, so it has "
            "no SQLSTATE) and the SQLSTATE loganalyze gives each class's example:", "",
            "| pgBadger class | pgBadger count | SQLSTATE |", "|---|---|---|"]
    classes: dict[str, tuple[int, str]] = theirs["classes"]  # type: ignore[assignment]
    for cls, (count, _example) in sorted(classes.items()):
        state = states.get(cls, "?")
        per_state[state] = per_state.get(state, 0) + count
        out.append(f"| `{cls}` | {count:,} | {state} |")
    out += ["", "| SQLSTATE | loganalyze | pgBadger | same |", "|---|---|---|---|"]
    for s in sorted(set(ours_errors) | set(per_state)):
        out.append(f"| {s} | {ours_errors.get(s, 0):,} | {per_state.get(s, 0):,} | "
                   f"{same(ours_errors.get(s, 0), per_state.get(s, 0))} |")
    out.append("")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=1024.0,
                        help="write the log until it holds this many MB (10^6 bytes); default 1024")
    parser.add_argument("--quick", action="store_true", help="a 2 MB log, one run (CI smoke)")
    parser.add_argument("--runs", type=int, help="timed runs per tool (default 3, quick 1)")
    parser.add_argument("--keep-log", type=Path, help="write the log here and keep it")
    parser.add_argument("--reuse-log", type=Path, help="time this log (written by --keep-log) again")
    parser.add_argument("--write-only", action="store_true",
                        help="write the log (with --keep-log) and stop: time it later with --reuse-log")
    parser.add_argument("--out", type=Path, help="also write the section here (after every round)")
    parser.add_argument("--no-install", action="store_true", help="skip missing pgBadger/lnav, no apt")
    args = parser.parse_args(argv)
    shown = shlex.join(["python", "bench/pg_querylog.py", *(argv if argv is not None else sys.argv[1:])])
    runs = args.runs or (1 if args.quick else 3)
    size = int((2.0 if args.quick else args.size_mb) * MB)
    meta = {"started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"), "commit": bench.git_head(),
            "load_start": loads(), "server": server_version()}
    peers = bench.ensure_peers(install=not args.no_install)
    with tempfile.TemporaryDirectory(prefix="loganalyze-pgq-bench-") as tmp:
        workdir = Path(tmp)
        os.chmod(workdir, 0o755)  # the server (user postgres) writes its log here
        if args.reuse_log:
            log = args.reuse_log.resolve()
            sidecar = log.with_name(log.name + ".workload.json")
            workload = json.loads(sidecar.read_text()) if sidecar.exists() else {}
        else:
            log = (args.keep_log or workdir / "pg-querylog.log").resolve()
            log.unlink(missing_ok=True)
            workload = write_query_log(log, size, quick=args.quick)
            if args.keep_log:
                log.with_name(log.name + ".workload.json").write_text(json.dumps(workload))
            if args.write_only:
                bench.say(f"querylog: wrote {log} ({log.stat().st_size / MB:,.1f} MB)")
                return 0
        bench.say(f"querylog: {log.stat().st_size / MB:,.1f} MB; counting with grep")
        facts = file_facts(log)
        db, lines_db = workdir / "q.duckdb", workdir / "q-lines.duckdb"
        pgb = {j: workdir / f"pgbadger-j{j}.json" for j in (1, 2)}
        tools = [
            Timed("loganalyze ingest", bench.ingest_argv([log], db, "--log-line-prefix", PREFIX), db=db),
            Timed("DuckDB bare CTAS of the lines", [*bench.BARE, "lines", str(lines_db), str(log)], db=lines_db),
        ]
        if peers.get("pgbadger"):
            # its pid file in the work directory: with the default /tmp/pgbadger.pid a second
            # pgBadger anywhere on the machine refuses to start (exit 3)
            tools += [Timed(f"pgBadger -j {j}", ["pgbadger", "-q", "-f", "stderr", "--prefix", PREFIX,
                                                 "-j", str(j), "-x", "json", "-o", str(pgb[j]),
                                                 "--pid-dir", str(workdir), str(log)])
                      for j in (1, 2)]
        if peers.get("lnav"):
            tools.append(Timed("lnav headless count", ["lnav", "-n", "-c", bench.LNAV_QUERY, str(log)],
                               env=bench.lnav_home(workdir)))
        state: dict[str, object] = {"runs_done": 0}

        def document() -> str:
            ours = theirs = theirs_j2 = None
            states: dict[str, str] = {}
            if tools[0].wall and db.exists() and pgb[1].exists():
                ours, theirs = ours_counts(db), pgbadger_counts(pgb[1])
                theirs_j2 = pgbadger_counts(pgb[2]) if pgb[2].exists() else None
                classes: dict[str, tuple[int, str]] = theirs["classes"]  # type: ignore[assignment]
                states = {cls: sqlstate_of(db, example) for cls, (_n, example) in classes.items()}
            return render(log=log, facts=facts, workload=workload, tools=tools,
                          runs_done=int(state["runs_done"]), runs=runs, ours=ours, theirs=theirs,
                          theirs_j2=theirs_j2, states=states, meta=meta, workdir=workdir,
                          regenerate=shown)

        def after_round(done: int) -> None:
            state["runs_done"] = done
            if args.out:
                args.out.write_text(document() + ("" if done == runs else "\n_(run in progress)_\n"),
                                    encoding="utf-8")

        time_rounds(tools, runs, workdir, after_round)
        meta["load_end"] = loads()
        text = document()
        if args.out:
            args.out.write_text(text, encoding="utf-8")
        print(text)
        if args.reuse_log is None and args.keep_log is None:
            log.unlink(missing_ok=True)
    return 0 if all(t.failure is None for t in tools) else 1


if __name__ == "__main__":
    sys.exit(main())
