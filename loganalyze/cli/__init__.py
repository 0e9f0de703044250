"""The `loganalyze` command line: each command parses its arguments, calls one library
function, renders the result and maps errors to exit codes (see exit_codes.ExitCode).

Commands live one area per module (ingest/query/schema, detectors/run, check, report and
charts, synth); this package only assembles them.
"""

from __future__ import annotations

import typer

from . import check as _check
from . import data as _data
from . import detect as _detect
from . import pull as _pull
from . import report as _report
from . import serve as _serve
from . import synth as _synth
from .common import run_app

app = typer.Typer(
    name="loganalyze",
    help=(
        "Turn exported Supabase, Postgres and Vercel logs into proof: ingest them into "
        "DuckDB, run the incident detectors, report, and check Definitions of Done in CI."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

for _module in (_data, _pull, _detect, _check, _report, _synth, _serve):
    _module.register(app)


def main() -> None:
    run_app(app)
