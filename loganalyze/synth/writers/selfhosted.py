"""Self-hosted Supabase container logs, as `docker logs <container>` prints them.

- `supabase-kong.log`: nginx `combined` access lines (what Vector parses into edge_logs;
  no latency, no JWT).
- `supabase-auth.log`: GoTrue logrus JSON lines, keys alphabetical, `time` in RFC3339
  seconds, `duration` in ns; errors in the two-line form of GoTrue < v2.194.0 (the compose
  file ships v2.186.0).
- `supabase-db.log`: Postgres stderr with the supabase/postgres prefix `%h %m [%p] %q%u@%d `
  (ERROR, then DETAIL and STATEMENT lines). The compose file starts Postgres with
  `log_min_messages=fatal`; these lines assume it was lowered to `error` for the webinar.
- `supabase-realtime.log`: Elixir Logger lines `HH:MM:SS.mmm [info] message metadata`,
  prefixed with the RFC3339 timestamp `docker logs --timestamps` adds, because Realtime's
  own lines carry no date.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ..hosted import GOTRUE_ERROR_LINE, gotrue_frame, gotrue_line_shape, pg_timestamp
from ..simulate import MS, Chunk, Project
from ..template import compile_json
from . import TextFiles, joined

POSTGREST_HOST = "172.18.0.7"


def _lines_text(lines: pl.Series) -> str:
    text = joined(lines)
    return text + "\n" if text else ""


def kong_lines(chunk: Chunk) -> pl.Series:
    calls = chunk.calls.sort("t_us", "id")
    when = pl.from_epoch(pl.col("t_us") + pl.col("latency_ms") * MS, time_unit="us")
    return calls.select(pl.concat_str([
        pl.col("ip"), pl.lit(" - - ["), when.dt.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        pl.lit('] "'), pl.col("method"), pl.lit(" "), pl.col("path"),
        pl.col("search").fill_null(""), pl.lit(' HTTP/1.1" '), pl.col("status").cast(pl.String),
        pl.lit(" "), ((pl.col("latency_ms") * 37 + pl.col("status")) % 900 + 40).cast(pl.String),
        pl.lit(' "-" "'), pl.col("user_agent"), pl.lit('"'),
    ])).to_series()


def gotrue_lines(chunk: Chunk, project: Project) -> pl.Series:
    frame = gotrue_frame(chunk, project, hosted=False).sort("ts_us", "id")
    branches = [pl.when(pl.col("variant") == v).then(
        compile_json(gotrue_line_shape(v, consolidated=False)).expr())
        for v in ("user", "token", "reused")]
    completed = pl.coalesce(branches)
    error_line = compile_json(GOTRUE_ERROR_LINE).expr()
    both = pl.when(pl.col("variant") == "reused").then(
        pl.concat_str([error_line, pl.lit("\n"), completed])).otherwise(completed)
    return frame.select(both).to_series()


def postgres_lines(chunk: Chunk) -> pl.Series:
    pg = chunk.pg.sort("ts_us", "id")
    prefix = pl.concat_str([
        pl.when(pl.col("application_name") == "pg_cron").then(pl.lit("127.0.0.1"))
        .otherwise(pl.lit(POSTGREST_HOST)),
        pl.lit(" "), pg_timestamp("ts_us"), pl.lit(" ["), pl.col("pid").cast(pl.String),
        pl.lit("] "), pl.col("user_name"), pl.lit("@postgres "),
    ])
    error = pl.concat_str([
        prefix, pl.lit("ERROR:  "), pl.col("message"),
        pl.when(pl.col("query_pos").is_not_null())
        .then(pl.lit(" at character ") + pl.col("query_pos").cast(pl.String))
        .otherwise(pl.lit("")),
    ])
    detail = pl.when(pl.col("detail").is_not_null()).then(
        pl.concat_str([pl.lit("\n"), prefix, pl.lit("DETAIL:  "), pl.col("detail")])
    ).otherwise(pl.lit(""))
    statement = pl.concat_str([pl.lit("\n"), prefix, pl.lit("STATEMENT:  "), pl.col("statement")])
    return pg.select(pl.concat_str([error, detail, statement])).to_series()


def realtime_lines(chunk: Chunk) -> pl.Series:
    rt = chunk.realtime
    if not rt.height:
        return pl.Series([], dtype=pl.String)
    when = pl.from_epoch(pl.col("ts_us"), time_unit="us")
    measurements = pl.when(pl.col("metric") == "connections").then(pl.concat_str([
        pl.lit("[:realtime, :connections] measurements=%{connected: "),
        pl.col("connected").cast(pl.String), pl.lit(", connected_cluster: "),
        pl.col("connected").cast(pl.String), pl.lit(", limit: "),
        pl.col("limit").cast(pl.String), pl.lit("}")])).otherwise(pl.concat_str([
            pl.lit("[:realtime, :rate_counter, :channel, :"), pl.col("metric"),
            pl.lit("] measurements=%{limit: "), pl.col("limit").cast(pl.String),
            pl.lit(", sum: "), pl.col("sum").cast(pl.String), pl.lit("}")]))
    return rt.sort("ts_us", "id").select(pl.concat_str([
        when.dt.strftime("%Y-%m-%dT%H:%M:%S%.9fZ"), pl.lit(" "),
        when.dt.strftime("%H:%M:%S%.3f"), pl.lit(" [info] Billing metrics: "), measurements,
        pl.lit(" external_id=realtime-dev project=realtime-dev"),
    ])).to_series()


class SelfHostedWriter:
    def __init__(self, out_dir: Path, project: Project, *, compress: bool = False) -> None:
        self.files = TextFiles(out_dir, compress=compress)
        self.project = project

    def write(self, chunk: Chunk) -> None:
        for name, lines in (("supabase-kong.log", kong_lines(chunk)),
                            ("supabase-auth.log", gotrue_lines(chunk, self.project)),
                            ("supabase-db.log", postgres_lines(chunk)),
                            ("supabase-realtime.log", realtime_lines(chunk))):
            if len(lines):  # a container that logged nothing leaves no file
                self.files.append(name, _lines_text(lines))

    def close(self) -> list[Path]:
        return self.files.close()


__all__ = ["SelfHostedWriter"]
