"""`cron.job_run_details` exported with psql:
`\\copy (SELECT * FROM cron.job_run_details ORDER BY runid) TO 'job_run_details.csv' CSV HEADER`."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from ..model import MESSAGE_CRON_TIMEOUT
from ..simulate import Chunk, Project
from . import TextFiles

COLUMNS = ("jobid", "runid", "job_pid", "database", "username", "command", "status",
           "return_message", "start_time", "end_time")


def cron_frame(chunk: Chunk) -> pl.DataFrame:
    stamp = "%Y-%m-%d %H:%M:%S%.6f+00"
    return chunk.cron.select(
        "jobid", "runid", "job_pid",
        database=pl.lit("postgres"), username=pl.lit("postgres"), command="command",
        status=pl.when(pl.col("failed")).then(pl.lit("failed")).otherwise(pl.lit("succeeded")),
        return_message=pl.when(pl.col("failed")).then(pl.lit("ERROR:  " + MESSAGE_CRON_TIMEOUT))
        .otherwise(pl.lit("DELETE ") + pl.col("deleted").cast(pl.String)),
        start_time=pl.from_epoch("start_us", time_unit="us").dt.strftime(stamp),
        end_time=pl.from_epoch(pl.col("start_us") + pl.col("run_us"), time_unit="us")
        .dt.strftime(stamp),
    )


class CronCsvWriter:
    name = "cron.job_run_details.csv"

    def __init__(self, out_dir: Path, project: Project, *, compress: bool = False) -> None:
        self.files = TextFiles(out_dir, compress=compress)

    def write(self, chunk: Chunk) -> None:
        first = not self.files.is_open(self.name)
        if not chunk.cron.height:
            if first:
                self.files.append(self.name, ",".join(COLUMNS) + "\n")
            return
        buffer = io.StringIO()
        cron_frame(chunk).write_csv(buffer, include_header=first, quote_style="necessary")
        self.files.append(self.name, buffer.getvalue())

    def close(self) -> list[Path]:
        return self.files.close()
