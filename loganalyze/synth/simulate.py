"""The webinar simulation: whole columns of events per time chunk.

`Simulation.chunks()` yields one `Chunk` per `chunk_s` seconds of simulated time. A chunk
holds the true event records (frames) that the writers render and the manifest counts:

- `invocations`: Vercel function invocations (route, user, start, duration, status);
- `calls`: every request that reached the Supabase API gateway (edge rows), with the
  invocation that made it (`inv`, -1 for calls made by the browser);
- `auth`: the GoTrue side of the `/auth/v1/*` calls;
- `pg`: Postgres ERROR rows (each failing PostgREST call, failing cron jobs);
- `realtime`: the Billing-metrics lines Realtime logs every 5 s;
- `cron`: `cron.job_run_details` rows.

Load feedback: per second, the database calls are divided by a capacity proportional to
the audience (the instance is sized to the webinar, so a small replay shows the same
dynamics as a large one); latencies grow with that utilisation (auth most), slow
invocations make clients retry once, and the retries' load is added before the final
latencies are drawn. One round of retries only: a retry is never retried.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from . import ids
from .model import (
    BROWSER_USER_AGENTS,
    CRON_JOBS,
    KIND_INDEX,
    KINDS,
    MESSAGE_23505,
    MESSAGE_42703,
    MESSAGE_CRON_TIMEOUT,
    NODE_UA,
    PING_EXTRA_READS,
    ROUTE_ENTER,
    ROUTE_METHODS,
    ROUTE_PING,
    ROUTE_STATS,
    ROUTE_TRACK,
    STATEMENT_INSERT,
    STATEMENT_SELECT_ID,
    SUPABASE_JS_NODE,
    SUPABASE_SSR_BROWSER,
    route_program,
)
from .scenarios import Scenario

US = 1_000_000
MS = 1_000


@dataclass(frozen=True)
class Params:
    users: int = 1000
    minutes: int = 30
    seed: int = 20260312
    start_us: int = 1_773_309_600 * US  # 2026-03-12 10:00:00 UTC = 19:00 in Seoul
    breaker: bool = False
    ping_interval_s: float = 30.0
    track_interval_s: float = 60.0
    heartbeat_interval_s: float = 120.0
    admin_poll_s: float = 5.0
    realtime_tick_s: float = 5.0
    refresh_period_s: float = 1800.0
    two_tab_share: float = 0.12
    preregistered_share: float = 0.6
    chat_poll_s: float = 2.0
    chat_sends_per_min: float = 0.2
    breaker_schedule_s: tuple[float, ...] = (5.0, 10.0, 20.0, 40.0, 60.0)
    visible_share: float = 0.7
    outage_window: tuple[float, float] = (0.3, 0.6)
    capacity_per_user: float = 0.4
    """Database calls per second per attendee the instance serves before queueing."""
    client_timeout_ms: float = 8000.0

    @property
    def chunk_s(self) -> int:
        """Seconds simulated at once: a minute up to 500 attendees, then shorter so that
        one chunk stays around 50 MB of rendered logs however large the audience."""
        return max(2, min(60, 30_000 // self.users))

    @property
    def end_us(self) -> int:
        return self.start_us + self.minutes * 60 * US

    @property
    def outage_us(self) -> tuple[int, int]:
        span = self.end_us - self.start_us
        lo, hi = self.outage_window
        return self.start_us + int(span * lo) // US * US, self.start_us + int(span * hi) // US * US


@dataclass(frozen=True)
class Project:
    ref: str
    webinar_id: str
    vercel_host: str = "eventlive-7gq2k9xw1-eventlive.vercel.app"
    vercel_project_id: str = "prj_3kRz9tEventLiveQx7Lm2Vb8Nd"
    vercel_deployment_id: str = "dpl_9FhT2EventLiveKw4Zs6Yc1Pq3"
    region: str = "icn1"
    site: str = "https://eventlive.example.com"

    @property
    def host(self) -> str:
        return f"{self.ref}.supabase.co"


@dataclass
class Chunk:
    start_us: int
    end_us: int
    invocations: pl.DataFrame
    calls: pl.DataFrame
    auth: pl.DataFrame
    pg: pl.DataFrame
    realtime: pl.DataFrame
    cron: pl.DataFrame


@dataclass
class Population:
    """Per-attendee constants; the admin is the last row (index `users`)."""

    user_id: pl.Series
    session_id: pl.Series
    ip: pl.Series
    ua: pl.Series
    two_tabs: np.ndarray
    preregistered: np.ndarray
    arrival_us: np.ndarray
    phases: dict[str, np.ndarray] = field(default_factory=dict)
    visible: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def periodic(base_us: np.ndarray, period_us: int, lo_us: np.ndarray, hi_us: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """(row index, time) of every `base + k·period` (k ≥ 0) inside [lo, hi), per row."""
    k0 = np.maximum(0, -((base_us - lo_us) // period_us))  # ceil((lo - base) / period)
    k1 = np.maximum(0, -((base_us - hi_us) // period_us))
    n = np.maximum(k1 - k0, 0)
    rows = np.repeat(np.arange(len(base_us)), n)
    offsets = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    times = base_us[rows] + (k0[rows] + offsets) * period_us
    return rows, times


class Simulation:
    def __init__(self, scenario: Scenario, params: Params) -> None:
        self.scenario = scenario
        self.p = params
        self.rng = np.random.default_rng(params.seed)
        rng = self.rng
        ref = "".join(np.array(list("abcdefghijklmnopqrstuvwxyz"))[rng.integers(0, 26, 20)])
        self.project = Project(ref=ref, webinar_id=ids.uuid4_strings(rng, 1)[0])
        self.population = self._population()
        self.registered = self.population.preregistered.copy()
        self.next_inv = 0
        self.next_runid = 1
        self.carry = np.zeros(0)
        self.busy_until = np.zeros(params.users + 1, dtype=np.int64)
        self.pg_pids = rng.integers(20_000, 60_000, size=10)
        self.egress_ips = ids.ipv4_strings(rng, 8, (3, 13, 43, 52))
        self.kind_frame = self._kind_frame()

    # -- setup -------------------------------------------------------------------------
    def _population(self) -> Population:
        p, rng, n = self.p, self.rng, self.p.users
        span = p.end_us - p.start_us
        scale = min(90 * US, span / 8)
        arrival = p.start_us + np.minimum(rng.exponential(scale, n), span / 2).astype(np.int64)
        arrival = np.append(arrival, p.start_us)  # the admin opens the dashboard at once
        total = n + 1
        pop = Population(
            user_id=ids.uuid4_strings(rng, total),
            session_id=ids.uuid4_strings(rng, total),
            ip=ids.ipv4_strings(rng, total, (1, 14, 27, 39, 58, 61, 106, 112, 121, 175, 211)),
            ua=pl.Series(np.array(BROWSER_USER_AGENTS)[rng.integers(0, len(BROWSER_USER_AGENTS),
                                                                    total)]),
            two_tabs=np.append(rng.random(n) < p.two_tab_share, False),
            preregistered=np.append(rng.random(n) < p.preregistered_share, True),
            arrival_us=arrival,
        )
        for name, period in (("ping", p.ping_interval_s), ("track", p.track_interval_s),
                             ("heartbeat", p.heartbeat_interval_s),
                             ("refresh", p.refresh_period_s), ("poll", p.chat_poll_s),
                             ("poll2", p.chat_poll_s), ("breaker", p.breaker_schedule_s[0])):
            pop.phases[name] = (rng.random(total) * period * US).astype(np.int64)
        pop.visible = rng.random(total) < p.visible_share
        return pop

    def _kind_frame(self) -> pl.DataFrame:
        w = self.project.webinar_id
        rows = []
        for i, k in enumerate(KINDS):
            parts = k.search_parts
            head, tail = (None, None) if parts is None else (parts[0].replace("{webinar}", w),
                                                             parts[1].replace("{webinar}", w))
            rows.append({"kind": i, "kind_name": k.name, "method": k.method, "path": k.path,
                         "search_head": head, "search_tail": tail,
                         "search_has_user": parts is not None and "{user}" in (k.search or ""),
                         "table_name": k.table, "write": k.write, "auth": k.auth,
                         "base_ms": k.base_ms})
        return pl.DataFrame(rows)

    # -- the chunk loop ----------------------------------------------------------------
    def chunks(self) -> Iterator[Chunk]:
        step = self.p.chunk_s * US
        for c0 in range(self.p.start_us, self.p.end_us, step):
            yield self._chunk(c0, min(c0 + step, self.p.end_us))

    def _online_bounds(self, c0: int, c1: int, delay_us: int = 0) -> tuple[np.ndarray, np.ndarray]:
        pop = self.population
        lo = np.maximum(c0, pop.arrival_us + delay_us)
        hi = np.full_like(lo, c1)
        return lo, hi

    def _chunk(self, c0: int, c1: int) -> Chunk:
        p, sc, pop, rng = self.p, self.scenario, self.population, self.rng
        n = p.users
        participants = np.arange(n)
        inv_parts: list[tuple[str, np.ndarray, np.ndarray]] = []

        # Entry: every attendee once at arrival; a second tab enters within two seconds.
        arriving = participants[(pop.arrival_us[:n] >= c0) & (pop.arrival_us[:n] < c1)]
        second = arriving[pop.two_tabs[arriving]]
        inv_parts.append((ROUTE_ENTER, np.concatenate([arriving, second]), np.concatenate([
            pop.arrival_us[arriving],
            pop.arrival_us[second] + rng.integers(50 * MS, 2 * US, len(second))])))

        lo, hi = self._online_bounds(c0, c1, delay_us=2 * US)
        if not sc.heartbeat_rpc:
            rows, t = periodic(pop.arrival_us[:n] + pop.phases["ping"][:n],
                               int(p.ping_interval_s * US), lo[:n], hi[:n])
            inv_parts.append((ROUTE_PING, rows, t))
        rows, t = periodic(pop.arrival_us[:n] + pop.phases["track"][:n],
                           int(p.track_interval_s * US), lo[:n], hi[:n])
        inv_parts.append((ROUTE_TRACK, rows, t))
        admin = np.array([n])
        rows, t = periodic(np.array([p.start_us + 3 * US]), int(p.admin_poll_s * US),
                           np.array([c0]), np.array([c1]))
        inv_parts.append((ROUTE_STATS, admin[rows], t))

        invocations = self._invocations(inv_parts, retry=False)
        calls = self._expand(invocations)
        browser = self._browser_calls(c0, c1)
        load = self._load(c0, c1, pl.concat([calls.select("t_us", "auth"),
                                             browser.select("t_us", "auth")]))
        calls = self._place(invocations, calls, load, c0)
        invocations = self._durations(invocations, calls)

        retries = self._retries(invocations)
        if retries.height:
            retry_calls = self._expand(retries)
            invocations = pl.concat([invocations.drop("duration_ms", "status"), retries])
            calls = pl.concat([calls.select(retry_calls.columns), retry_calls])
        load = self._load(c0, c1, pl.concat([calls.select("t_us", "auth"),
                                             browser.select("t_us", "auth")]), final=True)
        calls = self._place(invocations.drop("duration_ms", "status", strict=False),
                            calls.select(retry_calls.columns if retries.height else calls.columns),
                            load, c0)
        invocations = self._durations(invocations.drop("duration_ms", "status", strict=False),
                                      calls)
        invocations, calls = self._one_at_a_time(invocations, calls)

        browser = self._browser_latency(browser, load, c0)
        calls = self._statuses(pl.concat([calls, browser.select(calls.columns)]))
        invocations = self._invocation_outcome(invocations, calls)
        calls = self._edge_columns(calls)
        cron = self._cron(c0, c1, load)
        return Chunk(c0, c1, invocations, calls, self._auth(calls), self._pg(calls, cron),
                     self._realtime(c0, c1), cron)

    # -- invocations and their calls -----------------------------------------------------
    def _invocations(self, parts: list[tuple[str, np.ndarray, np.ndarray]], *, retry: bool
                     ) -> pl.DataFrame:
        frames = []
        for route, users, times in parts:
            frames.append(pl.DataFrame({
                "route": pl.Series([route] * len(users), dtype=pl.String),
                "user": users.astype(np.int32), "t_us": times.astype(np.int64)}))
        frame = pl.concat(frames).sort("t_us", "user", "route")
        count = frame.height
        frame = frame.with_columns(
            inv=pl.Series(np.arange(self.next_inv, self.next_inv + count, dtype=np.int64)),
            retry=pl.lit(retry),
            overhead_ms=pl.Series(self.rng.uniform(8, 40, count)),
        )
        self.next_inv += count
        return frame

    def _expand(self, invocations: pl.DataFrame) -> pl.DataFrame:
        """One row per Supabase call an invocation makes, in the order it makes them."""
        frames = []
        lo, hi = self.scenario.ping_extra_reads
        for route in sorted(ROUTE_METHODS):
            inv = invocations.filter(pl.col("route") == route)
            if not inv.height:
                continue
            program = [KIND_INDEX[k] for k in route_program(self.scenario, route)]
            n_fixed = len(program)
            extra = (self.rng.integers(lo, hi + 1, inv.height) if route == ROUTE_PING
                     else np.zeros(inv.height, dtype=np.int64))
            per = n_fixed + extra
            idx = np.repeat(np.arange(inv.height), per)
            seq = np.arange(int(per.sum())) - np.repeat(np.cumsum(per) - per, per)
            extra_kinds = np.array([KIND_INDEX[k] for k in PING_EXTRA_READS])
            kinds = np.where(seq < n_fixed, np.asarray(program)[np.minimum(seq, n_fixed - 1)],
                             extra_kinds[np.clip(seq - n_fixed, 0, len(extra_kinds) - 1)])
            frames.append(pl.DataFrame({
                "inv": inv["inv"].to_numpy()[idx], "seq": seq.astype(np.int32),
                "kind": kinds.astype(np.int64), "user": inv["user"].to_numpy()[idx],
                "t_us": inv["t_us"].to_numpy()[idx], "route": inv["route"].to_numpy()[idx],
            }))
        calls = pl.concat(frames).join(self.kind_frame.select("kind", "auth"), on="kind",
                                       maintain_order="left")
        return calls.with_columns(origin=pl.lit("server")).sort("inv", "seq")

    def _browser_calls(self, c0: int, c1: int) -> pl.DataFrame:
        """Calls the browser makes itself: heartbeat RPC, token refreshes, chat."""
        p, sc, pop, rng = self.p, self.scenario, self.population, self.rng
        n = p.users
        lo, hi = self._online_bounds(c0, c1, delay_us=2 * US)
        parts: list[tuple[str, np.ndarray, np.ndarray]] = []
        if sc.heartbeat_rpc:
            rows, t = periodic(pop.arrival_us[:n] + pop.phases["heartbeat"][:n],
                               int(p.heartbeat_interval_s * US), lo[:n], hi[:n])
            parts.append(("heartbeat_rpc", rows, t))
        rows, t = periodic(p.start_us + pop.phases["refresh"][:n], int(p.refresh_period_s * US),
                           lo[:n], hi[:n])
        twin = pop.two_tabs[rows]
        parts.append(("token_refresh", np.concatenate([rows, rows[twin]]), np.concatenate(
            [t, t[twin] + rng.integers(50 * MS, 3 * US, int(twin.sum()))])))
        online = participants_online = np.flatnonzero(pop.arrival_us[:n] < c1)
        sends = rng.poisson(p.chat_sends_per_min * len(participants_online) * (c1 - c0) / 60 / US)
        if sends and len(online):
            who = online[rng.integers(0, len(online), sends)]
            when = np.maximum(rng.integers(c0, c1, sends), pop.arrival_us[who] + 2 * US)
            keep = when < c1
            parts.append(("chat_send", who[keep], when[keep]))
        parts.extend(self._chat_polls(c0, c1))
        frames = [pl.DataFrame({"kind": np.full(len(r), KIND_INDEX[k], dtype=np.int64),
                                "user": r.astype(np.int32), "t_us": t.astype(np.int64)})
                  for k, r, t in parts]
        calls = pl.concat(frames).sort("t_us", "user", "kind")
        calls = calls.join(self.kind_frame.select("kind", "auth"), on="kind",
                           maintain_order="left")
        return calls.with_columns(
            inv=pl.lit(-1, dtype=pl.Int64), seq=pl.lit(0, dtype=pl.Int32),
            route=pl.lit(None, dtype=pl.String), origin=pl.lit("browser"),
        ).sort("t_us", "user", "kind")

    def _chat_polls(self, c0: int, c1: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
        p, pop = self.p, self.population
        if not self.scenario.realtime_outage:
            return []
        o0, o1 = p.outage_us
        n = p.users
        lo = np.maximum(np.maximum(c0, o0), pop.arrival_us[:n])
        hi = np.full(n, min(c1, o1))
        if not p.breaker:
            period = int(p.chat_poll_s * US)
            rows, t = periodic(o0 + pop.phases["poll"][:n], period, lo, hi)
            tabs = np.flatnonzero(pop.two_tabs[:n])
            rows2, t2 = periodic(o0 + pop.phases["poll2"][tabs], period, lo[tabs], hi[tabs])
            return [("chat_poll", np.concatenate([rows, tabs[rows2]]), np.concatenate([t, t2]))]
        # Breaker: visible tabs only, exponential backoff up to the longest interval.
        steps = list(p.breaker_schedule_s)
        total = o1 - o0
        while sum(steps) * US < total:
            steps.append(p.breaker_schedule_s[-1])
        offsets = (np.cumsum(steps) * US).astype(np.int64)
        users = np.flatnonzero(pop.visible[:n])
        t = (o0 + pop.phases["breaker"][users])[:, None] + offsets[None, :]
        rows = np.repeat(users, len(offsets))
        t = t.ravel()
        keep = (t >= lo[rows]) & (t < hi[rows])
        return [("chat_poll", rows[keep], t[keep])]

    # -- load and latency ------------------------------------------------------------------
    def _load(self, c0: int, c1: int, calls: pl.DataFrame, *, final: bool = False
              ) -> np.ndarray:
        """Utilisation per second of the chunk (index 0 = c0), 5-second moving average.

        Calls that spill past the chunk end (slow invocations, retries) are carried into
        the next chunk's first seconds, so chunk boundaries show no dip in load."""
        length = (c1 - c0) // US
        seconds = length + 60
        sec = np.clip((calls["t_us"].to_numpy() - c0) // US, 0, seconds - 1)
        per_second = np.bincount(sec, minlength=seconds).astype(float)
        per_second[: len(self.carry)] += self.carry
        if final:
            self.carry = per_second[length:].copy()
        smooth = np.convolve(per_second, np.ones(5) / 5, mode="same")
        capacity = max(self.p.capacity_per_user * self.p.users, 1.0)
        return np.minimum(smooth / capacity, 0.99)

    def _latency_ms(self, calls: pl.DataFrame, load: np.ndarray, c0: int) -> np.ndarray:
        sec = np.clip((calls["t_us"].to_numpy() - c0) // US, 0, len(load) - 1)
        rho = load[sec]
        kinds = calls["kind"].to_numpy()
        base = self.kind_frame["base_ms"].to_numpy()[kinds]
        is_auth = self.kind_frame["auth"].to_numpy()[kinds]
        slowdown = np.where(is_auth, 1 + 70 * rho**6, 1 + 12 * rho**6)
        noise = self.rng.lognormal(0.0, 0.35, len(kinds))
        return np.maximum(1, np.rint(base * noise * slowdown)).astype(np.int64)

    def _place(self, invocations: pl.DataFrame, calls: pl.DataFrame, load: np.ndarray,
               c0: int) -> pl.DataFrame:
        """Latencies, then each call's start inside its invocation (calls run one by one)."""
        calls = calls.sort("inv", "seq")
        latency = self._latency_ms(calls, load, c0)
        gap_us = self.rng.integers(300, 3000, len(latency))
        step = latency * MS + gap_us
        inv = calls["inv"].to_numpy()
        run = np.cumsum(step)
        first = np.r_[True, inv[1:] != inv[:-1]]
        group_start = np.maximum.accumulate(np.where(first, np.arange(len(inv)), 0))
        before = run - step - (run[group_start] - step[group_start])
        starts = invocations.select("inv", "overhead_ms", inv_t="t_us")
        calls = calls.drop("t_us").join(starts, on="inv", how="left", maintain_order="left")
        return calls.with_columns(
            t_us=pl.col("inv_t") + (pl.col("overhead_ms") * MS).cast(pl.Int64)
            + pl.Series(before),
            latency_ms=pl.Series(latency),
        ).drop("inv_t", "overhead_ms")

    def _browser_latency(self, browser: pl.DataFrame, load: np.ndarray, c0: int) -> pl.DataFrame:
        return browser.with_columns(latency_ms=pl.Series(self._latency_ms(browser, load, c0)))

    def _durations(self, invocations: pl.DataFrame, calls: pl.DataFrame) -> pl.DataFrame:
        ends = calls.group_by("inv").agg(end_us=(pl.col("t_us") + pl.col("latency_ms") * MS).max())
        out = invocations.join(ends, on="inv", how="left", maintain_order="left")
        return out.with_columns(
            duration_ms=((pl.col("end_us") - pl.col("t_us")) / MS + 4.0).round(2),
            status=pl.lit(200, dtype=pl.Int32),
        ).drop("end_us").sort("t_us", "inv")

    def _one_at_a_time(self, invocations: pl.DataFrame, calls: pl.DataFrame
                       ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """A client sends its next request only after the previous one answered.

        Overlapping invocations of one user are pushed back (with their calls) until each
        starts after the previous one ended, also across chunk boundaries. This is what
        makes a Supabase call's invocation unambiguous from (user, time) alone."""
        gap = 1 * MS
        for _ in range(200):
            ordered = invocations.sort("user", "t_us", "inv")
            users = ordered["user"].to_numpy()
            start = ordered["t_us"].to_numpy()
            end = start + np.ceil(ordered["duration_ms"].to_numpy() * MS).astype(np.int64)
            first = np.r_[True, users[1:] != users[:-1]]
            previous_end = np.where(first, self.busy_until[users], np.r_[0, end[:-1]])
            delay = np.maximum(0, previous_end + gap - start)
            if not delay.any():
                break
            # Only the first late invocation of each user moves in this pass; the ones
            # after it are looked at again once it has moved.
            late = delay > 0
            late_rank = np.cumsum(late) - np.maximum.accumulate(np.where(first, np.cumsum(late)
                                                                         - late, 0))
            delay = np.where(late & (late_rank == 1), delay, 0)
            shift = pl.DataFrame({"inv": ordered["inv"], "shift": delay})
            invocations = ordered.join(shift, on="inv", maintain_order="left").with_columns(
                t_us=pl.col("t_us") + pl.col("shift")).drop("shift")
            calls = calls.join(shift, on="inv", how="left", maintain_order="left")
            calls = calls.with_columns(
                t_us=pl.col("t_us") + pl.col("shift").fill_null(0)).drop("shift")
        ends = invocations.select(
            "user", end=pl.col("t_us") + (pl.col("duration_ms") * MS).ceil().cast(pl.Int64))
        last = ends.group_by("user").agg(pl.col("end").max())
        self.busy_until[last["user"].to_numpy()] = np.maximum(
            self.busy_until[last["user"].to_numpy()], last["end"].to_numpy())
        return invocations.sort("t_us", "inv"), calls

    def _retries(self, invocations: pl.DataFrame) -> pl.DataFrame:
        """Clients whose request took too long try once more, 1–3 s after giving up."""
        slow = invocations.filter(pl.col("route") != ROUTE_STATS)
        dur = slow["duration_ms"].to_numpy()
        chance = np.clip((dur - 2500) / 5000, 0, 0.8)
        pick = self.rng.random(len(dur)) < chance
        if not pick.any():
            return invocations.clear().drop("duration_ms", "status")
        chosen = slow.filter(pl.Series(pick))
        waited = np.minimum(chosen["duration_ms"].to_numpy(), self.p.client_timeout_ms)
        again = (chosen["t_us"].to_numpy() + (waited * MS).astype(np.int64)
                 + self.rng.integers(1 * US, 3 * US, chosen.height))
        return self._invocations([(r, chosen.filter(pl.col("route") == r)["user"].to_numpy(),
                                   again[(chosen["route"] == r).to_numpy()])
                                  for r in chosen["route"].unique().sort()], retry=True)

    # -- outcomes ------------------------------------------------------------------------
    def _statuses(self, calls: pl.DataFrame) -> pl.DataFrame:
        calls = calls.sort("t_us", "inv", "seq", "user", "kind")
        kinds = calls["kind"].to_numpy()
        users = calls["user"].to_numpy()
        method_post = self.kind_frame["method"].to_numpy()[kinds] == "POST"
        status = np.where(method_post, 201, 200).astype(np.int32)
        status[kinds == KIND_INDEX["heartbeat_rpc"]] = 200
        sqlstate = np.zeros(len(kinds), dtype=np.int8)  # index into SQLSTATES
        reused_token = np.zeros(len(kinds), dtype=bool)

        bad_select = kinds == KIND_INDEX["registration_select_id"]
        status[bad_select] = 400
        sqlstate[bad_select] = 1

        inserts = np.flatnonzero(kinds == KIND_INDEX["registration_insert"])
        if len(inserts):
            first_of_user = np.zeros(len(inserts), dtype=bool)
            _, first_idx = np.unique(users[inserts], return_index=True)
            first_of_user[first_idx] = True
            succeeds = first_of_user & ~self.registered[users[inserts]]
            self.registered[users[inserts[succeeds]]] = True
            dup = inserts[~succeeds]
            status[dup] = 409
            sqlstate[dup] = 2
        upserts = kinds == KIND_INDEX["registration_upsert"]
        self.registered[users[upserts]] = True

        # Two tabs refreshing the same token: the later one finds it already used.
        refresh = np.flatnonzero(kinds == KIND_INDEX["token_refresh"])
        if len(refresh):
            order = refresh[np.lexsort((calls["t_us"].to_numpy()[refresh], users[refresh]))]
            u = users[order]
            t = calls["t_us"].to_numpy()[order]
            again = np.r_[False, (u[1:] == u[:-1]) & (t[1:] - t[:-1] < 10 * US)]
            reused = order[again]
            status[reused] = 400
            reused_token[reused] = True
        return calls.with_columns(
            status=pl.Series(status),
            sqlstate=pl.Series(sqlstate).replace_strict(
                {0: None, 1: "42703", 2: "23505"}, return_dtype=pl.String),
            auth_error_code=pl.when(pl.Series(reused_token))
            .then(pl.lit("refresh_token_already_used")).otherwise(pl.lit(None, dtype=pl.String)),
        )

    def _invocation_outcome(self, invocations: pl.DataFrame, calls: pl.DataFrame
                            ) -> pl.DataFrame:
        errors = (calls.filter(pl.col("inv") >= 0)
                  .group_by("inv")
                  .agg(n_400=(pl.col("status") == 400).sum(),
                       n_409=(pl.col("status") == 409).sum()))
        out = invocations.join(errors, on="inv", how="left", maintain_order="left")
        out = out.with_columns(
            pl.col("n_400", "n_409").fill_null(0))
        pop = self.population
        out = out.with_columns(
            status=pl.when((pl.col("route") == ROUTE_ENTER) & (pl.col("n_409") > 0))
            .then(pl.lit(500, dtype=pl.Int32)).otherwise(pl.col("status")),
            method=pl.col("route").replace_strict(ROUTE_METHODS, return_dtype=pl.String),
        )
        users = out["user"].to_numpy()
        count = out.height
        return out.with_columns(
            user_id=pop.user_id.gather(users),
            client_ip=pop.ip.gather(users),
            user_agent=pop.ua.gather(users),
            request_id=pl.concat_str([
                pl.Series(np.array(list("abcdefghijklmnopqrstuvwxyz"))[
                    self.rng.integers(0, 26, (count, 5))].view("<U5").ravel()),
                (pl.col("t_us") // MS).cast(pl.String),
                ids.hex_strings(self.rng, count, 12)], separator="-"),
        ).sort("t_us", "inv")

    def _edge_columns(self, calls: pl.DataFrame) -> pl.DataFrame:
        """Identifiers and the request attributes an edge row shows."""
        pop, rng = self.population, self.rng
        n = calls.height
        users = calls["user"].to_numpy()
        server = (calls["origin"] == "server").to_numpy()
        egress = self.egress_ips.gather(rng.integers(0, len(self.egress_ips), n))
        kf = self.kind_frame.select("kind", "kind_name", "method", "path", "search_head",
                                    "search_tail", "search_has_user", "table_name", "write")
        calls = calls.join(kf, on="kind", how="left", maintain_order="left")
        uid = pop.user_id.gather(users)
        calls = calls.with_columns(
            id=ids.uuid4_strings(rng, n),
            cf_ray=ids.hex_strings(rng, n, 16),
            cf_ray_edge=ids.hex_strings(rng, n, 16),
            sb_request_id=ids.uuid4_strings(rng, n),
            user_id=pl.when(pl.col("kind") == KIND_INDEX["token_refresh"])
            .then(pl.lit(None, dtype=pl.String)).otherwise(uid),
            session_id=pl.when(pl.col("kind") == KIND_INDEX["token_refresh"])
            .then(pl.lit(None, dtype=pl.String)).otherwise(pop.session_id.gather(users)),
            ip=pl.when(pl.Series(server)).then(egress).otherwise(pop.ip.gather(users)),
            user_agent=pl.when(pl.Series(server)).then(pl.lit(NODE_UA))
            .otherwise(pop.ua.gather(users)),
            client_info=pl.when(pl.Series(server)).then(pl.lit(SUPABASE_JS_NODE))
            .otherwise(pl.lit(SUPABASE_SSR_BROWSER)),
            search=pl.when(pl.col("search_head").is_null()).then(pl.lit(None, dtype=pl.String))
            .when(pl.col("search_has_user"))
            .then(pl.concat_str([pl.col("search_head"), uid, pl.col("search_tail")]))
            .otherwise(pl.col("search_head")),
        ).drop("search_head", "search_tail", "search_has_user")
        return calls.with_columns(
            cf_ray_resp=pl.col("cf_ray_edge").str.slice(0, 12) + pl.col("cf_ray").str.slice(12)
            + "-ICN",
        ).drop("cf_ray_edge").sort("t_us", "id")

    def _auth(self, calls: pl.DataFrame) -> pl.DataFrame:
        auth = calls.filter(pl.col("kind").is_in([KIND_INDEX["auth_user"],
                                                  KIND_INDEX["token_refresh"]]))
        n = auth.height
        network_us = self.rng.integers(800, 4000, n)
        return auth.select(
            "user_id", "status", "ip", "kind", "latency_ms", "auth_error_code",
            request_id="cf_ray_resp",
            id=ids.uuid4_strings(self.rng, n),
            self_request_id=ids.uuid4_strings(self.rng, n),
            token_id=ids.digit_strings(self.rng, n, 8),
            end_us=pl.col("t_us") + pl.col("latency_ms") * MS,
            end_us_second=(pl.col("t_us") + pl.col("latency_ms") * MS) // US * US,
            duration_ns=pl.Series(np.maximum(auth["latency_ms"].to_numpy() * MS - network_us, 150)
                                  * 1000 + self.rng.integers(0, 1000, n)),
        ).sort("end_us", "id")

    def _pg(self, calls: pl.DataFrame, cron: pl.DataFrame) -> pl.DataFrame:
        """ERROR rows: one per failing PostgREST call, one per failing cron job."""
        failed = calls.filter(pl.col("sqlstate").is_not_null())
        n = failed.height
        pid_idx = self.rng.integers(0, len(self.pg_pids), n)
        is_select = pl.col("sqlstate") == "42703"
        frame = failed.select(
            "sqlstate", "table_name", "route",
            id=ids.uuid4_strings(self.rng, n),
            ts_us=pl.col("t_us") + (pl.col("latency_ms") * 400).cast(pl.Int64),
            pid=pl.Series(self.pg_pids[pid_idx], dtype=pl.Int64),
            user_name=pl.lit("authenticator"),
            application_name=pl.lit("postgrest"),
            command_tag=pl.when(is_select).then(pl.lit("SELECT")).otherwise(pl.lit("INSERT")),
            message=pl.when(is_select).then(pl.lit(MESSAGE_42703))
            .otherwise(pl.lit(MESSAGE_23505)),
            detail=pl.when(is_select).then(pl.lit(None, dtype=pl.String)).otherwise(
                pl.concat_str([pl.lit("Key (webinar_id, user_id)=("
                                      + self.project.webinar_id + ", "),
                               pl.col("user_id"), pl.lit(") already exists.")])),
            statement=pl.when(is_select).then(pl.lit(STATEMENT_SELECT_ID))
            .otherwise(pl.lit(STATEMENT_INSERT)),
            query_pos=pl.when(is_select).then(pl.lit(STATEMENT_SELECT_ID.index('."id"') + 2))
            .otherwise(pl.lit(None, dtype=pl.Int64)),
        )
        if cron.height:
            bad = cron.filter(pl.col("failed"))
            frame = pl.concat([frame, bad.select(
                id="pg_id", ts_us=pl.col("start_us") + pl.col("run_us"),
                pid=pl.col("job_pid").cast(pl.Int64),
                sqlstate=pl.lit("57014"), user_name=pl.lit("postgres"),
                application_name=pl.lit("pg_cron"), command_tag=pl.lit("DELETE"),
                table_name=pl.lit(None, dtype=pl.String), route=pl.lit(None, dtype=pl.String),
                message=pl.lit(MESSAGE_CRON_TIMEOUT), detail=pl.lit(None, dtype=pl.String),
                statement="command", query_pos=pl.lit(None, dtype=pl.Int64),
            ).select(frame.columns)], how="vertical_relaxed")
        return frame.sort("ts_us", "id")

    def _realtime(self, c0: int, c1: int) -> pl.DataFrame:
        p, pop, sc = self.p, self.population, self.scenario
        tick = int(p.realtime_tick_s * US)
        first = c0 + (-(c0 - p.start_us) % tick)
        times = np.arange(first, c1, tick, dtype=np.int64)
        if not len(times):
            return pl.DataFrame()
        n = p.users
        tabs = 1 + pop.two_tabs[:n].astype(np.int64)
        arrivals = np.sort(pop.arrival_us[:n])
        order = np.argsort(pop.arrival_us[:n], kind="stable")
        tab_cum = np.r_[0, np.cumsum(tabs[order])]
        online = tab_cum[np.searchsorted(arrivals, times, side="right")]
        joined = online - tab_cum[np.searchsorted(arrivals, times - tick, side="right")]
        down = np.zeros(len(times), dtype=bool)
        if sc.realtime_outage:
            o0, o1 = p.outage_us
            down = (times >= o0) & (times < o1)
            rejoin = (times >= o1) & (times < o1 + tick)
            joined = np.where(rejoin, online, joined)
        connected = np.where(down, 0, online)
        if sc.presence_on_sync:
            presence = joined + self.rng.poisson(connected * p.realtime_tick_s / 300)
        else:
            presence = connected.copy()
        presence = np.where(down, 0, presence)
        limit_conn = max(500, (p.users * 2 // 500 + 1) * 500)
        return pl.DataFrame({
            "ts_us": np.repeat(times, 2),
            "metric": np.tile(np.array(["connections", "presence_events"]), len(times)),
            "connected": np.column_stack([connected, np.zeros_like(connected)]).ravel(),
            "sum": np.column_stack([np.zeros_like(presence), presence]).ravel(),
            "limit": np.tile(np.array([limit_conn, 100]), len(times)),
            "id": ids.uuid4_strings(self.rng, 2 * len(times)),
        })

    def _cron(self, c0: int, c1: int, load: np.ndarray) -> pl.DataFrame:
        """`cron.job_run_details` rows of the retention jobs that start in this chunk.

        Where the scenario has cron failures, a run fails (statement timeout) when the
        database is at least half busy over the minute it runs in."""
        frames = []
        for jobid, _name, every, command in CRON_JOBS:
            _, times = periodic(np.array([self.p.start_us]), every * US, np.array([c0]),
                                np.array([c1]))
            n = len(times)
            if not n:
                continue
            busy = load[: (c1 - c0) // US].mean() >= 0.5
            fail = np.full(n, busy and self.scenario.cron_failures)
            frames.append(pl.DataFrame({
                "jobid": np.full(n, jobid, dtype=np.int64), "command": [command] * n,
                "start_us": times + self.rng.integers(5 * MS, 20 * MS, n),
                "failed": fail,
                "run_us": np.where(fail, 8 * US + self.rng.integers(0, 50 * MS, n),
                                   self.rng.integers(20 * MS, 400 * MS, n)),
                "deleted": self.rng.integers(0, 40, n),
                "job_pid": self.rng.integers(20_000, 60_000, n),
                "pg_id": ids.uuid4_strings(self.rng, n),
            }))
        if not frames:
            return pl.DataFrame()
        out = pl.concat(frames).sort("start_us", "jobid")
        out = out.with_columns(runid=pl.Series(np.arange(self.next_runid,
                                                         self.next_runid + out.height)))
        self.next_runid += out.height
        return out
