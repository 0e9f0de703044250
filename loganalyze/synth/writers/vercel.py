"""Vercel log drain (NDJSON): the function invocations of the app's API routes.

Per invocation: a `stdout` console line naming the attendee it serves (`user=<uuid>`), a
`stderr` line when a Supabase call failed, and the Lambda `REPORT` line (`type: "report"`,
`Duration: … ms`). Every line carries the invocation's `requestId`, `statusCode`, `path`
and the `proxy` record whose `timestamp` is the request's arrival.

The REPORT line is the invocation's request row once ingested, and the attribution
contract wants that row at the invocation's start; so it is stamped with the request's
arrival (`proxy.timestamp`) rather than the moment Lambda printed it.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ..model import MESSAGE_23505, MESSAGE_42703
from ..simulate import MS, Chunk, Project
from ..template import Raw, Str, compile_json
from . import TextFiles, joined


def _shape(project: Project) -> dict:
    return {
        "id": Str("line_id", False), "deploymentId": project.vercel_deployment_id,
        "source": "lambda", "host": project.vercel_host, "timestamp": Raw("ts_ms"),
        "projectId": project.vercel_project_id, "level": Str("level", False),
        "message": Str("message"), "type": Str("type", False),
        "entrypoint": Str("entrypoint", False), "requestId": Str("request_id", False),
        "statusCode": Raw("status"), "path": Str("route", False),
        "executionRegion": project.region, "environment": "production",
        "proxy": {
            "timestamp": Raw("start_ms"), "method": Str("method", False),
            "host": "eventlive.example.com", "path": Str("route", False),
            "userAgent": [Str("user_agent")], "referer": project.site + "/live",
            "region": project.region, "statusCode": Raw("status"),
            "clientIp": Str("client_ip", False), "scheme": "https", "vercelCache": "MISS",
        },
    }


def vercel_frame(chunk: Chunk) -> pl.DataFrame:
    """One row per drain line (console, error, report) of every invocation."""
    inv = chunk.invocations.with_columns(
        start_ms=pl.col("t_us") // MS,
        end_ms=(pl.col("t_us") // MS + pl.col("duration_ms").ceil().cast(pl.Int64)),
        entrypoint=pl.lit("api/") + pl.col("route").str.strip_prefix("/api/") + ".js",
    )
    base = ["inv", "route", "method", "status", "request_id", "user_agent", "client_ip",
            "entrypoint", "start_ms", "user_id", "t_us"]
    console = inv.select(
        *base, line=pl.lit(0), ts_ms=pl.col("start_ms") + 2, level=pl.lit("info"),
        type=pl.lit("stdout"),
        message=pl.concat_str([pl.col("route"), pl.lit(" user="), pl.col("user_id"),
                               pl.when(pl.col("retry")).then(pl.lit(" retry=1"))
                               .otherwise(pl.lit(""))]),
    )
    failed = inv.filter((pl.col("n_400") > 0) | (pl.col("n_409") > 0)).select(
        *base, line=pl.lit(1), ts_ms=pl.col("end_ms") - 1, level=pl.lit("error"),
        type=pl.lit("stderr"),
        message=pl.concat_str([
            pl.when(pl.col("n_400") > 0).then(pl.lit(
                f"registration lookup failed: {MESSAGE_42703} (42703), treating as not "
                "registered; ")).otherwise(pl.lit("")),
            pl.when(pl.col("n_409") > 0).then(pl.lit(
                f"registration insert failed: {MESSAGE_23505} (23505); ")).otherwise(pl.lit("")),
            pl.lit("user="), pl.col("user_id")]),
    )
    report = inv.select(
        *base, line=pl.lit(2), ts_ms="start_ms", level=pl.lit("info"), type=pl.lit("report"),
        message=pl.concat_str([
            pl.lit("REPORT RequestId: "), pl.col("request_id"), pl.lit("\tDuration: "),
            pl.col("duration_ms").round(2).cast(pl.String), pl.lit(" ms\tBilled Duration: "),
            pl.col("duration_ms").ceil().cast(pl.Int64).cast(pl.String),
            pl.lit(" ms\tMemory Size: 1024 MB\tMax Memory Used: 96 MB")]),
    )
    lines = pl.concat([console, failed, report], how="vertical_relaxed")
    return lines.with_columns(
        line_id=pl.concat_str([pl.col("ts_ms").cast(pl.String),
                               pl.col("inv").cast(pl.String).str.zfill(13),
                               pl.col("line").cast(pl.String).str.zfill(2)]),
    ).sort("ts_ms", "inv", "line")


class VercelDrainWriter:
    def __init__(self, out_dir: Path, project: Project, *, compress: bool = False) -> None:
        self.files = TextFiles(out_dir, compress=compress)
        self.template = compile_json(_shape(project))

    def write(self, chunk: Chunk) -> None:
        frame = vercel_frame(chunk)
        text = joined(frame.select(self.template.expr()).to_series())
        if text:
            self.files.append("vercel.drain.ndjson", text + "\n")

    def close(self) -> list[Path]:
        return self.files.close()
