"""Every shared artefact of a replay seeded with secrets (a service_role JWT and an API
key in a pg_cron command, user e-mail addresses in Postgres errors and a job's error, the
replay's client IPs) is grepped for the raw values: present with --no-redact (so the
seeds do reach the artefacts), absent by default, with pseudonyms in their place."""

from __future__ import annotations

import copy
import csv
import gzip
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loganalyze.cli import app

from .conftest import SAMPLE_LOGS

SERVICE_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZSIsInJlZiI6ImNwaHZvanFocW1l"
    "eGxzcHZ5bGJkIiwicm9sZSI6InNlcnZpY2Vfcm9sZSJ9.q3Vn8rN4l3x_qT0uS2a9YwJ-4kHc1fP7gZbE6mDxR0s"
)
SECRET_KEY = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz"
EMAILS = ("carol.jung@eventlive.example", "dan+webinar@example.org")
JOB_COMMAND = (
    "select net.http_post(url:='https://cphvojqhqmexlspvylbd.supabase.co/functions/v1/reminders',"
    f' headers:=\'{{"Authorization": "Bearer {SERVICE_JWT}", "apikey": "{SECRET_KEY}"}}\')'
)
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4 = re.compile(rf"\b{_OCTET}(?:\.{_OCTET}){{3}}\b")
PRODUCT_VERSION = re.compile(r"\b[A-Za-z][\w-]*/\d+(?:\.\d+){1,3}\b")
PSEUDONYM = re.compile(r"<(jwt|key|email|ip):[0-9a-f]{8}>")


def _seed(target: Path) -> None:
    """The bundled incident plus seeded rows, written in the replay's own formats."""
    shutil.copytree(SAMPLE_LOGS / "eventlive-incident", target)
    cron = target / "cron.job_run_details.csv.gz"
    with gzip.open(cron, "rt", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    failed = [r for r in rows if r["status"] == "failed"][:3]
    seeded = []
    for number, row in enumerate(failed):
        extra = dict(row)
        extra.update(
            jobid="9",
            runid=str(90_000 + number),
            command=JOB_COMMAND,
            return_message=f"ERROR:  new row violates check constraint for {EMAILS[0]}",
        )
        seeded.append(extra)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows + seeded)
    with gzip.open(cron, "wt", encoding="utf-8", newline="") as handle:
        handle.write(buffer.getvalue())

    postgres = target / "postgres_logs.drain.ndjson.gz"
    with gzip.open(postgres, "rt", encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    template = next(json.loads(line) for line in lines if '"42703"' in line)
    for number, email in enumerate(EMAILS * 3):
        event = copy.deepcopy(template)
        # a string literal written in double quotes: Postgres reads it as a column name
        event["event_message"] = f'column "{email}" does not exist'
        event["id"] = f"00000000-0000-4000-8000-{number:012d}"
        event["timestamp"] += 60_000_000 * (number + 1)
        lines.append(json.dumps(event))
    with gzip.open(postgres, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """`{"redacted": {name: text}, "raw": {name: text}}` for every shared artefact."""
    root = tmp_path_factory.mktemp("seeded")
    replay = root / "replay"
    _seed(replay)
    db = root / "seeded.duckdb"
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(replay), "--db", str(db)])
    assert result.exit_code == 0, result.output
    dod = root / "seeded.dod.toml"
    dod.write_text(
        '[[check]]\nid = "cron_jobs_succeed"\ndetector = "cron_failures"\n'
        'threshold = "count == 0"\n',
        encoding="utf-8",
    )
    outputs: dict[str, dict[str, str]] = {}
    for mode, flags in (("redacted", []), ("raw", ["--no-redact"])):
        out = root / mode
        out.mkdir()
        texts: dict[str, str] = {}
        common = ["--db", str(db), "--tz", "UTC", *flags]
        for fmt in ("json", "markdown", "html"):
            path = out / f"report.{fmt}"
            result = runner.invoke(
                app, ["report", *common, "--format", fmt, "--out", str(path), "--dod", str(dod)]
            )
            assert result.exit_code == 0, result.output
            texts[f"report.{fmt}"] = path.read_text(encoding="utf-8")
        charts = out / "charts"
        result = runner.invoke(app, ["charts", *common, "--format", "html", "--out", str(charts)])
        assert result.exit_code == 0, result.output
        for chart in sorted(charts.glob("*.html")):
            texts[f"charts/{chart.name}"] = chart.read_text(encoding="utf-8")
        for fmt in ("markdown", "json"):
            junit = out / f"check-{fmt}.xml"
            result = runner.invoke(
                app,
                [
                    "check",
                    str(dod),
                    "--db",
                    str(db),
                    *flags,
                    "--format",
                    fmt,
                    "--junit",
                    str(junit),
                ],
            )
            assert result.exit_code == 1, result.output  # the seeded job failures fail it
            texts[f"check.{fmt}"] = result.stdout
            texts[f"check-{fmt}.xml"] = junit.read_text(encoding="utf-8")
        outputs[mode] = texts
    return outputs


def _without_plotly_js(text: str) -> str:
    """The page minus the embedded plotly.js library (its code holds dotted numbers)."""
    from plotly.offline import get_plotlyjs

    library = get_plotlyjs()
    return text.replace(library, "").replace(library.replace("</", "<\\/"), "")


def _secrets(text: str) -> list[str]:
    text = _without_plotly_js(text)
    text = PRODUCT_VERSION.sub("", text)  # Chrome/131.0.0.0 in a User-Agent is no address
    return [s for s in (SERVICE_JWT, SECRET_KEY, *EMAILS) if s in text] + IPV4.findall(text)


def test_seeds_reach_the_artefacts_without_redaction(artefacts):
    raw = artefacts["raw"]
    assert SERVICE_JWT in raw["report.json"] and SECRET_KEY in raw["report.json"]
    assert all(email in raw["report.json"] for email in EMAILS)
    assert IPV4.search(raw["report.json"]), "the replay's client IPs are in the JSON report"
    for name in ("report.markdown", "report.html"):
        assert any(secret in raw[name] for secret in (SERVICE_JWT, *EMAILS)), name
    charts = [text for name, text in raw.items() if name.startswith("charts/")]
    assert any(EMAILS[0] in text for text in charts), "a chart labels a seeded e-mail"
    # check outputs quote numbers and the DoD file, not log text: nothing to reach them


def test_no_artefact_carries_a_raw_secret_by_default(artefacts):
    redacted = artefacts["redacted"]
    assert set(redacted) == set(artefacts["raw"])
    assert any(name.startswith("charts/") for name in redacted)
    leaks = {name: _secrets(text)[:3] for name, text in redacted.items() if _secrets(text)}
    assert not leaks


def test_pseudonyms_keep_values_apart_and_together(artefacts):
    report = json.loads(artefacts["redacted"]["report.json"])
    raw = json.loads(artefacts["raw"]["report.json"])
    text = json.dumps(report)
    kinds = {m.group(1) for m in PSEUDONYM.finditer(text)}
    assert {"jwt", "key", "email", "ip"} <= kinds
    # the two seeded e-mail addresses stay two subjects, with the same counts
    schema = next(d for d in report["detectors"] if d["name"] == "schema_errors")
    raw_schema = next(d for d in raw["detectors"] if d["name"] == "schema_errors")
    masked = sorted(r["count"] for r in schema["top_offenders"] if "<email:" in str(r))
    original = sorted(
        r["count"] for r in raw_schema["top_offenders"] if any(e in str(r) for e in EMAILS)
    )
    assert len(masked) == len(EMAILS) and masked == original
