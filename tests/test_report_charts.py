"""`loganalyze charts`: each chart its own file with a stable name; PNG/SVG through a
local headless Chromium, and a clear failure with the install command when none is
there."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import loganalyze
from loganalyze.cli import app
from loganalyze.report import build_report, write_charts
from loganalyze.report.charts import INSTALL_BROWSER, BrowserMissingError, find_browser

from .test_report import fill_incident


@pytest.fixture(scope="module")
def report():
    con = loganalyze.connect()
    fill_incident(con)
    yield build_report(con, window="1m", tz="UTC")
    con.close()


def expected_names(report) -> list[str]:
    return ["timeline"] + [r.name for r in report.found]


def test_html_charts_have_stable_names_and_share_one_plotly(report, tmp_path) -> None:
    written = write_charts(report, tmp_path, fmt="html")
    assert [p.name for p in written] == [f"{n}.html" for n in expected_names(report)]
    timeline = (tmp_path / "timeline.html").read_text(encoding="utf-8")
    assert 'id="chart-timeline"' in timeline
    assert "cdn.plot.ly" not in timeline.split("<body>", 1)[1][:2000]
    assert '<script src="http' not in timeline
    # plotly.js once for the set, loaded from beside each page (no network)
    library = tmp_path / "plotly.min.js"
    assert library.stat().st_size > 1_000_000
    for path in written:
        page = path.read_text(encoding="utf-8")
        assert '<script charset="utf-8" src="plotly.min.js"></script>' in page
        assert path.stat().st_size < library.stat().st_size / 10
    total = sum(p.stat().st_size for p in tmp_path.iterdir())
    assert total < 2 * library.stat().st_size


def test_png_without_a_browser_fails_with_the_install_command(
    report, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-chromium"))
    with pytest.raises(BrowserMissingError) as caught:
        write_charts(report, tmp_path / "out", fmt="png")
    assert INSTALL_BROWSER in caught.value.hint
    assert not (tmp_path / "out").exists()


def test_cli_without_a_browser_exits_2_before_doing_any_work(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-chromium"))
    result = CliRunner().invoke(
        app, ["charts", "--db", str(tmp_path / "absent.duckdb"), "--out", str(tmp_path / "c")]
    )
    assert result.exit_code == 2
    assert "headless Chromium" in result.stderr and INSTALL_BROWSER in result.stderr
    assert result.stdout == ""


@pytest.mark.browser
def test_png_charts_are_drawn_by_the_local_chromium(tmp_path) -> None:
    if find_browser() is None:
        pytest.skip("no chromium on this machine (bash .ci/install-browser.sh installs it)")
    # two charts are enough to prove the browser path; each one more costs a render
    con = loganalyze.connect()
    fill_incident(con)
    small = build_report(con, tz="UTC", detectors=["schema_errors"])
    written = write_charts(small, tmp_path, fmt="png", marks=["2026-11-20T01:05:00Z fix"])
    assert [p.name for p in written] == ["timeline.png", "schema_errors.png"]
    for path in written:
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n"), path
        assert len(data) > 20_000, path  # axes, lines and labels, not an empty canvas


def test_the_part_of_the_last_window_past_the_data_is_shaded(report) -> None:
    from datetime import UTC, datetime

    from loganalyze.report.charts import timeline_figure, uncovered_parts

    # the data ends at 01:09:55, inside the window 01:09–01:10
    ((start, end),) = uncovered_parts(report)
    assert start == report.end and end == datetime(2026, 11, 20, 1, 10, tzinfo=UTC)
    figure = timeline_figure(report)
    assert list(figure.layout.xaxis.range) == [
        datetime(2026, 11, 20, 1, 0),
        datetime(2026, 11, 20, 1, 10),
    ]
    assert [s.type for s in figure.layout.shapes] == ["rect"]
