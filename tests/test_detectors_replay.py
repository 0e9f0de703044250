"""The detectors recover the ground truth of the bundled replays.

Each replay under sample_logs/ is ingested as shipped and every figure of its
manifest.json (written by `loganalyze synth` from the simulation's own event records, not
from the log files) is recomputed from the detectors' frames: counts exactly, latency
percentiles to the manifest's 3 decimals (both use linear interpolation), per-request
means to its 4 decimals. Figures the logs cannot carry are listed in NOT_IN_LOGS with the
reason; participant-minute rates are checked as the estimates they are.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta

import polars as pl
import pytest

import loganalyze
from loganalyze.analysis import run_detector

from .conftest import SAMPLE_LOGS

REPLAYS = (
    sorted(p.name for p in SAMPLE_LOGS.glob("*") if (p / "manifest.json").is_file())
    if SAMPLE_LOGS.is_dir()
    else []
)

NOT_IN_LOGS = {
    "retries_by_route": "a client's retry of a slow request looks like any other request",
    "participant_minutes": "arrival and departure times are not logged (estimated below)",
    "supabase_calls_per_participant_per_minute": "needs participant_minutes and which user "
    "is the admin (estimated below)",
    "heartbeat_calls_per_participant_per_minute": "needs participant_minutes (estimated below)",
}
SELF_HOSTED_GAPS = {
    # Kong's access line carries neither the JWT subject, the latency nor x-client-info.
    "auth_user_latency_ms": "Kong access lines carry no latency",
    "registrations_writes_by_route": "Kong lines carry no JWT subject to tie calls to routes",
    "db_calls_per_request": "Kong lines carry no JWT subject to tie calls to routes",
}
SELF_HOSTED_WINDOW_GAPS = {
    # Kong (nginx) stamps an access line when the request ends; the manifest puts a
    # request in the minute it started, so requests across a minute's end move.
    "auth_user_calls": "Kong lines are stamped at the request's end",
    "http_409_by_table": "Kong lines are stamped at the request's end",
    "http_400_by_path": "Kong lines are stamped at the request's end",
    "chat_polling_requests": "Kong lines are stamped at the request's end",
}


@pytest.fixture(scope="module", params=REPLAYS)
def replay(request):
    from loganalyze.ingest import ingest

    directory = SAMPLE_LOGS / request.param
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    con = loganalyze.connect()
    ingest([directory], con)
    yield request.param, manifest, con
    con.close()


def _by(frame: pl.DataFrame, key: str, value: str = "count") -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for k, v in frame.select(key, value).iter_rows():
        out[str(k)] += int(v)
    return {k: out[k] for k in sorted(out) if out[k]}


def _quantiles(frame: pl.DataFrame) -> dict:
    if frame.height == 0 or frame["count"][0] == 0:
        return {"count": 0, "mean": None, "p50": None, "p95": None, "p99": None}
    row = frame.row(0, named=True)
    return {
        "count": row["count"],
        "mean": round(row["mean_ms"], 3) if row["mean_ms"] is not None else None,
        "p50": round(row["p50_ms"], 3) if row["p50_ms"] is not None else None,
        "p95": round(row["p95_ms"], 3) if row["p95_ms"] is not None else None,
        "p99": round(row["p99_ms"], 3) if row["p99_ms"] is not None else None,
    }


def recover(con, manifest: dict, **scope) -> dict:
    """The manifest's figures as the detectors find them over `scope` (since/until)."""
    everything = {"window": "all", **scope}
    schema = run_detector(con, "schema_errors", **everything)
    conflicts = run_detector(con, "conflict_storms", min_count=1, multiple=0.0, **everything)
    statuses = run_detector(con, "status_storms", min_count=1, multiple=0.0, **everything)
    edge_statuses = statuses.filter(pl.col("source") == "edge")
    latency = run_detector(con, "auth_user_latency", per_caller=False, **everything)
    duration = run_detector(con, "auth_user_latency", per_caller=False, prefer="auth", **everything)
    refresh = run_detector(con, "refresh_token_races", **everything)
    hot = run_detector(con, "hot_path_cost", **scope)
    routes = hot.filter(~pl.col("route").str.starts_with("(") & (pl.col("target") == "(all)"))
    writes = hot.filter(pl.col("target") == "registrations")
    presence = run_detector(con, "realtime_presence", **everything)
    cron = run_detector(con, "cron_failures", **everything)
    polls = run_detector(con, "polling_pressure", path_pattern="chat_messages", **everything)
    coverage = run_detector(con, "ingest_coverage", **scope)

    sqlstates = {
        **_by(schema, "sqlstate", "postgres_count"),
        "23505": int(conflicts["count"].sum() or 0),
        "57014": int(cron["count"].sum() or 0),
    }
    every = hot.filter(pl.col("target") == "(all)")
    return {
        "sqlstate_42703": int(schema.filter(pl.col("sqlstate") == "42703")["count"].sum()),
        "postgres_errors_by_sqlstate": {k: v for k, v in sorted(sqlstates.items()) if v},
        "sqlstate_23505_by_table": _by(conflicts, "table_name"),
        "http_409_by_table": _by(
            edge_statuses.filter(pl.col("status_class") == "409").with_columns(
                table=pl.col("path").str.extract(r"^/rest/v1/([^/?]+)")
            ),
            "table",
        ),
        "http_400_by_path": _by(edge_statuses.filter(pl.col("status_class") == "400"), "path"),
        "edge_requests": _rows(coverage, "edge_logs"),
        "rest_requests": round(
            float((every["db_calls_per_request_mean"] * every["requests"]).sum() or 0)
        ),
        "auth_user_calls": int(latency["count"].sum() or 0),
        "auth_user_latency_ms": _quantiles(latency),
        "auth_user_duration_ms": _quantiles(duration),
        "refresh_token_already_used": int(refresh["count"].sum() or 0),
        "registrations_writes_by_route": {
            ("(browser)" if r == "(browser)" else r): n
            for r, n in _by(writes, "route", "writes").items()
        },
        "requests_by_route": _by(routes, "route", "requests"),
        "db_calls_per_request": {
            row["route"]: {
                "requests": row["requests"],
                "rest_calls_mean": round(row["db_calls_per_request_mean"], 4),
                "rest_calls_min": row["db_calls_per_request_min"],
                "rest_calls_max": row["db_calls_per_request_max"],
                "supabase_calls_mean": round(row["calls_per_request_mean"], 4),
            }
            for row in routes.sort("route").iter_rows(named=True)
        },
        "chat_polling_requests": int(polls["count"].sum() or 0),
        "presence_events": int(presence["presence_events"].sum() or 0),
        "connections_max": int(presence["connected_max"].max() or 0),
        "cron_runs": int(cron["runs"].sum() or 0),
        "cron_failures": int(cron["count"].sum() or 0),
    }


def _rows(coverage: pl.DataFrame, table: str) -> int:
    return int(
        coverage.filter((pl.col("table_name") == table) & (pl.col("file") == "(all files)"))[
            "rows"
        ][0]
    )


def _compare(recovered: dict, expected: dict, skip: dict) -> list[str]:
    wrong = []
    for key, want in expected.items():
        if key in skip or key in NOT_IN_LOGS or key == "window_start":
            continue
        if key not in recovered:
            wrong.append(f"{key}: not recovered")
        elif recovered[key] != want:
            wrong.append(f"{key}: {recovered[key]!r} != manifest {want!r}")
    return wrong


def test_replay_totals_are_recovered(replay):
    name, manifest, con = replay
    skip = SELF_HOSTED_GAPS if "selfhosted" in name else {}
    totals = {k: v for k, v in manifest["totals"].items() if k in manifest["windows"][0]}
    wrong = _compare(recover(con, manifest), totals, skip)
    assert not wrong, "\n".join(wrong)


# Figures of a one-minute window that the windowed detectors give directly. The
# per-request figures (hot_path_cost) are checked over the whole replay: a request's calls
# may run past the end of the minute it started in.
WINDOWED = (
    "sqlstate_42703",
    "postgres_errors_by_sqlstate",
    "sqlstate_23505_by_table",
    "http_409_by_table",
    "http_400_by_path",
    "auth_user_calls",
    "auth_user_latency_ms",
    "auth_user_duration_ms",
    "refresh_token_already_used",
    "chat_polling_requests",
    "presence_events",
    "connections_max",
    "cron_runs",
    "cron_failures",
)


def recover_windows(con) -> dict[str, dict]:
    """Per one-minute window (ISO start → figures), from one windowed run of each detector."""
    every_window = {"min_count": 1, "multiple": 0.0, "episodes": False}
    frames = {
        "schema": run_detector(con, "schema_errors"),
        "conflicts": run_detector(con, "conflict_storms", **every_window),
        "statuses": run_detector(con, "status_storms", **every_window).filter(
            pl.col("source") == "edge"
        ),
        "latency": run_detector(con, "auth_user_latency", per_caller=False),
        "duration": run_detector(con, "auth_user_latency", per_caller=False, prefer="auth"),
        "refresh": run_detector(con, "refresh_token_races"),
        "polls": run_detector(con, "polling_pressure", path_pattern="chat_messages"),
        "presence": run_detector(con, "realtime_presence"),
        "cron": run_detector(con, "cron_failures"),
    }
    starts = set()
    for frame in frames.values():
        starts.update(frame["window_start"].to_list())
    out = {}
    for start in starts:
        f = {k: v.filter(pl.col("window_start") == start) for k, v in frames.items()}
        sqlstates = {
            **_by(f["schema"], "sqlstate", "postgres_count"),
            "23505": int(f["conflicts"]["count"].sum() or 0),
            "57014": int(f["cron"]["count"].sum() or 0),
        }
        statuses = f["statuses"]
        out[start.isoformat().replace("+00:00", "Z")] = {
            "sqlstate_42703": int(
                f["schema"].filter(pl.col("sqlstate") == "42703")["count"].sum() or 0
            ),
            "postgres_errors_by_sqlstate": {k: v for k, v in sorted(sqlstates.items()) if v},
            "sqlstate_23505_by_table": _by(f["conflicts"], "table_name"),
            "http_409_by_table": _by(
                statuses.filter(pl.col("status_class") == "409").with_columns(
                    table=pl.col("path").str.extract(r"^/rest/v1/([^/?]+)")
                ),
                "table",
            ),
            "http_400_by_path": _by(statuses.filter(pl.col("status_class") == "400"), "path"),
            "auth_user_calls": int(f["latency"]["count"].sum() or 0),
            "auth_user_latency_ms": _quantiles(f["latency"]),
            "auth_user_duration_ms": _quantiles(f["duration"]),
            "refresh_token_already_used": int(f["refresh"]["count"].sum() or 0),
            "chat_polling_requests": int(f["polls"]["count"].sum() or 0),
            "presence_events": int(f["presence"]["presence_events"].sum() or 0),
            "connections_max": int(f["presence"]["connected_max"].max() or 0),
            "cron_runs": int(f["cron"]["runs"].sum() or 0),
            "cron_failures": int(f["cron"]["count"].sum() or 0),
        }
    return out


def test_replay_windows_are_recovered(replay):
    """Every one-minute window of the manifest, figure by figure."""
    name, manifest, con = replay
    skip = {**SELF_HOSTED_GAPS, **SELF_HOSTED_WINDOW_GAPS} if "selfhosted" in name else {}
    windows = recover_windows(con)
    empty = {
        "auth_user_latency_ms": _quantiles(pl.DataFrame()),
        "auth_user_duration_ms": _quantiles(pl.DataFrame()),
    }
    wrong = []
    for window in manifest["windows"]:
        expected = {k: window[k] for k in WINDOWED}
        got = windows.get(window["window_start"], {})
        got = {
            k: got.get(k, empty.get(k, {} if isinstance(expected[k], dict) else 0))
            for k in WINDOWED
        }
        wrong += [f"{window['window_start']} {w}" for w in _compare(got, expected, skip)]
    assert not wrong, "\n".join(wrong[:20])


def test_replay_table_rows(replay):
    name, manifest, con = replay
    coverage = run_detector(con, "ingest_coverage")
    expected = dict(manifest["rows"])
    vercel = expected.pop("vercel_logs_requests") + expected.pop("vercel_logs_console")
    expected["vercel_logs"] = vercel
    if "selfhosted" in name:
        # GoTrue before v2.194 logs the reused-token error on a line of its own.
        expected["auth_logs"] += manifest["totals"]["refresh_token_already_used"]
    got = {table: _rows(coverage, table) for table in expected}
    assert got == expected


def test_replay_outage_polling_rate(replay):
    name, manifest, con = replay
    figure = manifest["totals"].get("chat_polling_requests_per_minute_during_outage")
    polls = run_detector(con, "polling_pressure", path_pattern="chat_messages")
    inside = polls.filter(pl.col("in_realtime_outage"))
    if manifest.get("outage") is None:
        assert inside.height == 0, f"{name} has no Realtime outage, yet windows are marked"
        return
    assert inside.height == manifest["outage"]["whole_minutes"]
    assert round(inside["count"].sum() / inside.height, 3) == figure


def test_replay_participant_rates_are_estimated(replay):
    """Participant-minutes are estimated from each user's first call (arrivals are not
    logged) up to the replay's end, and the admin counts as a participant (nothing in the
    logs sets them apart): with 60 attendees the rate lands within 3 % of the truth."""
    name, manifest, con = replay
    params = manifest["parameters"]
    start = datetime.fromisoformat(params["start"].replace("Z", "+00:00"))
    until = start + timedelta(minutes=params["minutes"])
    hot = run_detector(con, "hot_path_cost", since=start, until=until)
    if "selfhosted" in name:
        # Kong lines carry no JWT subject: participants cannot be told apart, so the
        # per-participant rates are unknown rather than made up.
        assert hot.height > 0
        assert hot["calls_per_participant_per_minute"].drop_nulls().len() == 0
        return
    heartbeats = hot.filter(
        ((pl.col("route") == "/api/presence/ping") & (pl.col("target") == "(all)"))
        | (pl.col("target") == "rpc/presence_heartbeat")
    )
    rate = float(
        heartbeats.select(
            pl.when(pl.col("target") == "(all)")
            .then(pl.col("requests_per_participant_per_minute"))
            .otherwise(pl.col("calls_per_participant_per_minute"))
        )
        .to_series()
        .sum()
    )
    truth = manifest["totals"]["heartbeat_calls_per_participant_per_minute"]
    assert rate == pytest.approx(truth, rel=0.03)


MIXED = {
    # Hosted exports of the gateway, the app, Realtime and pg_cron ...
    "eventlive-incident": (
        "edge_logs.drain.ndjson.gz",
        "vercel.drain.ndjson.gz",
        "realtime_logs.drain.ndjson.gz",
        "cron.job_run_details.csv.gz",
    ),
    # ... with the self-hosted containers' Postgres and GoTrue logs of the same period.
    "eventlive-incident-selfhosted": ("supabase-db.log.gz", "supabase-auth.log.gz"),
}


def test_mixed_hosted_and_selfhosted_sources():
    """One period seen through hosted and self-hosted logs at once: every error, auth
    call and route cost is still counted once."""
    from loganalyze.ingest import ingest

    paths = [SAMPLE_LOGS / replay / f for replay, files in MIXED.items() for f in files]
    assert all(p.is_file() for p in paths), "the bundled replays are part of the repository"
    manifest = json.loads(
        (SAMPLE_LOGS / "eventlive-incident" / "manifest.json").read_text(encoding="utf-8")
    )
    con = loganalyze.connect()
    ingest(paths, con)
    totals = {k: v for k, v in manifest["totals"].items() if k in manifest["windows"][0]}
    wrong = _compare(recover(con, manifest), totals, {})
    con.close()
    assert not wrong, "\n".join(wrong)
