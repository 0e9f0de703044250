"""notebooks/postmortem.ipynb runs top to bottom on the bundled replays, through the
library API only, and is kept in git without outputs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "postmortem.ipynb"
# The directory the notebook runs in; it finds sample_logs/ there or above.
RUN_DIR = Path(os.environ.get("LOGANALYZE_NOTEBOOK_DIR", REPO / "notebooks"))
NEEDED = ("eventlive-incident", "eventlive-fixed", "eventlive.dod.toml")


def sample_root() -> Path | None:
    for directory in (RUN_DIR, *RUN_DIR.parents):
        if (directory / "sample_logs").is_dir():
            return directory / "sample_logs"
    return None


def test_notebook_is_committed_without_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, "the notebook has no code"
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)


def test_notebook_uses_the_library_not_the_command_line() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    source = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    for shelling_out in ("subprocess", "os.system", "!loganalyze", "%%bash", "CliRunner"):
        assert shelling_out not in source
    assert "import loganalyze as la" in source


@pytest.mark.slow
def test_notebook_runs_on_the_bundled_replays() -> None:
    from nbclient import NotebookClient

    samples = sample_root()
    missing = [n for n in NEEDED if samples is None or not (samples / n).exists()]
    assert not missing, f"bundled replays not found under {RUN_DIR}: missing {', '.join(missing)}"
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(RUN_DIR)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error

    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    texts = [
        out.get("text", "")
        if out.output_type == "stream"
        else out.get("data", {}).get("text/plain", "")
        for out in outputs
    ]
    verdict_line = next(t for t in texts if t.startswith("incident: "))
    # the incident breaks the P0 checks; the fixed replay must not fail any
    assert "incident: failed (exit 1)" in verdict_line
    assert "fixed: failed" not in verdict_line
    figures = [
        out
        for out in outputs
        if out.output_type in ("display_data", "execute_result")
        and "application/vnd.plotly.v1+json" in out.get("data", {})
    ]
    assert figures, "the timeline figure was not shown"
    timeline = figures[0]["data"]["application/vnd.plotly.v1+json"]
    if isinstance(timeline, str):
        timeline = json.loads(timeline)
    assert len(timeline["data"]) >= 6  # at least one trace per panel
