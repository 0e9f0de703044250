"""The `loganalyze` command line: each command parses its arguments, calls one library
function, renders the result and maps errors to exit codes (see exit_codes.ExitCode).

Commands live one area per module (ingest/query/schema, detectors/run, check, report and
charts, synth); this package only assembles them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from . import check as _check
from . import data as _data
from . import detect as _detect
from . import engines as _engines
from . import pull as _pull
from . import report as _report
from . import serve as _serve
from . import synth as _synth
from .common import examples, run_app

app = typer.Typer(
    name="loganalyze",
    help=(
        "Turn exported Supabase, Postgres and Vercel logs into proof: ingest them into "
        "DuckDB, run the incident detectors, report, and check Definitions of Done in CI.\n\n"
        "Defaults (db, tz, window, dod, detector params, the team's detector directories) "
        "come from ./loganalyze.toml or \\[tool.loganalyze] in ./pyproject.toml; each "
        "command's --help names the file a default came from."
    ),
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    epilog=examples(
        "loganalyze report sample_logs/eventlive-incident",
        "loganalyze ingest ~/Downloads/supabase-logs-*.json && loganalyze report --since 2h",
        "loganalyze check sample_logs/eventlive.dod.toml sample_logs/eventlive-fixed",
    ),
)


def _print_version(value: bool) -> None:
    if value:
        from .. import __version__

        print(f"loganalyze {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    # runs before every command: the config file's values become its defaults
    from ..errors import LogAnalyzeError
    from .common import fail
    from .defaults import apply_config

    try:
        from ..config import load_config

        apply_config(ctx, load_config())
    except LogAnalyzeError as exc:
        raise fail(exc) from None

for _module in (_data, _pull, _detect, _engines, _check, _report, _synth, _serve):
    _module.register(app)


def main() -> None:
    run_app(app)
