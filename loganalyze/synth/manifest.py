"""The ground truth of a replay, counted from the simulation's own event records.

Nothing here reads a written log file: every figure is tallied from the chunk frames as
the simulation produces them, so a detector that recovers the same number from the logs
has proven it reads them correctly. Each key is documented in `KEY_DOCS` (and in
loganalyze/synth/README.md). Windows are one minute wide, aligned on the replay start,
and an event falls in the window of the timestamp its log row carries (edge rows: the
request time; postgres rows: the error time; auth rows: the completion second; Vercel:
the invocation start). Percentiles use linear interpolation between order statistics,
like DuckDB's `quantile_cont` and numpy's default.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import numpy as np
import polars as pl

from .model import KIND_INDEX, ROUTE_PING
from .simulate import US, Chunk, Params, Simulation

WINDOW_US = 60 * US
BROWSER = "(browser)"

KEY_DOCS: dict[str, str] = {
    "postgres_errors_by_sqlstate": "postgres_logs ERROR rows per SQLSTATE (42703 from "
    "select=id, 23505 from the registration INSERT, 57014 from failing cron jobs)",
    "sqlstate_42703": "postgres_logs rows with SQLSTATE 42703 (column registrations.id "
    "does not exist)",
    "sqlstate_23505_by_table": "postgres_logs rows with SQLSTATE 23505, by table",
    "http_409_by_table": "edge_logs rows with status 409, by the table in the request path",
    "http_400_by_path": "edge_logs rows with status 400, by request path",
    "edge_requests": "edge_logs rows (every request through the API gateway)",
    "rest_requests": "edge_logs rows whose path starts with /rest/v1/",
    "auth_user_calls": "edge_logs rows GET /auth/v1/user",
    "auth_user_latency_ms": "edge origin_time (ms) of GET /auth/v1/user: mean and "
    "p50/p95/p99 (linear interpolation)",
    "auth_user_duration_ms": "auth_logs duration (GoTrue ns / 1e6) of GET /user: mean and "
    "p50/p95/p99 (linear interpolation)",
    "refresh_token_already_used": "auth_logs rows with error_code refresh_token_already_used",
    "registrations_writes_by_route": "POST /rest/v1/registrations (INSERT or upsert) by the "
    "Vercel route whose invocation made it; '(browser)' for calls made from the browser",
    "requests_by_route": "Vercel function invocations per route (retries included)",
    "retries_by_route": "invocations that were a client's retry of a slow request",
    "db_calls_per_request": "per route: PostgREST calls (/rest/v1/*) per invocation (mean, "
    "min, max) and all Supabase calls per invocation including /auth/v1/user (mean)",
    "participant_minutes": "sum over attendees of the minutes they were in the webinar",
    "supabase_calls_per_participant_per_minute": "edge_logs rows whose JWT subject is an "
    "attendee (admin excluded), divided by participant_minutes",
    "heartbeat_calls_per_participant_per_minute": "presence heartbeats (/api/presence/ping "
    "invocations, or POST /rest/v1/rpc/presence_heartbeat) divided by participant_minutes",
    "chat_polling_requests": "GET /rest/v1/chat_messages fallback polls (Realtime down)",
    "chat_polling_requests_per_minute_during_outage": "chat polls per minute, averaged over "
    "the whole minutes inside the outage window",
    "presence_events": "sum of realtime Billing-metrics presence_events over the window",
    "connections_max": "largest realtime Billing-metrics connections.connected in the window",
    "cron_runs": "cron.job_run_details rows",
    "cron_failures": "cron.job_run_details rows with status failed",
    "cron_failures_by_job": "failed cron.job_run_details rows by jobid (totals only)",
    "rows": "rows each normalized table should hold after ingesting the replay in any one "
    "format (vercel_logs: `report` request rows and stdout/stderr console lines)",
}


def _quantiles(values: np.ndarray) -> dict[str, float | None]:
    if not len(values):
        return {"count": 0, "mean": None, "p50": None, "p95": None, "p99": None}
    q = np.quantile(values, [0.5, 0.95, 0.99], method="linear")
    return {"count": int(len(values)), "mean": round(float(values.mean()), 3),
            "p50": round(float(q[0]), 3), "p95": round(float(q[1]), 3),
            "p99": round(float(q[2]), 3)}


class Manifest:
    """Tallies per (figure, window, key) fed chunk by chunk; `build()` gives the JSON."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.p: Params = sim.p
        self.counts: dict[str, dict[int, dict[str, float]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(float)))
        self.latency: list[pl.DataFrame] = []
        self.per_request: list[pl.DataFrame] = []
        self.connections: dict[int, int] = defaultdict(int)

    def _window(self, col: str) -> pl.Expr:
        return ((pl.col(col) - self.p.start_us) // WINDOW_US).alias("window")

    def _tally(self, figure: str, frame: pl.DataFrame, ts: str, key: pl.Expr | None = None,
               value: pl.Expr | None = None) -> None:
        if not frame.height:
            return
        keyed = frame.select(self._window(ts), (key if key is not None else pl.lit("")).alias(
            "key").cast(pl.String).fill_null(BROWSER),
            (value if value is not None else pl.lit(1)).alias("value"))
        grouped = keyed.group_by("window", "key").agg(pl.col("value").sum()).sort("window", "key")
        for window, key_value, total in grouped.iter_rows():
            self.counts[figure][int(window)][key_value] += float(total)

    def add(self, chunk: Chunk) -> None:
        calls, pg, auth = chunk.calls, chunk.pg, chunk.auth
        self._tally("postgres_errors_by_sqlstate", pg, "ts_us", pl.col("sqlstate"))
        self._tally("sqlstate_23505_by_table", pg.filter(pl.col("sqlstate") == "23505"),
                    "ts_us", pl.col("table_name"))
        self._tally("http_409_by_table", calls.filter(pl.col("status") == 409), "t_us",
                    pl.col("table_name"))
        self._tally("http_400_by_path", calls.filter(pl.col("status") == 400), "t_us",
                    pl.col("path"))
        self._tally("edge_requests", calls, "t_us")
        self._tally("rest_requests", calls.filter(pl.col("path").str.starts_with("/rest/v1/")),
                    "t_us")
        user_calls = calls.filter(pl.col("kind") == KIND_INDEX["auth_user"])
        self._tally("auth_user_calls", user_calls, "t_us")
        self._tally("refresh_token_already_used",
                    auth.filter(pl.col("auth_error_code") == "refresh_token_already_used"),
                    "end_us_second")
        self._tally("registrations_writes_by_route",
                    calls.filter((pl.col("table_name") == "registrations") & pl.col("write")),
                    "t_us", pl.col("route"))
        inv = chunk.invocations
        self._tally("requests_by_route", inv, "t_us", pl.col("route"))
        self._tally("retries_by_route", inv.filter(pl.col("retry")), "t_us", pl.col("route"))
        participants = calls.filter(pl.col("user") < self.p.users)
        self._tally("participant_calls", participants.filter(pl.col("user_id").is_not_null()),
                    "t_us")
        heartbeats = pl.concat([
            inv.filter(pl.col("route") == ROUTE_PING).select("t_us"),
            calls.filter(pl.col("kind") == KIND_INDEX["heartbeat_rpc"]).select("t_us")])
        self._tally("heartbeat_calls", heartbeats, "t_us")
        self._tally("chat_polling_requests",
                    calls.filter(pl.col("kind") == KIND_INDEX["chat_poll"]), "t_us")
        rt = chunk.realtime
        if rt.height:
            self._tally("presence_events", rt.filter(pl.col("metric") == "presence_events"),
                        "ts_us", value=pl.col("sum"))
            conns = (rt.filter(pl.col("metric") == "connections")
                     .select(self._window("ts_us"), "connected")
                     .group_by("window").agg(pl.col("connected").max()).sort("window"))
            for window, connected in conns.iter_rows():
                self.connections[int(window)] = max(self.connections[int(window)], connected)
        if chunk.cron.height:
            self._tally("cron_runs", chunk.cron, "start_us")
            self._tally("cron_failures", chunk.cron.filter(pl.col("failed")), "start_us",
                        pl.col("jobid"))
        self._tally("rows_vercel_console", inv, "t_us",
                    value=1 + ((pl.col("n_400") > 0) | (pl.col("n_409") > 0)).cast(pl.Int64))
        self._tally("rows_auth_logs", auth, "end_us_second")
        if rt.height:
            self._tally("rows_realtime_logs", rt, "ts_us")

        self.latency.append(pl.concat([
            user_calls.select(self._window("t_us").cast(pl.Int32), edge=pl.lit(True),
                              ms=pl.col("latency_ms").cast(pl.Float64)),
            auth.filter(pl.col("kind") == KIND_INDEX["auth_user"]).select(
                self._window("end_us_second").cast(pl.Int32), edge=pl.lit(False),
                ms=pl.col("duration_ns") / 1e6),
        ]))
        rest = (calls.filter(pl.col("inv") >= 0)
                .group_by("inv")
                .agg(rest=pl.col("path").str.starts_with("/rest/v1/").sum(),
                     supabase=pl.len()))
        self.per_request.append(inv.select("inv", "route", self._window("t_us"))
                                .join(rest, on="inv", how="left", maintain_order="left")
                                .with_columns(pl.col("rest", "supabase").fill_null(0))
                                .group_by("window", "route")
                                .agg(requests=pl.len(), rest_sum=pl.col("rest").sum(),
                                     rest_min=pl.col("rest").min(),
                                     rest_max=pl.col("rest").max(),
                                     supabase_sum=pl.col("supabase").sum()))

    # -- the result ----------------------------------------------------------------------
    def _by_key(self, figure: str, window: int | None) -> dict[str, int]:
        out: dict[str, float] = defaultdict(float)
        per_window = self.counts.get(figure, {})
        for w in sorted(per_window) if window is None else [window]:
            for key, n in per_window.get(w, {}).items():
                out[key] += n
        return {k: int(out[k]) for k in sorted(out)}

    def _total(self, figure: str, window: int | None) -> int:
        return sum(self._by_key(figure, window).values())

    def _participant_minutes(self, window: int | None) -> float:
        arrival = self.sim.population.arrival_us[: self.p.users]
        lo = self.p.start_us if window is None else self.p.start_us + window * WINDOW_US
        hi = self.p.end_us if window is None else min(lo + WINDOW_US, self.p.end_us)
        overlap = np.clip(hi - np.maximum(lo, arrival), 0, None)
        return float(overlap.sum()) / WINDOW_US

    def _figures(self, window: int | None, latency: pl.DataFrame, per_request: pl.DataFrame
                 ) -> dict:
        lat = latency if window is None else latency.filter(pl.col("window") == window)
        req = per_request if window is None else per_request.filter(pl.col("window") == window)
        minutes = self._participant_minutes(window)
        sqlstates = self._by_key("postgres_errors_by_sqlstate", window)
        per_route = {}
        summary = req.group_by("route").agg(
            pl.col("requests", "rest_sum", "supabase_sum").sum(), pl.col("rest_min").min(),
            pl.col("rest_max").max()).sort("route")
        for route, n, rest, supabase, low, high in summary.select(
                "route", "requests", "rest_sum", "supabase_sum", "rest_min", "rest_max"
        ).iter_rows():
            per_route[route] = {
                "requests": int(n),
                "rest_calls_mean": round(rest / n, 4),
                "rest_calls_min": int(low),
                "rest_calls_max": int(high),
                "supabase_calls_mean": round(supabase / n, 4),
            }
        figures = {
            "sqlstate_42703": sqlstates.get("42703", 0),
            "postgres_errors_by_sqlstate": sqlstates,
            "sqlstate_23505_by_table": self._by_key("sqlstate_23505_by_table", window),
            "http_409_by_table": self._by_key("http_409_by_table", window),
            "http_400_by_path": self._by_key("http_400_by_path", window),
            "edge_requests": self._total("edge_requests", window),
            "rest_requests": self._total("rest_requests", window),
            "auth_user_calls": self._total("auth_user_calls", window),
            "auth_user_latency_ms": _quantiles(
                lat.filter(pl.col("edge"))["ms"].to_numpy()),
            "auth_user_duration_ms": _quantiles(
                lat.filter(~pl.col("edge"))["ms"].to_numpy()),
            "refresh_token_already_used": self._total("refresh_token_already_used", window),
            "registrations_writes_by_route": self._by_key("registrations_writes_by_route",
                                                          window),
            "requests_by_route": self._by_key("requests_by_route", window),
            "retries_by_route": self._by_key("retries_by_route", window),
            "db_calls_per_request": {k: per_route[k] for k in sorted(per_route)},
            "participant_minutes": round(minutes, 4),
            "supabase_calls_per_participant_per_minute": round(
                self._total("participant_calls", window) / minutes, 4) if minutes else None,
            "heartbeat_calls_per_participant_per_minute": round(
                self._total("heartbeat_calls", window) / minutes, 4) if minutes else None,
            "chat_polling_requests": self._total("chat_polling_requests", window),
            "presence_events": self._total("presence_events", window),
            "connections_max": (max(self.connections.values(), default=0) if window is None
                                else self.connections.get(window, 0)),
            "cron_runs": self._total("cron_runs", window),
            "cron_failures": self._total("cron_failures", window),
        }
        return figures

    def build(self, *, scenario_summary: str, parameters: dict, files: list[str]) -> dict:
        latency = pl.concat(self.latency) if self.latency else pl.DataFrame(
            schema={"window": pl.Int32, "edge": pl.Boolean, "ms": pl.Float64})
        per_request = pl.concat(self.per_request)
        # Requests still running at the end spill into one more window; list it too.
        seen = [w for per_window in self.counts.values() for w in per_window]
        n_windows = max([-(-(self.p.end_us - self.p.start_us) // WINDOW_US)]
                        + [w + 1 for w in seen])
        totals = self._figures(None, latency, per_request)
        totals["cron_failures_by_job"] = self._by_key("cron_failures", None)
        outage = None
        if self.sim.scenario.realtime_outage:
            o0, o1 = self.p.outage_us
            first = -(-(o0 - self.p.start_us) // WINDOW_US)
            last = (o1 - self.p.start_us) // WINDOW_US
            inside = [w for w in range(first, last)]
            polls = [self._total("chat_polling_requests", w) for w in inside]
            outage = {"start": _iso(o0), "end": _iso(o1), "whole_minutes": len(inside)}
            totals["chat_polling_requests_per_minute_during_outage"] = (
                round(sum(polls) / len(polls), 3) if polls else None)
        windows = []
        for w in range(n_windows):
            entry = {"window_start": _iso(self.p.start_us + w * WINDOW_US)}
            entry.update(self._figures(w, latency, per_request))
            windows.append(entry)
        rows = {
            "edge_logs": totals["edge_requests"],
            "postgres_logs": sum(totals["postgres_errors_by_sqlstate"].values()),
            "auth_logs": self._total("rows_auth_logs", None),
            "realtime_logs": self._total("rows_realtime_logs", None),
            "vercel_logs_requests": sum(totals["requests_by_route"].values()),
            "vercel_logs_console": self._total("rows_vercel_console", None),
            "cron_runs": totals["cron_runs"],
        }
        project = self.sim.project
        return {
            "generator": "loganalyze synth",
            "scenario": self.sim.scenario.name,
            "scenario_summary": scenario_summary,
            "parameters": parameters,
            "project": {"ref": project.ref, "host": project.host,
                        "webinar_id": project.webinar_id,
                        "admin_user_id": self.sim.population.user_id[self.p.users],
                        "vercel_host": project.vercel_host},
            "window": "1 minute",
            "percentiles": "linear interpolation (DuckDB quantile_cont)",
            "outage": outage,
            "files": files,
            "rows": rows,
            "totals": totals,
            "windows": windows,
            "keys": KEY_DOCS,
        }


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / US, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
