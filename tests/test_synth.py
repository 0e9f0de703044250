"""The incident replay generator: deterministic bytes, every format readable, and logs
that agree with the manifest when ingested and counted with plain SQL."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import loganalyze
from loganalyze.cli import app
from loganalyze.errors import UsageError
from loganalyze.ingest import ingest
from loganalyze.synth import FORMATS, synth

SMALL = {"users": 40, "minutes": 4}
INGESTIBLE = ("drain", "vercel", "cron")


def _bytes(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def replays(tmp_path_factory) -> dict[str, tuple[dict, object]]:
    """Each scenario written in the ingestible formats and ingested into its own database."""
    out = {}
    for name, scenario, breaker in (("incident", "incident", False),
                                    ("p0-fixed", "p0-fixed", False),
                                    ("p1-fixed", "p1-fixed", False),
                                    ("outage", "realtime-outage", False),
                                    ("outage-breaker", "realtime-outage", True)):
        target = tmp_path_factory.mktemp(name)
        # The outage sits in the middle 30 % of the replay: 6 minutes hold a whole minute.
        size = dict(SMALL, minutes=6) if breaker or scenario == "realtime-outage" else SMALL
        result = synth(scenario, target, formats=INGESTIBLE, breaker=breaker, **size)
        con = loganalyze.connect()
        ingest([str(p) for p in result.files], con)
        out[name] = (result.manifest, con)
    return out


def test_same_seed_gives_identical_bytes_in_every_format(tmp_path):
    first = synth("incident", tmp_path / "a", users=15, minutes=2, formats=FORMATS,
                  compress=True)
    synth("incident", tmp_path / "b", users=15, minutes=2, formats=FORMATS, compress=True)
    synth("incident", tmp_path / "c", users=15, minutes=2, formats=FORMATS, compress=True,
          seed=7)
    a, b, c = (_bytes(tmp_path / d) for d in "abc")
    assert a == b
    assert set(a) == set(c) and a["edge_logs.drain.ndjson.gz"] != c["edge_logs.drain.ndjson.gz"]
    assert len(first.files) == len(a) - 1  # every file but the manifest is a log file


def test_formats_parse_and_hold_the_manifest_row_counts(tmp_path):
    result = synth("incident", tmp_path, users=15, minutes=2, formats=FORMATS)
    rows = result.manifest["rows"]
    edge_lines = (tmp_path / "edge_logs.drain.ndjson").read_text().splitlines()
    assert len(edge_lines) == rows["edge_logs"]
    first = json.loads(edge_lines[0])
    assert list(first) == ["event_message", "id", "metadata", "timestamp"]
    assert len(str(first["timestamp"])) == 16
    request = first["metadata"][0]["request"][0]
    assert request["sb"][0]["jwt"][0]["authorization"][0]["payload"][0]["role"]

    studio = json.loads((tmp_path / "postgres_logs.studio.json").read_text())
    assert len(studio) == rows["postgres_logs"]
    sqlstates = {r["metadata"][0]["parsed"][0]["sql_state_code"] for r in studio}
    assert {"42703", "23505"} <= sqlstates <= {"42703", "23505", "57014"}

    with open(tmp_path / "auth_logs.studio.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == rows["auth_logs"]
    assert list(table[0]) == ["event_message", "id", "metadata", "timestamp"]
    assert json.loads(table[0]["metadata"])[0]["path"] in ("/user", "/token")
    assert json.loads(table[0]["event_message"])["msg"] == "request completed"

    pages = sorted(tmp_path.glob("edge_logs.api.*.json"))
    bodies = [json.loads(p.read_text()) for p in pages]
    assert all(b["error"] is None and len(b["result"]) <= 1000 for b in bodies)
    assert sum(len(b["result"]) for b in bodies) == rows["edge_logs"]

    gotrue = (tmp_path / "supabase-auth.log").read_text().splitlines()
    assert all(list(json.loads(line)) == sorted(json.loads(line)) for line in gotrue)
    assert (tmp_path / "supabase-db.log").read_text().count(" ERROR:  ") == rows["postgres_logs"]
    realtime = (tmp_path / "supabase-realtime.log").read_text().splitlines()
    assert realtime[0][:4] == "2026" and " [info] Billing metrics: " in realtime[0]


def test_gzip_output_is_plain_text_inside(tmp_path):
    result = synth("p1-fixed", tmp_path, users=10, minutes=1, formats=("vercel",),
                   compress=True)
    (path,) = result.files
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    console = [json.loads(x) for x in lines if '"type":"stdout"' in x]
    assert console and all("user=" in x["message"] for x in console)


@pytest.mark.parametrize("name", ["incident", "p0-fixed", "p1-fixed", "outage",
                                  "outage-breaker"])
def test_every_scenario_ingests_without_rejected_rows(replays, name):
    manifest, con = replays[name]
    assert con.execute("SELECT count(*) FROM rejected_rows").fetchone() == (0,)
    counts = dict(con.execute(
        "SELECT 'edge_logs', count(*) FROM edge_logs UNION ALL "
        "SELECT 'postgres_logs', count(*) FROM postgres_logs UNION ALL "
        "SELECT 'auth_logs', count(*) FROM auth_logs UNION ALL "
        "SELECT 'realtime_logs', count(*) FROM realtime_logs UNION ALL "
        "SELECT 'cron_runs', count(*) FROM cron_runs").fetchall())
    rows = manifest["rows"]
    assert counts == {k: rows[k] for k in counts}
    (requests,) = con.execute("SELECT count(*) FROM vercel_logs WHERE type = 'report'"
                              ).fetchone()
    assert requests == rows["vercel_logs_requests"]


def _scalar(con, sql: str, *params):
    return con.execute(sql, list(params)).fetchone()[0]


def test_incident_errors_agree_with_manifest(replays):
    manifest, con = replays["incident"]
    totals = manifest["totals"]
    assert totals["sqlstate_42703"] > 0
    assert _scalar(con, "SELECT count(*) FROM postgres_logs WHERE sqlstate = '42703' AND "
                   "message = 'column registrations.id does not exist'"
                   ) == totals["sqlstate_42703"]
    assert _scalar(con, "SELECT count(*) FROM postgres_logs WHERE sqlstate = '23505' AND "
                   "message LIKE '%\"registrations_pkey\"'"
                   ) == totals["sqlstate_23505_by_table"]["registrations"]
    by_table = dict(con.execute(
        "SELECT regexp_extract(path, '^/rest/v1/([a-z_]+)', 1), count(*) FROM edge_logs "
        "WHERE status = 409 GROUP BY 1").fetchall())
    assert by_table == totals["http_409_by_table"]
    by_path = dict(con.execute(
        "SELECT path, count(*) FROM edge_logs WHERE status = 400 GROUP BY 1").fetchall())
    assert by_path == totals["http_400_by_path"]
    assert _scalar(con, "SELECT count(*) FROM edge_logs WHERE status = 400 AND "
                   "error_code = '42703'") == totals["sqlstate_42703"]
    assert _scalar(con, "SELECT count(*) FROM auth_logs WHERE error_code = "
                   "'refresh_token_already_used'") == totals["refresh_token_already_used"]
    assert _scalar(con, "SELECT count(*) FROM cron_runs WHERE status = 'failed'"
                   ) == totals["cron_failures"] > 0


def test_incident_per_minute_counts_agree_with_manifest(replays):
    manifest, con = replays["incident"]
    per_minute = dict(con.execute(
        "SELECT strftime(date_trunc('minute', ts), '%Y-%m-%dT%H:%M:%SZ'), count(*) "
        "FROM postgres_logs WHERE sqlstate = '42703' GROUP BY 1").fetchall())
    expected = {w["window_start"]: w["sqlstate_42703"] for w in manifest["windows"]
                if w["sqlstate_42703"]}
    assert per_minute == expected
    auth = dict(con.execute(
        "SELECT strftime(date_trunc('minute', ts), '%Y-%m-%dT%H:%M:%SZ'), count(*) "
        "FROM edge_logs WHERE path = '/auth/v1/user' GROUP BY 1").fetchall())
    assert auth == {w["window_start"]: w["auth_user_calls"] for w in manifest["windows"]
                    if w["auth_user_calls"]}


def test_auth_user_latency_percentiles_agree_with_manifest(replays):
    manifest, con = replays["incident"]
    edge = manifest["totals"]["auth_user_latency_ms"]
    count, mean, p50, p95, p99 = con.execute(
        "SELECT count(*), avg(latency_ms), quantile_cont(latency_ms, 0.5), "
        "quantile_cont(latency_ms, 0.95), quantile_cont(latency_ms, 0.99) "
        "FROM edge_logs WHERE path = '/auth/v1/user'").fetchone()
    assert count == edge["count"] == manifest["totals"]["auth_user_calls"]
    assert (mean, p50, p95, p99) == pytest.approx(
        (edge["mean"], edge["p50"], edge["p95"], edge["p99"]), abs=1e-3)
    gotrue = manifest["totals"]["auth_user_duration_ms"]
    mean, p95 = con.execute("SELECT avg(duration_ms), quantile_cont(duration_ms, 0.95) "
                            "FROM auth_logs WHERE path = '/auth/v1/user'").fetchone()
    assert (mean, p95) == pytest.approx((gotrue["mean"], gotrue["p95"]), abs=1e-3)
    peak = max(w["auth_user_latency_ms"]["mean"] or 0 for w in manifest["windows"])
    assert 1500 < peak < 3000  # the review: about 2 s on average at the incident peak


ATTRIBUTED = """
WITH invocations AS (
    SELECT r.request_id, r.path AS route, r.ts AS start_ts, r.duration_ms,
           regexp_extract(c.message, 'user=([0-9a-f-]+)', 1) AS user_id
    FROM vercel_logs AS r JOIN vercel_logs AS c
      ON c.request_id = r.request_id AND c.type = 'stdout'
    WHERE r.type = 'report'
),
calls AS (
    SELECT e.* EXCLUDE (request_id), i.request_id AS invocation, i.route
    FROM edge_logs AS e JOIN invocations AS i
      ON e.user_id = i.user_id AND e.ts >= i.start_ts
     AND e.ts <= i.start_ts + to_microseconds((i.duration_ms * 1000)::BIGINT)
    WHERE starts_with(e.client_info, 'supabase-js-node/')
)
"""


def test_route_attribution_agrees_with_manifest(replays):
    for name in ("incident", "p0-fixed"):
        manifest, con = replays[name]
        totals = manifest["totals"]
        writes = dict(con.execute(ATTRIBUTED + (
            "SELECT route, count(*) FROM calls WHERE path = '/rest/v1/registrations' "
            "AND method = 'POST' GROUP BY 1")).fetchall())
        assert writes == totals["registrations_writes_by_route"]
        per_request = con.execute(ATTRIBUTED + (
            "SELECT avg(n), min(n), max(n) FROM (SELECT invocation, count(*) FILTER "
            "(WHERE starts_with(path, '/rest/v1/')) AS n FROM calls "
            "WHERE route = '/api/presence/ping' GROUP BY 1)")).fetchone()
        ping = totals["db_calls_per_request"]["/api/presence/ping"]
        assert per_request == pytest.approx(
            (ping["rest_calls_mean"], ping["rest_calls_min"], ping["rest_calls_max"]),
            abs=1e-3)
        track = con.execute(ATTRIBUTED + (
            "SELECT avg(n), max(n) FROM (SELECT invocation, count(*) FILTER "
            "(WHERE starts_with(path, '/rest/v1/')) AS n FROM calls "
            "WHERE route = '/api/access/track' GROUP BY 1)")).fetchone()
        expected = totals["db_calls_per_request"]["/api/access/track"]
        assert track == pytest.approx((expected["rest_calls_mean"], expected["rest_calls_max"]),
                                      abs=1e-3)
    assert replays["incident"][0]["totals"]["registrations_writes_by_route"][
        "/api/presence/ping"] > 0
    assert "/api/presence/ping" not in replays["p0-fixed"][0]["totals"][
        "registrations_writes_by_route"]
    track = replays["p1-fixed"][0]["totals"]["db_calls_per_request"]["/api/access/track"]
    assert track["rest_calls_max"] == 1


def test_calls_per_participant_per_minute_agree_with_manifest(replays):
    for name in ("incident", "p1-fixed"):
        manifest, con = replays[name]
        totals = manifest["totals"]
        attendee_calls = _scalar(con, "SELECT count(*) FROM edge_logs WHERE user_id IS NOT NULL "
                                 "AND user_id <> $1", manifest["project"]["admin_user_id"])
        assert attendee_calls / totals["participant_minutes"] == pytest.approx(
            totals["supabase_calls_per_participant_per_minute"], abs=1e-3)
        heartbeats = _scalar(con, "SELECT (SELECT count(*) FROM vercel_logs WHERE type = "
                             "'report' AND path = '/api/presence/ping') + (SELECT count(*) "
                             "FROM edge_logs WHERE path = '/rest/v1/rpc/presence_heartbeat')")
        assert heartbeats / totals["participant_minutes"] == pytest.approx(
            totals["heartbeat_calls_per_participant_per_minute"], abs=1e-3)


def test_fixes_show_in_the_figures(replays):
    incident = replays["incident"][0]["totals"]
    p0 = replays["p0-fixed"][0]["totals"]
    p1 = replays["p1-fixed"][0]["totals"]
    assert p0["sqlstate_42703"] == 0 and p0["http_409_by_table"] == {}
    assert p1["auth_user_calls"] < incident["auth_user_calls"] / 5
    assert p1["auth_user_latency_ms"]["mean"] < incident["auth_user_latency_ms"]["mean"] / 10
    assert p1["heartbeat_calls_per_participant_per_minute"] == pytest.approx(0.5, abs=0.05)
    assert p1["presence_events"] < incident["presence_events"] / 5
    assert p0["cron_failures"] == p1["cron_failures"] == 0


def test_outage_polling_agrees_with_manifest_and_breaker_caps_it(replays):
    rates = {}
    for name in ("outage", "outage-breaker"):
        manifest, con = replays[name]
        totals = manifest["totals"]
        polls = _scalar(con, "SELECT count(*) FROM edge_logs WHERE method = 'GET' AND "
                        "path = '/rest/v1/chat_messages' AND client_info LIKE 'supabase-ssr/%'")
        assert polls == totals["chat_polling_requests"] > 0
        presence = dict(con.execute(
            "SELECT strftime(date_trunc('minute', ts), '%Y-%m-%dT%H:%M:%SZ'), "
            "sum(sum_value)::BIGINT FROM realtime_logs WHERE metric = 'presence_events' "
            "GROUP BY 1").fetchall())
        assert presence == {w["window_start"]: w["presence_events"]
                            for w in manifest["windows"]}
        rates[name] = totals["chat_polling_requests_per_minute_during_outage"]
    users = SMALL["users"]
    assert rates["outage"] > 25 * users  # every tab every 2 s
    assert rates["outage-breaker"] < rates["outage"] / 10


def test_cli_prints_only_diagnostics_unless_json(tmp_path):
    runner = CliRunner()
    quiet = runner.invoke(app, ["synth", "p1-fixed", "--out", str(tmp_path / "q"),
                                "--users", "10", "--minutes", "1"])
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stdout == ""
    loud = runner.invoke(app, ["synth", "p1-fixed", "--out", str(tmp_path / "j"),
                               "--users", "10", "--minutes", "1", "--json", "-f", "drain"])
    assert loud.exit_code == 0
    assert json.loads(loud.stdout)["parameters"]["formats"] == ["drain"]
    bad = runner.invoke(app, ["synth", "outage", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "unknown scenario" in bad.stderr


def test_bad_arguments_are_usage_errors(tmp_path):
    with pytest.raises(UsageError):
        synth("incident", tmp_path, formats=("parquet",))
    with pytest.raises(UsageError):
        synth("incident", tmp_path, breaker=True)
    with pytest.raises(UsageError):
        synth("incident", tmp_path, tz="Mars/Olympus")


def test_manifest_keys_are_documented(tmp_path):
    manifest = synth("p0-fixed", tmp_path, users=5, minutes=1, formats=("cron",)).manifest
    documented = set(manifest["keys"])
    assert set(manifest["windows"][0]) - {"window_start"} <= documented | {"sqlstate_42703"}
    readme = (Path(__file__).parents[1] / "loganalyze" / "synth" / "README.md").read_text()
    assert all(f"`{key}`" in readme for key in documented)


@pytest.mark.parametrize("folder, scenario, formats, breaker", [
    ("eventlive-fixed", "p1-fixed", ("studio-csv", "vercel", "cron"), False),
    ("realtime-outage-breaker", "realtime-outage", ("drain", "vercel", "cron"), True),
])
def test_bundled_replays_are_what_their_command_makes(tmp_path, folder, scenario, formats,
                                                      breaker):
    """sample_logs/ is regenerated by sample_logs/regenerate.sh; two cheap ones are remade
    here byte for byte."""
    bundled = Path(__file__).parents[1] / "sample_logs" / folder
    readme = (bundled / "README.md").read_text()
    assert f"--out sample_logs/{folder} --users 60 --minutes 10 --seed 20260312" in readme
    synth(scenario, tmp_path, users=60, minutes=10, seed=20260312, formats=formats,
          breaker=breaker, compress=True)
    shipped = {k: v for k, v in _bytes(bundled).items() if k != "README.md"}
    assert _bytes(tmp_path) == shipped


@pytest.mark.parametrize("fmt", ["drain", "studio-json", "studio-csv", "api", "clickhouse",
                                 "selfhosted"])
def test_each_supabase_format_ingests_to_the_same_counts(tmp_path, fmt):
    result = synth("incident", tmp_path, users=20, minutes=2, formats=(fmt, "vercel"))
    con = loganalyze.connect()
    summary = ingest([str(p) for p in result.files], con)  # every format sniffed
    if fmt == "api":
        assert {f.format for f in summary.files} >= {"supabase-api"}
    assert _scalar(con, "SELECT count(*) FROM rejected_rows") == 0
    rows, totals = result.manifest["rows"], result.manifest["totals"]
    for table in ("edge_logs", "postgres_logs", "auth_logs", "realtime_logs"):
        assert _scalar(con, "SELECT count(*) FROM " + table) == rows[table], table
    assert _scalar(con, "SELECT count(*) FROM postgres_logs WHERE sqlstate = '42703'"
                   ) == totals["sqlstate_42703"]
    assert _scalar(con, "SELECT count(*) FROM edge_logs WHERE status = 409"
                   ) == sum(totals["http_409_by_table"].values())
    assert _scalar(con, "SELECT count(*) FROM auth_logs WHERE error_code = "
                   "'refresh_token_already_used'") == totals["refresh_token_already_used"]


def test_the_figures_do_not_depend_on_the_formats_written(tmp_path):
    one = synth("incident", tmp_path / "a", users=15, minutes=2, formats=("cron",)).manifest
    two = synth("incident", tmp_path / "b", users=15, minutes=2,
                formats=("selfhosted", "studio-csv")).manifest
    assert one["totals"] == two["totals"] and one["windows"] == two["windows"]
    assert one["files"] != two["files"]
