"""Benchmarks: loganalyze against DuckDB itself, pgBadger and lnav, on the same files.

    python bench/run.py --quick                  # tiny sizes, one run each (CI keeps it working)
    python bench/run.py --out bench/RESULTS.md   # the full run, by hand, on a quiet machine

Every timing is a separate process measured from outside (wall time, and peak RSS from
`wait4` in bench/measure.py), the way a user runs the tools. Each figure is the median of `--runs` runs after
one warm-up round; the tools being compared run in a rotating order within each round,
and ratios are taken round by round, because the machine is shared and noisy.

Sections (see bench/README.md): 1 hosted ingest vs bare DuckDB, 2 Postgres stderr vs
pgBadger and lnav, 3 detection at >= 10 million events, 4 peak memory of a 5 GB ingest,
5 the scaling curve. Inputs are generated with `loganalyze.synth` (the `synth` command's
library function) into the work directory and removed at the end unless --keep-data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PYTHON = sys.executable
LOGANALYZE = [PYTHON, "-m", "loganalyze"]
BARE = [PYTHON, str(BENCH_DIR / "duckdb_bare.py")]
INSTALL_PEERS = REPO / ".ci" / "install-bench-tools.sh"
LNAV_FORMAT = BENCH_DIR / "lnav_pg_stderr.json"

MB = 1_000_000
GB = 1_000_000_000
HOSTED_FILES = ("edge_logs.drain.ndjson", "postgres_logs.drain.ndjson", "auth_logs.drain.ndjson")
PG_LOG = "supabase-db.log"
# synth's self-hosted Postgres writes with the supabase/postgres prefix; pgBadger needs it
# spelled out, loganalyze gets the same so neither tool guesses.
PG_PREFIX = "%h %m [%p] %q%u@%d "
LNAV_QUERY = ";SELECT log_level, count(*) AS n FROM all_logs GROUP BY log_level ORDER BY log_level"


@dataclass(frozen=True)
class Plan:
    """Sizes and repetitions of one benchmark run."""

    quick: bool
    runs: int
    warmup: bool
    hosted_edge_bytes: int
    """Section 1: the edge_logs NDJSON export is at least this big."""
    pg_log_bytes: int
    """Section 2: the Postgres stderr log is at least this big."""
    detection_events: int
    """Section 3: the database holds at least this many events."""
    memory_bytes: int
    """Section 4: the exports ingested for peak RSS add up to at least this."""
    scaling_bytes: tuple[int, ...]
    """Section 5: export sizes of the scaling curve."""
    users: int = 1000
    pg_users: int = 5000


FULL = Plan(
    quick=False,
    runs=3,
    warmup=True,
    hosted_edge_bytes=1 * GB,
    pg_log_bytes=1 * GB,
    detection_events=10_000_000,
    memory_bytes=5 * GB,
    scaling_bytes=(GB // 10, GB // 2, 1 * GB, 2 * GB),
)
QUICK = Plan(
    quick=True,
    runs=1,
    warmup=False,
    hosted_edge_bytes=4 * MB,
    pg_log_bytes=2 * MB,
    detection_events=150_000,
    memory_bytes=8 * MB,
    scaling_bytes=(4 * MB, 12 * MB),
    users=100,
    pg_users=200,
)


def scaled(plan: Plan, factor: float) -> Plan:
    if factor == 1.0:
        return plan

    def s(n: int) -> int:
        return max(1, int(n * factor))

    return Plan(
        quick=plan.quick,
        runs=plan.runs,
        warmup=plan.warmup,
        hosted_edge_bytes=s(plan.hosted_edge_bytes),
        pg_log_bytes=s(plan.pg_log_bytes),
        detection_events=s(plan.detection_events),
        memory_bytes=s(plan.memory_bytes),
        scaling_bytes=tuple(s(b) for b in plan.scaling_bytes),
        users=plan.users,
        pg_users=plan.pg_users,
    )


class BenchError(Exception):
    pass


# ---------------------------------------------------------------- progress


class Progress:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, text: str) -> None:
        spent = int(time.monotonic() - self.started)
        stamp = dt.datetime.now().strftime("%H:%M:%S")
        print(f"[{stamp} +{spent // 60}m{spent % 60:02d}s] {text}", file=sys.stderr, flush=True)


say = Progress()


# ---------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_mb: float
    stdout: str


@dataclass
class Tool:
    """One command under test. `prepare` runs before each timed run (not timed)."""

    name: str
    argv: list[str]
    env: dict[str, str] | None = None
    prepare: Callable[[], None] | None = None
    runs: list[Run] = field(default_factory=list)
    failure: str | None = None

    def once(self, workdir: Path) -> Run:
        if self.prepare:
            self.prepare()
        return run_measured(self.argv, workdir, env=self.env)

    @property
    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def peak_rss_mb(self) -> float:
        return max(r.peak_rss_mb for r in self.runs)


def run_measured(argv: Sequence[str], workdir: Path, *, env: dict[str, str] | None = None) -> Run:
    """Run a command through bench/measure.py: wall time and the command's own peak RSS."""
    out_path, err_path, result_path = (workdir / n for n in (".stdout", ".stderr", ".measure.json"))
    result_path.unlink(missing_ok=True)
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.run([PYTHON, str(BENCH_DIR / "measure.py"), str(result_path), *argv],
                              stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
                              cwd=workdir, check=False)
    if proc.returncode != 0 or not result_path.exists():
        tail = err_path.read_text(errors="replace").strip().splitlines()[-6:]
        raise BenchError(f"exit {proc.returncode}: " + " | ".join(tail))
    measured = json.loads(result_path.read_text())
    return Run(seconds=measured["seconds"], peak_rss_mb=measured["peak_rss_kib"] / 1024,
               stdout=out_path.read_text(errors="replace"))


def rounds(label: str, tools: list[Tool], plan: Plan, workdir: Path) -> list[Tool]:
    """Warm-up round, then `plan.runs` rounds, the order rotating each round, so every
    tool runs first as often as the others and neighbours in time are compared."""
    live = [t for t in tools if t.failure is None]
    total = (1 if plan.warmup else 0) + plan.runs
    for r in range(total):
        warm = plan.warmup and r == 0
        k = r % max(1, len(live))
        for tool in live[k:] + live[:k]:
            if tool.failure is not None:
                continue
            say(f"{label}: {'warm-up' if warm else f'run {r + (0 if plan.warmup else 1)}/{plan.runs}'}"
                f" {tool.name}")
            try:
                result = tool.once(workdir)
            except BenchError as exc:
                tool.failure = str(exc)
                say(f"{label}: {tool.name} FAILED: {exc}")
                continue
            if not warm:
                tool.runs.append(result)
    return tools


def paired_ratio(numerator: Tool, denominator: Tool) -> float | None:
    """Median over rounds of numerator/denominator, each pair from the same round."""
    pairs = [a.seconds / b.seconds for a, b in zip(numerator.runs, denominator.runs, strict=False)]
    return statistics.median(pairs) if pairs else None


def remove_db(path: Path) -> Callable[[], None]:
    def clear() -> None:
        for p in (path, path.with_name(path.name + ".wal")):
            p.unlink(missing_ok=True)

    return clear


def size_of(paths: Sequence[Path]) -> int:
    return sum(p.stat().st_size for p in paths)


def fmt_s(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.2f} s"


def fmt_x(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}×"


def fmt_mb(n: float) -> str:
    return f"{n / MB:,.1f} MB" if n < GB else f"{n / GB:,.2f} GB"


# ---------------------------------------------------------------- inputs


def synthesize(out_dir: Path, *, users: int, minutes: int, formats: tuple[str, ...]) -> list[Path]:
    """Generate a replay with loganalyze.synth (cached by its arguments)."""
    done = out_dir / "manifest.json"
    if done.exists():
        return sorted(p for p in out_dir.iterdir() if p.name != "manifest.json")
    from loganalyze.synth import synth

    say(f"synth incident users={users} minutes={minutes} formats={','.join(formats)} → {out_dir.name}")
    result = synth("incident", out_dir, users=users, minutes=minutes, formats=formats)
    say(f"  wrote {fmt_mb(result.bytes_written)} in {result.seconds:.1f} s")
    return sorted(result.files)


@dataclass
class Inputs:
    """Replays generated on demand, sized by a per-minute rate measured once."""

    root: Path
    plan: Plan
    commands: list[str] = field(default_factory=list)

    def _dir(self, kind: str, users: int, minutes: int) -> Path:
        return self.root / f"{kind}-u{users}-m{minutes}"

    def _rate(self, kind: str, key_file: str | None, users: int, formats: tuple[str, ...]) -> float:
        """Bytes per simulated minute of `key_file` (or of all files) at `users`, from a
        two-minute replay (kept: it is also the input when two minutes are asked for)."""
        files = synthesize(self._dir(kind, users, 2), users=users, minutes=2, formats=formats)
        return size_of([f for f in files if key_file is None or f.name == key_file]) / 2

    def replay(self, kind: str, *, at_least: int, key_file: str | None, users: int,
               formats: tuple[str, ...]) -> list[Path]:
        """A replay whose `key_file` (or whole output) is at least `at_least` bytes."""
        rate = self._rate(kind, key_file, users, formats)
        minutes = max(1, math.ceil(at_least / rate))
        for _ in range(3):
            out = self._dir(kind, users, minutes)
            files = synthesize(out, users=users, minutes=minutes, formats=formats)
            chosen = [f for f in files if key_file is None or f.name == key_file]
            got = size_of(chosen)
            if got >= at_least:
                command = (f"loganalyze.synth.synth('incident', '{out.name}', users={users}, "
                           f"minutes={minutes}, formats={formats!r})  # {fmt_mb(size_of(files))}")
                if command not in self.commands:
                    self.commands.append(command)
                return files
            shutil.rmtree(out, ignore_errors=True)
            minutes = math.ceil(minutes * at_least / max(got, 1) * 1.03)
        raise BenchError(f"could not generate {fmt_mb(at_least)} of {key_file or kind}")

    def hosted(self, at_least: int, key_file: str | None) -> list[Path]:
        return self.replay("hosted", at_least=at_least, key_file=key_file, users=self.plan.users,
                           formats=("drain", "vercel", "cron"))

    def postgres_log(self, at_least: int) -> Path:
        files = self.replay("selfhosted", at_least=at_least, key_file=PG_LOG,
                            users=self.plan.pg_users, formats=("selfhosted",))
        return next(f for f in files if f.name == PG_LOG)


def pick(files: Sequence[Path], names: Sequence[str]) -> list[Path]:
    by_name = {f.name: f for f in files}
    return [by_name[n] for n in names if n in by_name]


def log_files(files: Sequence[Path]) -> list[Path]:
    return [f for f in files if f.name != "manifest.json"]


# ---------------------------------------------------------------- peers


def ensure_peers(install: bool) -> dict[str, str | None]:
    """Versions of pgBadger and lnav, installing them with apt when missing."""
    if install and not all(shutil.which(t) for t in ("pgbadger", "lnav")):
        say("pgBadger/lnav missing: running .ci/install-bench-tools.sh (apt)")
        subprocess.run(["bash", str(INSTALL_PEERS)], check=False, stdout=sys.stderr)
    versions: dict[str, str | None] = {}
    for tool, flag in (("pgbadger", "--version"), ("lnav", "-V")):
        if shutil.which(tool) is None:
            versions[tool] = None
            say(f"{tool} not found: its comparisons are skipped "
                f"(install with: bash .ci/install-bench-tools.sh)")
            continue
        out = subprocess.run([tool, flag], capture_output=True, text=True, check=False)
        versions[tool] = (out.stdout or out.stderr).strip().splitlines()[0]
    return versions


def lnav_home(workdir: Path) -> dict[str, str]:
    """A private HOME whose lnav config holds the Postgres stderr format (lnav ships none
    for this prefix; without it lnav sees plain text and counts nothing)."""
    home = workdir / "lnav-home"
    formats = home / ".lnav" / "formats" / "installed"
    formats.mkdir(parents=True, exist_ok=True)
    shutil.copy(LNAV_FORMAT, formats / LNAV_FORMAT.name)
    return {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}


# ---------------------------------------------------------------- sections


@dataclass
class Figure:
    name: str
    value: str
    target: str
    met: bool | None  # None = not measured / not judged


@dataclass
class Section:
    title: str
    lines: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        self.lines.append("| " + " | ".join(header) + " |")
        self.lines.append("|" + "|".join("---" for _ in header) + "|")
        for row in rows:
            self.lines.append("| " + " | ".join(str(c) for c in row) + " |")
        self.lines.append("")

    def text(self, *paragraphs: str) -> None:
        for p in paragraphs:
            self.lines.append(p)
            self.lines.append("")

    def code(self, text: str) -> None:
        self.lines.extend(["```", text.rstrip(), "```", ""])

    def command(self, tool: Tool, workdir: Path) -> None:
        self.commands.append(shlex.join(display_argv(tool.argv, workdir)))


def display_argv(argv: Sequence[str], workdir: Path) -> list[str]:
    """The command as a reader would type it: paths relative to the work directory."""
    shown: list[str] = []
    for a in argv:
        if a == PYTHON:
            shown.append("python")
        elif a.startswith(str(workdir)):
            shown.append(os.path.relpath(a, workdir))
        elif a.startswith(str(REPO)):
            shown.append(os.path.relpath(a, REPO))
        else:
            shown.append(a)
    return shown


def judged(quick: bool, met: bool) -> bool | None:
    return None if quick else met


def throughput_rows(tools: Sequence[Tool], nbytes: int, rows: int | None) -> list[list[object]]:
    out: list[list[object]] = []
    for t in tools:
        if t.failure or not t.runs:
            out.append([t.name, "failed" if t.failure else "—", "—", "—", "—", "—"])
            continue
        out.append([
            t.name,
            fmt_s(t.median),
            f"{min(r.seconds for r in t.runs):.2f}–{max(r.seconds for r in t.runs):.2f} s",
            f"{nbytes / MB / t.median:,.1f}",
            f"{rows / t.median:,.0f}" if rows else "—",
            f"{t.peak_rss_mb:,.0f}",
        ])
    return out


THROUGHPUT_HEADER = ("tool", "median", "range", "MB/s", "rows/s", "peak RSS MB")


def ingest_argv(files: Sequence[Path], db: Path, *extra: str) -> list[str]:
    return [*LOGANALYZE, "ingest", *map(str, files), "--db", str(db), "--json", *extra]


def ingested_rows(tool: Tool) -> int | None:
    """Rows in `ingest --json`'s summary. DuckDB draws its progress bar on stdout for
    statements over 2 s even when stdout is a file, so the JSON is looked for, not assumed."""
    for run in tool.runs:
        start = run.stdout.find("{")
        try:
            doc, _ = json.JSONDecoder().raw_decode(run.stdout[start:])
            return int(doc["rows"])
        except (ValueError, KeyError, TypeError):
            continue
    return None


def last_number(text: str) -> int | None:
    words = text.split()
    return int(words[-1]) if words and words[-1].isdigit() else None


def section_hosted(plan: Plan, inputs: Inputs, workdir: Path) -> Section:
    sec = Section("1. Hosted ingest vs DuckDB's own ceiling")
    files = pick(inputs.hosted(plan.hosted_edge_bytes, HOSTED_FILES[0]), HOSTED_FILES)
    nbytes = size_of(files)
    db, bare_db = workdir / "s1.duckdb", workdir / "s1-bare.duckdb"
    ingest = Tool("loganalyze ingest", ingest_argv(files, db), prepare=remove_db(db))
    ctas = Tool("DuckDB bare CTAS read_json", [*BARE, "ctas", str(bare_db), *map(str, files)],
                prepare=remove_db(bare_db))
    count = Tool("DuckDB bare count(*) read_json", [*BARE, "count", *map(str, files)])
    tools = rounds("hosted", [ingest, ctas, count], plan, workdir)
    rows = ingested_rows(ingest)
    bare_rows = last_number(ctas.runs[0].stdout) if ctas.runs else None
    sec.text(
        "Files: " + ", ".join(f"`{f.name}` {fmt_mb(f.stat().st_size)}" for f in files)
        + f" — {fmt_mb(nbytes)} in all; {rows or '?'} rows ingested"
        + (f", {bare_rows} rows read by the bare CTAS." if bare_rows else ".")
    )
    sec.table(THROUGHPUT_HEADER, throughput_rows(tools, nbytes, rows))
    ratio = paired_ratio(ingest, ctas) if not (ingest.failure or ctas.failure) else None
    ratio_count = paired_ratio(ingest, count) if not (ingest.failure or count.failure) else None
    sec.text(f"ingest / bare CTAS, paired per round: **{fmt_x(ratio)}**; "
             f"ingest / bare count(*): {fmt_x(ratio_count)}.")
    sec.figures.append(Figure("hosted ingest time / bare CTAS", fmt_x(ratio), "≤ 1.5×",
                              judged(plan.quick, ratio is not None and ratio <= 1.5)))
    for t in tools:
        sec.command(t, workdir)
    if ratio is not None and ratio > 1.5 or ingest.failure:
        sec.text("Where the time goes (one in-process ingest, every statement timed):")
        sec.code(profile_ingest(files, workdir))
    remove_db(db)()
    remove_db(bare_db)()
    return sec


def profile_ingest(files: Sequence[Path], workdir: Path, *options: str) -> str:
    db = workdir / "profile.duckdb"
    remove_db(db)()
    argv = [PYTHON, str(BENCH_DIR / "profile_ingest.py"), *options, str(db), *map(str, files)]
    try:
        run = run_measured(argv, workdir)
    except BenchError as exc:
        return f"profile failed: {exc}"
    finally:
        remove_db(db)()
    return run.stdout


def pgbadger_errors(path: Path) -> dict[str, tuple[int, str]]:
    """pgBadger's error classes → (count, one example message without 'ERROR:  ')."""
    doc = json.loads(path.read_text(errors="replace"))
    out: dict[str, tuple[int, str]] = {}
    for key, info in (doc.get("error_info") or {}).get("postgres", {}).items():
        if not key.startswith("ERROR:"):
            continue
        examples = info.get("error") or [key]
        example = examples[0].removeprefix("ERROR:").strip()
        out[key.removeprefix("ERROR:").strip()] = (int(info.get("count", 0)), example)
    return out


def section_postgres(plan: Plan, inputs: Inputs, workdir: Path, peers: dict[str, str | None]) -> Section:
    import duckdb

    sec = Section("2. Postgres stderr log vs pgBadger and lnav")
    log = inputs.postgres_log(plan.pg_log_bytes)
    nbytes = log.stat().st_size
    db, lines_db = workdir / "s2.duckdb", workdir / "s2-lines.duckdb"
    pgb_out = {j: workdir / f"pgbadger-j{j}.json" for j in (1, 2)}
    tools = [
        Tool("loganalyze ingest", ingest_argv([log], db, "--log-line-prefix", PG_PREFIX),
             prepare=remove_db(db)),
        Tool("DuckDB bare CTAS of the lines", [*BARE, "lines", str(lines_db), str(log)],
             prepare=remove_db(lines_db)),
    ]
    if peers.get("pgbadger"):
        for j in (1, 2):
            tools.append(Tool(f"pgBadger -j {j}", [
                # pgBadger refuses to start while another copy's /tmp/pgbadger.pid exists
                # (exit 3): its pid file goes in the work directory
                "pgbadger", "-q", "--pid-dir", str(workdir), "-f", "stderr", "--prefix", PG_PREFIX,
                "-j", str(j),
                "-x", "json", "-o", str(pgb_out[j]), str(log)]))
    else:
        sec.text("pgBadger not installed and not installable here: skipped.")
    if peers.get("lnav"):
        tools.append(Tool("lnav headless count", ["lnav", "-n", "-c", LNAV_QUERY, str(log)],
                          env=lnav_home(workdir)))
    else:
        sec.text("lnav not installed and not installable here: skipped.")
    rounds("postgres", tools, plan, workdir)
    by_name = {t.name: t for t in tools}
    ours = by_name["loganalyze ingest"]
    with open(log, "rb") as fh:
        line_count = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b""))
    sec.text(f"File: `{log.name}` {fmt_mb(nbytes)}, {line_count:,} lines (rows/s below count "
             f"lines for every tool), written by synth's self-hosted writer with "
             f"log_line_prefix `{PG_PREFIX}`.")
    sec.table(THROUGHPUT_HEADER, throughput_rows(tools, nbytes, line_count))
    if ours.failure:
        sec.text(f"loganalyze could not ingest the file: `{ours.failure}`")
    for j, minimum in ((1, 30.0), (2, 15.0)):
        peer = by_name.get(f"pgBadger -j {j}")
        speedup = None if peer is None or peer.failure or ours.failure else paired_ratio(peer, ours)
        sec.figures.append(Figure(f"loganalyze throughput / pgBadger -j {j}", fmt_x(speedup),
                                  f"≥ {minimum:.0f}×",
                                  judged(plan.quick, speedup is not None and speedup >= minimum)
                                  if peer is not None else None))
    lnav = by_name.get("lnav headless count")
    share = None if lnav is None or lnav.failure or ours.failure else paired_ratio(lnav, ours)
    sec.figures.append(Figure("loganalyze throughput / lnav headless count", fmt_x(share), "≥ 0.5×",
                              judged(plan.quick, share is not None and share >= 0.5)
                              if lnav is not None else None))
    # The same ERROR counts: pgBadger groups by normalized message (no %e in the prefix,
    # so it has no SQLSTATE); each group is mapped to the SQLSTATE loganalyze gave its
    # example message, then both are compared per SQLSTATE.
    if not ours.failure and ours.runs and (pgb_out[1].exists() or pgb_out[2].exists()):
        # The database the last timed ingest left behind (prepare only runs before a run).
        con = duckdb.connect(str(db), read_only=True)
        ours_counts = dict(con.execute(
            "SELECT coalesce(sqlstate, '?'), count(*) FROM postgres_logs "
            "WHERE severity = 'ERROR' GROUP BY 1").fetchall())
        theirs: dict[str, int] = {}
        mapping_rows = []
        for cls, (n, example) in sorted(pgbadger_errors(pgb_out[1] if pgb_out[1].exists()
                                                        else pgb_out[2]).items()):
            row = con.execute(
                "SELECT sqlstate FROM postgres_logs WHERE severity = 'ERROR' AND "
                "(starts_with($ex, message) OR starts_with(message, $ex)) "
                "GROUP BY sqlstate ORDER BY count(*) DESC LIMIT 1", {"ex": example}).fetchone()
            state = row[0] if row and row[0] else "?"
            theirs[state] = theirs.get(state, 0) + n
            mapping_rows.append([f"`{cls}`", n, state])
        con.close()
        remove_db(db)()
        sec.text("ERROR counts. pgBadger's classes (by normalized message) and the SQLSTATE "
                 "loganalyze gives each class's example:")
        sec.table(("pgBadger class", "pgBadger count", "SQLSTATE"), mapping_rows)
        states = sorted(set(ours_counts) | set(theirs))
        same = all(ours_counts.get(s, 0) == theirs.get(s, 0) for s in states)
        sec.table(("SQLSTATE", "loganalyze", "pgBadger", "same"),
                  [[s, ours_counts.get(s, 0), theirs.get(s, 0),
                    "yes" if ours_counts.get(s, 0) == theirs.get(s, 0) else "**no**"]
                   for s in states])
        sec.figures.append(Figure("ERROR counts by SQLSTATE equal to pgBadger's",
                                  "equal" if same else "differ", "equal", same))
    else:
        sec.figures.append(Figure("ERROR counts by SQLSTATE equal to pgBadger's", "not compared",
                                  "equal", None))
    missed = [f for f in sec.figures if f.met is False]
    if missed or ours.failure:
        sec.text("Where loganalyze's time goes (one in-process ingest, every statement timed):")
        sec.code(profile_ingest([log], workdir, "--log-line-prefix", PG_PREFIX))
    if lnav is not None and lnav.runs:
        words = lnav.runs[-1].stdout.split()[2:]  # after the header "log_level n"
        sec.text("lnav's own line count by level: "
                 + ", ".join(f"{words[i]} {words[i + 1]}" for i in range(0, len(words) - 1, 2)))
    for t in tools:
        sec.command(t, workdir)
    remove_db(db)()
    remove_db(lines_db)()
    return sec


def build_detection_db(files: Sequence[Path], db: Path, events: int, workdir: Path) -> tuple[int, int, float]:
    """Ingest a replay, then append time-shifted copies of every row until the database
    holds `events` rows: the incident repeated back to back (ids and request ids made
    unique per copy, every timestamp moved by whole replay spans)."""
    remove_db(db)()
    started = time.perf_counter()
    run_measured(ingest_argv(files, db), workdir)
    run_measured([PYTHON, str(BENCH_DIR / "replicate.py"), str(db), str(events)], workdir)
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    from loganalyze.store import table_counts

    total = sum(table_counts(con).values())
    (base,) = con.execute("SELECT count(*) FROM ingested_files").fetchone()  # type: ignore[misc]
    con.close()
    return total, int(base), time.perf_counter() - started


def section_detection(plan: Plan, inputs: Inputs, workdir: Path) -> Section:
    sec = Section("3. Detection at scale")
    files = log_files(inputs.hosted(plan.hosted_edge_bytes, HOSTED_FILES[0]))
    db = workdir / "s3.duckdb"
    say(f"detection: building a database of ≥ {plan.detection_events:,} events")
    total, _, build_s = build_detection_db(files, db, plan.detection_events, workdir)
    report_out = workdir / "report.json"
    report = Tool("loganalyze report --format json",
                  [*LOGANALYZE, "report", "--format", "json", "--db", str(db), "--out", str(report_out)])
    rounds("detection", [report], plan, workdir)
    import duckdb

    from loganalyze.store import table_counts
    con = duckdb.connect(str(db), read_only=True)
    counts = {t: n for t, n in table_counts(con).items() if n}
    con.close()
    sec.text(f"Database: {total:,} events ({', '.join(f'{t} {n:,}' for t, n in counts.items())}), "
             f"built in {build_s:.0f} s from the section-1 replay (all its files) repeated back to "
             f"back in time by `bench/replicate.py`.")
    sec.table(("step", "median", "range", "peak RSS MB"), [[
        report.name, "failed" if report.failure else fmt_s(report.median),
        "—" if not report.runs else
        f"{min(r.seconds for r in report.runs):.2f}–{max(r.seconds for r in report.runs):.2f} s",
        "—" if not report.runs else f"{report.peak_rss_mb:,.0f}"]])
    if report.failure:
        sec.text(f"report failed: `{report.failure}`")
    met = report.failure is None and report.runs and report.median < 10.0
    sec.figures.append(Figure(f"all detectors + report --format json, {total / 1e6:.1f} M events",
                              "failed" if report.failure else fmt_s(report.median), "< 10 s",
                              judged(plan.quick, bool(met))))
    sec.text("Per detector, in one process (library `run_detector`, default parameters, one run "
             "each after the report runs above warmed the file cache)"
             + ("" if met else "; for the slowest three, the operators of their main query "
                "that take the time (DuckDB's JSON profiler)") + ":")
    explain = [] if met else ["--explain", "3"]
    breakdown = run_measured([PYTHON, str(BENCH_DIR / "profile_detectors.py"), *explain, str(db)],
                             workdir)
    sec.code(breakdown.stdout)
    detectors_s = detectors_total(breakdown.stdout)
    if report.runs and detectors_s is not None:
        rest = report.median - detectors_s
        sec.text(f"The detectors one after another take {detectors_s:.1f} s against the report's "
                 f"{report.median:.1f} s: " + (
                     f"the report adds {rest:.1f} s (interpreter start-up, timeline, JSON)."
                     if rest > 0 else "the report's time is the detectors' time."))
    sec.command(report, workdir)
    remove_db(db)()
    return sec


def detectors_total(profile: str) -> float | None:
    for line in profile.splitlines():
        if line.strip().endswith("all detectors"):
            return float(line.split()[0])
    return None


def section_memory(plan: Plan, inputs: Inputs, workdir: Path) -> Section:
    sec = Section("4. Peak memory of a large ingest")
    files = log_files(inputs.hosted(plan.memory_bytes, None))
    nbytes = size_of(files)
    db = workdir / "s4.duckdb"
    ingest = Tool("loganalyze ingest", ingest_argv(files, db), prepare=remove_db(db))
    say(f"memory: ingesting {fmt_mb(nbytes)} once")
    try:
        ingest.runs.append(ingest.once(workdir))
    except BenchError as exc:
        ingest.failure = str(exc)
    rows = ingested_rows(ingest)
    sec.text(f"{len(files)} files, {fmt_mb(nbytes)}; one run (peak RSS does not vary with noise "
             f"the way time does).")
    sec.table(THROUGHPUT_HEADER, throughput_rows([ingest], nbytes, rows))
    peak = ingest.peak_rss_mb if ingest.runs else None
    sec.figures.append(Figure(f"peak RSS ingesting {fmt_mb(nbytes)}",
                              "failed" if peak is None else f"{peak:,.0f} MB", "< 2048 MB",
                              judged(plan.quick, peak is not None and peak < 2048)))
    sec.command(ingest, workdir)
    if peak is not None and peak >= 2048 and not plan.quick:
        limited = Tool("library ingest, memory_limit 1GB",
                       [PYTHON, str(BENCH_DIR / "profile_ingest.py"), "--memory-limit", "1GB",
                        "--quiet", str(db), *map(str, files)], prepare=remove_db(db))
        say("memory: the same ingest with DuckDB memory_limit=1GB")
        try:
            limited.runs.append(limited.once(workdir))
            sec.text("The same files through the library with `ingest(..., memory_limit='1GB')`:")
            sec.table(THROUGHPUT_HEADER, throughput_rows([limited], nbytes, rows))
        except BenchError as exc:
            sec.text(f"With memory_limit=1GB the ingest failed: `{exc}`")
        sec.command(limited, workdir)
    remove_db(db)()
    return sec


def fitted_exponent(sizes: Sequence[float], seconds: Sequence[float]) -> float | None:
    """Slope of log(seconds) against log(size), least squares: 1.0 = linear."""
    import numpy as np

    if len(sizes) < 2:
        return None
    slope, _ = np.polyfit(np.log(sizes), np.log(seconds), 1)
    return float(slope)


def section_scaling(plan: Plan, inputs: Inputs, workdir: Path) -> Section:
    sec = Section("5. Scaling curve")
    points: list[tuple[int, Tool, Tool]] = []
    for target in plan.scaling_bytes:
        files = log_files(inputs.hosted(target, None))
        db = workdir / "s5.duckdb"
        ingest = Tool("ingest", ingest_argv(files, db), prepare=remove_db(db))
        report = Tool("report", [*LOGANALYZE, "report", "--format", "json", "--db", str(db),
                                 "--out", str(workdir / "s5-report.json")])
        # The report reads the database the last ingest run left behind.
        rounds(f"scaling {fmt_mb(target)}", [ingest], plan, workdir)
        rounds(f"scaling {fmt_mb(target)}", [report], plan, workdir)
        points.append((size_of(files), ingest, report))
        if len(points) == 1:
            sec.command(ingest, workdir)
            sec.command(report, workdir)
        remove_db(db)()
    rows = []
    for nbytes, ingest, report in points:
        rows.append([fmt_mb(nbytes), fmt_s(None if ingest.failure else ingest.median),
                     "—" if ingest.failure else f"{nbytes / MB / ingest.median:,.1f}",
                     fmt_s(None if report.failure else report.median),
                     f"{ingest.peak_rss_mb:,.0f}" if ingest.runs else "—"])
    sec.table(("exports", "ingest", "ingest MB/s", "report --format json", "ingest peak RSS MB"), rows)
    marginal = []
    for label, pick_tool in (("ingest", 1), ("report", 2)):
        ok = [(p[0], p[pick_tool]) for p in points if not p[pick_tool].failure and p[pick_tool].runs]
        k = fitted_exponent([n for n, _ in ok], [t.median for _, t in ok]) if len(ok) >= 2 else None
        sec.figures.append(Figure(f"{label} time ∝ size^k, fitted k", "—" if k is None else f"{k:.2f}",
                                  "≈ 1 (≤ 1.15)", judged(plan.quick, k is not None and k <= 1.15)))
        if len(ok) >= 2:
            top = fitted_exponent([n for n, _ in ok[-2:]], [t.median for _, t in ok[-2:]])
            marginal.append(f"{label} {top:.2f}")
    if marginal:
        sec.text("Fixed costs (interpreter start-up, schema, sniffing) weigh on the small sizes "
                 "and pull the fitted k below 1; k between the two largest sizes alone: "
                 + ", ".join(marginal) + ".")
    return sec


# ---------------------------------------------------------------- the document


def machine() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {"cpus (nproc)": str(os.cpu_count()), "cpu": cpu, "memory": mem,
            "os": platform.platform(), "load average at start": " ".join(
                f"{x:.2f}" for x in os.getloadavg())}


def versions(peers: dict[str, str | None]) -> dict[str, str]:
    import duckdb
    import polars

    import loganalyze

    return {"python": platform.python_version(), "duckdb": duckdb.__version__,
            "polars": polars.__version__,
            "loganalyze": getattr(loganalyze, "__version__", "?") + " @ " + git_head(),
            "pgbadger": peers.get("pgbadger") or "not installed",
            "lnav": peers.get("lnav") or "not installed"}


def git_head() -> str:
    """The commit measured: of the checkout, or of a `git archive` snapshot that recorded
    it in `.commit` (a snapshot keeps a long run safe from edits to the working tree)."""
    out = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True, check=False)
    if out.returncode == 0 and out.stdout.strip():
        return out.stdout.strip()
    recorded = REPO / ".commit"
    return recorded.read_text().strip() if recorded.exists() else "?"


def render(sections: Sequence[Section], *, plan: Plan, scale: float, started: dt.datetime,
           seconds: float, mach: dict[str, str], vers: dict[str, str], argv: Sequence[str],
           synth_commands: Sequence[str]) -> str:
    lines = ["# loganalyze benchmarks", ""]
    mode = "quick (tiny sizes, one run, no warm-up: checks the script, judges nothing)" \
        if plan.quick else f"full ({plan.runs} runs after a warm-up, median)"
    lines.append(f"Run {started:%Y-%m-%d %H:%M} UTC, {seconds / 60:.1f} min, mode: {mode}.")
    if scale != 1.0:
        lines.append(f"Sizes scaled by {scale} from the issue's (the time available did not "
                     "allow the full sizes); targets stated for the full sizes.")
    lines += ["", "Regenerate: `" + shlex.join(["python", "bench/run.py", *argv]) + "`", ""]
    lines += ["## Summary", "", "| figure | measured | target | met |", "|---|---|---|---|"]
    for sec in sections:
        for f in sec.figures:
            met = "n/a" if f.met is None else ("yes" if f.met else "**no**")
            lines.append(f"| {f.name} | {f.value} | {f.target} | {met} |")
    lines += ["", "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in mach.items()]
    lines += ["", "## Versions", ""]
    lines += [f"- {k}: {v}" for k, v in vers.items()]
    for sec in sections:
        lines += ["", f"## {sec.title}", ""]
        lines += sec.lines
        if sec.commands:
            lines += ["Commands (paths relative to the work directory):", "", "```"]
            lines += sec.commands
            lines += ["```"]
    lines += ["", "## Inputs", "", "Generated with the synth library (the `loganalyze synth` "
              "command's function), scenario `incident`, default seed:", "", "```"]
    lines += list(synth_commands)
    lines += ["```", ""]
    return "\n".join(lines)


SECTIONS = ("hosted", "postgres", "detection", "memory", "scaling")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, one run each, no warm-up (CI; under 2 minutes)")
    parser.add_argument("--out", type=Path, help="write the results as markdown here")
    parser.add_argument("--work", type=Path,
                        help="where inputs and databases go (default bench/out, quick: a temp dir)")
    parser.add_argument("--runs", type=int, help="timed runs per figure (default 3, quick 1)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply every input size (e.g. 0.25 when time is short)")
    parser.add_argument("--only", action="append", choices=SECTIONS,
                        help="run only this section (repeatable)")
    parser.add_argument("--keep-data", action="store_true",
                        help="keep generated inputs for the next run (they are reused)")
    parser.add_argument("--no-install", action="store_true",
                        help="do not apt-install missing pgBadger/lnav; skip them instead")
    args = parser.parse_args(argv)
    shown_argv = list(argv if argv is not None else sys.argv[1:])

    plan = scaled(QUICK if args.quick else FULL, args.scale)
    if args.runs:
        plan = Plan(**{**plan.__dict__, "runs": args.runs})
    temp = None
    if args.work is None and args.quick:
        temp = tempfile.TemporaryDirectory(prefix="loganalyze-bench-")
        workdir = Path(temp.name)
    else:
        workdir = (args.work or BENCH_DIR / "out").resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / "data"
    data.mkdir(exist_ok=True)
    started = dt.datetime.now(dt.UTC)
    clock = time.monotonic()
    mach = machine()
    peers = ensure_peers(install=not args.no_install)
    vers = versions(peers)
    inputs = Inputs(data, plan)
    chosen = args.only or list(SECTIONS)
    say(f"bench: {'quick' if plan.quick else 'full'} mode, sections {', '.join(chosen)}, "
        f"{plan.runs} run(s){' after a warm-up' if plan.warmup else ''}, work dir {workdir}")
    say(f"sizes: edge export ≥ {fmt_mb(plan.hosted_edge_bytes)}, Postgres log ≥ "
        f"{fmt_mb(plan.pg_log_bytes)}, detection ≥ {plan.detection_events:,} events, memory "
        f"{fmt_mb(plan.memory_bytes)}, scaling {' / '.join(fmt_mb(b) for b in plan.scaling_bytes)}"
        + ("" if plan.quick else "; at full size on 2 cores expect about an hour"))
    sections: list[Section] = []

    def document() -> str:
        return render(sections, plan=plan, scale=args.scale, started=started,
                      seconds=time.monotonic() - clock, mach=mach, vers=vers, argv=shown_argv,
                      synth_commands=inputs.commands)

    try:
        for name in chosen:
            if args.out and sections:  # a long run that is stopped still leaves its figures
                args.out.write_text(document() + "\n_(run in progress)_\n", encoding="utf-8")
            say(f"== section {name}")
            if name == "hosted":
                sections.append(section_hosted(plan, inputs, workdir))
            elif name == "postgres":
                sections.append(section_postgres(plan, inputs, workdir, peers))
            elif name == "detection":
                sections.append(section_detection(plan, inputs, workdir))
            elif name == "memory":
                sections.append(section_memory(plan, inputs, workdir))
            elif name == "scaling":
                sections.append(section_scaling(plan, inputs, workdir))
    finally:
        if not args.keep_data:
            shutil.rmtree(data, ignore_errors=True)
    mach["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    doc = document()
    print(doc)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(doc, encoding="utf-8")
        say(f"wrote {args.out}")
    if temp is not None:
        temp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
