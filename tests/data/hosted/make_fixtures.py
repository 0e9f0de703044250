"""Writes the hosted-export fixtures of this folder from `events.ndjson`, the way each
exporter writes them: python tests/data/hosted/make_fixtures.py

- `events.ndjson` (hand-written, shaped on ../shared/real_samples 006/008/010): full
  BigQuery-era rows, one per line, as a log drain or the Management API rows.
- `studio-download.json`: Logs Explorer "Download JSON" = JSON.stringify(rows, null, 2).
- `studio-download.csv`: "Download CSV" = Papa.unparse(rows) after JSON.stringify of
  every object value (nested metadata, and null) — header from the first row's keys.
- `api-page-1.json`, `api-page-2.json`: Management API envelopes {"result", "error"},
  two pages that overlap by two rows (a user pulling consecutive time ranges).
- `clickhouse-rows.json`: the same events in the ClickHouse-era shape (`source`,
  `severity_text`, flat `log_attributes` of strings).
- `events.ndjson.gz`: the drain file gzipped.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load_events() -> list[dict]:
    return [json.loads(line) for line in (HERE / "events.ndjson").read_text().splitlines() if line]


def papa_unparse(rows: list[dict]) -> str:
    """Studio's convertResultsToCSV: objects (and null) JSON-stringified, CRLF rows."""
    header = list(rows[0].keys())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    for row in rows:
        cells = []
        for key in header:
            value = row.get(key)
            cells.append(json.dumps(value, separators=(",", ":")) if value is None or isinstance(value, dict | list) else value)
        writer.writerow(cells)
    return out.getvalue()


def flatten(record: object, prefix: str = "") -> dict[str, str]:
    """metadata → ClickHouse log_attributes: one-element arrays unwrapped, values as text."""
    out: dict[str, str] = {}
    if isinstance(record, list):
        if len(record) == 1 and isinstance(record[0], dict):
            return flatten(record[0], prefix)
        return {prefix: json.dumps(record)} if prefix else {}
    if isinstance(record, dict):
        for key, value in record.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else key))
        return out
    if record is None:
        return {}
    if isinstance(record, bool):
        return {prefix: "true" if record else "false"}
    return {prefix: str(record)}


SOURCE_OF = {"request": "edge_logs", "parsed": "postgres_logs", "msg": "auth_logs", "measurements": "realtime_logs"}


def clickhouse_row(row: dict) -> dict:
    metadata = row["metadata"][0]
    source = next(s for key, s in SOURCE_OF.items() if key in metadata)
    ts = dt.datetime.fromtimestamp(row["timestamp"] / 1e6, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return {
        "id": row["id"],
        "timestamp": ts,
        "event_message": row["event_message"],
        "severity_text": "",
        "source": source,
        "log_attributes": flatten(metadata),
    }


def main() -> None:
    rows = load_events()
    (HERE / "studio-download.json").write_text(json.dumps(rows, indent=2))
    (HERE / "studio-download.csv").write_text(papa_unparse(rows), newline="")
    (HERE / "api-page-1.json").write_text(json.dumps({"result": rows[:5], "error": None}))
    (HERE / "api-page-2.json").write_text(json.dumps({"result": rows[3:], "error": None}))
    (HERE / "clickhouse-rows.json").write_text(json.dumps([clickhouse_row(r) for r in rows], indent=2))
    with gzip.GzipFile(HERE / "events.ndjson.gz", "wb", mtime=0) as fh:
        fh.write((HERE / "events.ndjson").read_bytes())


if __name__ == "__main__":
    main()
