"""Hosted Supabase rows (BigQuery-era Logs Explorer / Management API / drain shape).

Each source is described once as a row shape with `Str`/`Raw` placeholders, in the key
order real exports show (`event_message, id, metadata, timestamp`; every nested record a
one-element array). The format writers compile the same shapes compact (drain, API),
pretty (Studio JSON download) or per cell (Studio CSV download).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from .model import KIND_INDEX
from .simulate import MS, US, Chunk, Project
from .template import Raw, Str, compile_json


@dataclass(frozen=True)
class SourceRows:
    """One hosted log source in one chunk: the columns and the shape of each variant."""

    source: str
    frame: pl.DataFrame
    """Columns the shapes refer to, plus `variant` (a key of `shapes`) and `ts_us`."""
    shapes: dict[str, dict]


def _id(col: str = "id") -> Str:
    return Str(col, escape=False)


def edge_rows(chunk: Chunk, project: Project) -> SourceRows:
    calls = chunk.calls
    issuer = f"https://{project.host}/auth/v1"
    anon = pl.col("user_id").is_null()
    url = pl.concat_str([pl.lit(f"https://{project.host}"), pl.col("path"),
                         pl.col("search").fill_null("")])
    proxy_status = pl.when(pl.col("sqlstate").is_not_null()).then(
        pl.lit("PostgREST; error=") + pl.col("sqlstate")).otherwise(pl.lit(None, dtype=pl.String))
    frame = calls.select(
        "id", "method", "path", "search", "ip", "cf_ray", "user_agent", "client_info",
        "user_id", "session_id", "sb_request_id",
        ts_us="t_us",
        variant=pl.lit("row"),
        timestamp=pl.col("t_us").cast(pl.String),
        event_message=pl.concat_str([pl.col("method"), pl.col("status").cast(pl.String),
                                     pl.col("ip"), pl.col("cf_ray"), url, pl.col("user_agent")],
                                    separator=" | "),
        url=url,
        prefer=pl.when(pl.col("kind").is_in([KIND_INDEX["registration_upsert"]]))
        .then(pl.lit("resolution=ignore-duplicates,return=minimal"))
        .when(pl.col("kind") == KIND_INDEX["registration_insert"])
        .then(pl.lit("return=representation"))
        .when(pl.col("write")).then(pl.lit("return=minimal"))
        .otherwise(pl.lit(None, dtype=pl.String)),
        role=pl.when(anon).then(pl.lit("anon")).otherwise(pl.lit("authenticated")),
        issuer=pl.when(anon).then(pl.lit("supabase")).otherwise(pl.lit(issuer)),
        expires_at=pl.when(anon).then(pl.lit("2089056039"))
        .otherwise(((pl.col("t_us") // US) // 3600 * 3600 + 3600).cast(pl.String)),
        cf_ray_resp="cf_ray_resp",
        proxy_status=proxy_status,
        x_sb_error_code="auth_error_code",
        origin_time=pl.col("latency_ms").cast(pl.String),
        status_code=pl.col("status").cast(pl.String),
        date=pl.from_epoch(pl.col("t_us") + pl.col("latency_ms") * MS, time_unit="us")
        .dt.strftime("%a, %d %b %Y %H:%M:%S GMT"),
    )
    jwt = {"invalid": None, "payload": [{
        "algorithm": "HS256", "expires_at": Raw("expires_at"), "issuer": Str("issuer", False),
        "key_id": None, "role": Str("role", False), "session_id": _id("session_id"),
        "signature_prefix": "Xk3nQa", "subject": _id("user_id")}]}
    apikey = {"invalid": None, "payload": [{
        "algorithm": "HS256", "expires_at": 2089056039, "issuer": "supabase", "role": "anon",
        "signature_prefix": "gNYdab", "subject": None}]}
    shape = {
        "event_message": Str("event_message"),
        "id": _id(),
        "metadata": [{
            "load_balancer_experimental_routing": None,
            "load_balancer_geo_aware_info": [],
            "load_balancer_redirect_identifier": None,
            "logflare_worker": [{"worker_id": "KR7Q2P"}],
            "request": [{
                "cf": [{"asn": 16509, "city": "Seoul", "colo": "ICN", "continent": "AS",
                        "country": "KR", "httpProtocol": "HTTP/2", "region": "Seoul",
                        "timezone": "Asia/Seoul"}],
                "headers": [{
                    "accept": "application/json", "cf_connecting_ip": _id("ip"),
                    "cf_ipcountry": "KR", "cf_ray": _id("cf_ray"), "content_length": None,
                    "host": project.host, "prefer": Str("prefer", False), "range": None,
                    "referer": None, "user_agent": Str("user_agent"),
                    "x_client_info": Str("client_info", False), "x_forwarded_proto": "https",
                    "x_real_ip": _id("ip")}],
                "host": project.host,
                "method": Str("method", False),
                "path": Str("path", False),
                "port": None,
                "protocol": "https:",
                "sb": [{"apikey": [], "auth_user": _id("user_id"),
                        "jwt": [{"apikey": [apikey], "authorization": [jwt]}]}],
                "search": Str("search"),
                "url": Str("url"),
            }],
            "response": [{
                "headers": [{
                    "cf_cache_status": "DYNAMIC", "cf_ray": _id("cf_ray_resp"),
                    "content_location": None, "content_range": None,
                    "content_type": "application/json; charset=utf-8",
                    "date": Str("date", False), "proxy_status": Str("proxy_status", False),
                    "sb_gateway_version": "1", "sb_request_id": _id("sb_request_id"),
                    "transfer_encoding": "chunked", "x_sb_error_code": Str("x_sb_error_code",
                                                                           False)}],
                "origin_time": Raw("origin_time"),
                "status_code": Raw("status_code"),
            }],
        }],
        "timestamp": Raw("timestamp"),
    }
    return SourceRows("edge_logs", frame, {"row": shape})


def gotrue_frame(chunk: Chunk, project: Project, *, hosted: bool) -> pl.DataFrame:
    """The GoTrue `request completed` fields of every auth call, one row each."""
    auth = chunk.auth
    is_user = pl.col("kind") == KIND_INDEX["auth_user"]
    reused = pl.col("auth_error_code").is_not_null()
    return auth.select(
        "id", "user_id", "token_id",
        ts_us=(pl.col("end_us") // US) * US,
        time=pl.from_epoch(pl.col("end_us"), time_unit="us").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        duration=pl.col("duration_ns").cast(pl.String),
        status=pl.col("status").cast(pl.String),
        path=pl.when(is_user).then(pl.lit("/user")).otherwise(pl.lit("/token")),
        method=pl.when(is_user).then(pl.lit("GET")).otherwise(pl.lit("POST")),
        remote_addr="ip",
        request_id="request_id" if hosted else "self_request_id",
        error_code="auth_error_code",
        error=pl.when(reused).then(pl.lit("Possible abuse attempt: ") + pl.col("token_id"))
        .otherwise(pl.lit(None, dtype=pl.String)),
        level=pl.when(reused).then(pl.lit("warning" if hosted else "info"))
        .otherwise(pl.lit("info")),
        variant=pl.when(is_user).then(pl.lit("user")).when(reused).then(pl.lit("reused"))
        .otherwise(pl.lit("token")),
        referer=pl.lit(project.site),
    )


def gotrue_line_shape(variant: str, *, consolidated: bool) -> dict:
    """A GoTrue `request completed` line (logrus JSON: keys in alphabetical order)."""
    fields: dict[str, object] = {
        "component": "api", "duration": Raw("duration"),
        "error": Str("error"), "error_code": Str("error_code", False),
        "grant_type": "refresh_token", "level": Str("level", False),
        "method": Str("method", False), "msg": "request completed", "path": Str("path", False),
        "referer": Str("referer", False), "remote_addr": Str("remote_addr", False),
        "request_id": Str("request_id", False), "status": Raw("status"),
        "time": Str("time", False),
    }
    drop = {"user": ("error", "error_code", "grant_type"), "token": ("error", "error_code"),
            "reused": () if consolidated else ("error",)}[variant]
    return {k: v for k, v in fields.items() if k not in drop}


GOTRUE_ERROR_LINE = {
    # The first line of GoTrue's two-line error form (before v2.194.0).
    "component": "api", "error": Str("error"), "grant_type": "refresh_token",
    "level": "info", "method": Str("method", False),
    "msg": "400: Invalid Refresh Token: Already Used", "path": Str("path", False),
    "referer": Str("referer", False), "remote_addr": Str("remote_addr", False),
    "request_id": Str("request_id", False), "time": Str("time", False),
}


def auth_rows(chunk: Chunk, project: Project) -> SourceRows:
    frame = gotrue_frame(chunk, project, hosted=True)
    lines = []
    for variant in ("user", "token", "reused"):
        template = compile_json(gotrue_line_shape(variant, consolidated=True))
        lines.append(pl.when(pl.col("variant") == variant).then(template.expr()))
    frame = frame.with_columns(
        gotrue_line=pl.coalesce(lines),
        timestamp=pl.col("ts_us").cast(pl.String),
    )
    metadata = {
        "component": "api", "duration": Raw("duration"), "error": Str("error"),
        "error_code": Str("error_code", False), "grant_type": None, "host": project.ref,
        "level": Str("level", False), "method": Str("method", False),
        "msg": "request completed", "path": Str("path", False),
        "referer": Str("referer", False), "remote_addr": Str("remote_addr", False),
        "request_id": Str("request_id", False), "status": Raw("status"),
    }
    shapes = {}
    for variant in ("user", "token", "reused"):
        meta = dict(metadata)
        if variant != "user":
            meta["grant_type"] = "refresh_token"
        shapes[variant] = {"event_message": Str("gotrue_line"), "id": _id(),
                           "metadata": [meta], "timestamp": Raw("timestamp")}
    return SourceRows("auth_logs", frame, shapes)


def pg_timestamp(col: str) -> pl.Expr:
    """csvlog `log_time`: `YYYY-MM-DD HH:MM:SS.mmm UTC`."""
    return pl.from_epoch(pl.col(col), time_unit="us").dt.strftime("%Y-%m-%d %H:%M:%S%.3f UTC")


def postgres_rows(chunk: Chunk, project: Project) -> SourceRows:
    pg = chunk.pg
    frame = pg.select(
        "id", "ts_us", "sqlstate", "user_name", "message", "detail", "statement",
        "command_tag",
        variant=pl.when(pl.col("application_name") == "pg_cron").then(pl.lit("cron"))
        .otherwise(pl.lit("api")),
        timestamp=pl.col("ts_us").cast(pl.String),
        pid=pl.col("pid").cast(pl.String),
        query_pos=pl.col("query_pos").cast(pl.String),
        log_time=pg_timestamp("ts_us"),
        session_id=pl.concat_str([pl.lit(format(chunk.start_us // US // 3600 * 3600, "x")),
                                  pl.col("pid").replace_strict(_hex_names(pg["pid"]))],
                                 separator="."),
        session_start=pl.from_epoch(pl.lit(chunk.start_us // US // 3600 * 3600), time_unit="s")
        .dt.strftime("%Y-%m-%d %H:%M:%S UTC"),
    )

    def shape(app: str | None, backend: str) -> dict:
        return {
            "event_message": Str("message"),
            "id": _id(),
            "metadata": [{
                "file": None, "host": f"db-{project.ref}", "metadata": [],
                "parsed": [{
                    "application_name": app, "backend_type": backend,
                    "command_tag": Str("command_tag", False),
                    "connection_from": "127.0.0.1:5432" if app is None else None,
                    "context": None, "database_name": "postgres", "detail": Str("detail"),
                    "error_severity": "ERROR", "hint": None, "internal_query": None,
                    "internal_query_pos": None, "leader_pid": None, "location": None,
                    "process_id": Raw("pid"), "query": Str("statement"), "query_id": 0,
                    "query_pos": Raw("query_pos"), "session_id": Str("session_id", False),
                    "session_line_num": 1, "session_start_time": Str("session_start", False),
                    "sql_state_code": Str("sqlstate", False),
                    "timestamp": Str("log_time", False), "transaction_id": 0,
                    "user_name": Str("user_name", False), "virtual_transaction_id": "3/0"}],
                "parsed_from": None, "project": None, "source_type": None}],
            "timestamp": Raw("timestamp"),
        }

    return SourceRows("postgres_logs", frame, {"api": shape(None, "client backend"),
                                               "cron": shape("pg_cron", "client backend")})


def _hex_names(pids: pl.Series) -> dict[int, str]:
    """Hex spelling of each distinct backend pid (a handful per chunk)."""
    return {int(pid): format(int(pid), "x") for pid in pids.unique().sort()}


def realtime_rows(chunk: Chunk, project: Project) -> SourceRows:
    rt = chunk.realtime
    if not rt.height:
        frame = pl.DataFrame(schema={"id": pl.String, "ts_us": pl.Int64, "variant": pl.String})
        return SourceRows("realtime_logs", frame, {})
    frame = rt.select(
        "id", "ts_us",
        variant="metric",
        timestamp=pl.col("ts_us").cast(pl.String),
        connected=pl.col("connected").cast(pl.String),
        sum=pl.col("sum").cast(pl.String),
        limit=pl.col("limit").cast(pl.String),
    )

    def shape(metric: str, measurements: dict) -> dict:
        name = ("[:realtime, :connections]" if metric == "connections"
                else f"[:realtime, :rate_counter, :channel, :{metric}]")
        return {"event_message": f"Billing metrics: {name}", "id": _id(),
                "metadata": [{"external_id": project.ref, "level": "info",
                              "measurements": [measurements], "project": project.ref}],
                "timestamp": Raw("timestamp")}

    return SourceRows("realtime_logs", frame, {
        "connections": shape("connections", {"connected": Raw("connected"),
                                             "connected_cluster": Raw("connected"),
                                             "limit": Raw("limit")}),
        "presence_events": shape("presence_events", {"limit": Raw("limit"), "sum": Raw("sum")}),
    })


def hosted_sources(chunk: Chunk, project: Project) -> list[SourceRows]:
    return [edge_rows(chunk, project), postgres_rows(chunk, project),
            auth_rows(chunk, project), realtime_rows(chunk, project)]
