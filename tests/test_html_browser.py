"""The HTML report of the bundled incident replay as a person sees it: rendered in real
headless Chromium (Debian's `chromium`, installed by .ci/install-browser.sh), driven over
the DevTools protocol by choreographer (the library kaleido draws with). Every chart must have drawn, the console
must stay free of errors, and no request may leave the page; a screenshot is kept in
test-artifacts/ for a person to look at.

The browser runs with a proxy that points nowhere, so even a request that slipped
through would reach nothing; the test fails on the attempt itself.
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest

import loganalyze
from loganalyze.report import build_report, render_html
from loganalyze.report.charts import find_browser

from .conftest import REPO, SAMPLE_LOGS
from .test_report import fill_incident
from .test_report_golden import bundled_report

pytestmark = pytest.mark.browser

ARTIFACTS = REPO / "test-artifacts"
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
NOWHERE_PROXY = "127.0.0.1:9"  # the discard port; nothing listens there

CHART_STATE = """
(() => {
  const charts = [...document.querySelectorAll('div[data-chart]')];
  return JSON.stringify(charts.map(chart => {
    const plot = chart.querySelector('.js-plotly-plot');
    return {
      name: chart.dataset.chart,
      drawn: !!(plot && plot._fullLayout),
      svgs: chart.querySelectorAll('.main-svg').length,
      traces: chart.querySelectorAll('.scatterlayer .trace, .barlayer .trace').length,
      width: plot ? plot.getBoundingClientRect().width : 0,
    };
  }));
})()
"""


LAYOUT = """
(() => {
  const top = sel => { const e = document.querySelector(sel);
                       return e ? e.getBoundingClientRect().top + window.scrollY : null; };
  const left = sel => { const e = document.querySelector(sel);
                        return e ? e.getBoundingClientRect().left : null; };
  return JSON.stringify({
    headline: top('#headline'), dod: top('#dod'), timeline: top('#timeline'),
    toc: top('nav.toc'), tocLeft: left('nav.toc'), mainLeft: left('main'),
    tocPosition: getComputedStyle(document.querySelector('nav.toc')).position,
    pageWidth: document.documentElement.scrollWidth, viewport: window.innerWidth,
    dodCards: getComputedStyle(document.querySelector('table.dod thead')).display === 'none',
  });
})()
"""


async def _inspect(
    page: Path,
    screenshot: Path,
    browser_path: str,
    *,
    timeout: float = 60,
    width: int = 1400,
    layout: dict | None = None,
):
    import choreographer

    problems: list[str] = []
    requests: list[str] = []

    async def on_console(message) -> None:
        params = message.get("params", {})
        if params.get("type") in ("error", "assert"):
            texts = [str(a.get("value", a.get("description", ""))) for a in params.get("args", [])]
            problems.append("console." + params["type"] + ": " + " ".join(texts))

    async def on_exception(message) -> None:
        details = message.get("params", {}).get("exceptionDetails", {})
        problems.append("uncaught: " + json.dumps(details)[:500])

    async def on_log(message) -> None:
        entry = message.get("params", {}).get("entry", {})
        if entry.get("level") == "error":
            problems.append(
                f"log {entry.get('source')}: {entry.get('text')} {entry.get('url', '')}"
            )

    async def on_request(message) -> None:
        requests.append(message.get("params", {}).get("request", {}).get("url", ""))

    async with choreographer.Browser(
        path=browser_path, headless=True, proxy_server=NOWHERE_PROXY
    ) as browser:
        tab = await browser.create_tab("", window=True)
        tab.subscribe("Runtime.consoleAPICalled", on_console)
        tab.subscribe("Runtime.exceptionThrown", on_exception)
        tab.subscribe("Log.entryAdded", on_log)
        tab.subscribe("Network.requestWillBeSent", on_request)
        for domain in ("Page", "Runtime", "Log", "Network"):
            await tab.send_command(f"{domain}.enable")
        await tab.send_command(
            "Emulation.setDeviceMetricsOverride",
            params={"width": width, "height": 1000, "deviceScaleFactor": 1, "mobile": False},
        )
        loaded = tab.subscribe_once("Page.loadEventFired")
        await tab.send_command("Page.navigate", params={"url": page.as_uri()})
        await asyncio.wait_for(loaded, timeout)
        state: list[dict] = []
        for _ in range(int(timeout * 4)):
            reply = await tab.send_command(
                "Runtime.evaluate", params={"expression": CHART_STATE, "returnByValue": True}
            )
            state = json.loads(reply["result"]["result"]["value"])
            if state and all(chart["drawn"] for chart in state):
                break
            await asyncio.sleep(0.25)
        if layout is not None:
            reply = await tab.send_command(
                "Runtime.evaluate", params={"expression": LAYOUT, "returnByValue": True}
            )
            layout.update(json.loads(reply["result"]["result"]["value"]))
        shot = await tab.send_command(
            "Page.captureScreenshot",
            params={"format": "png", "captureBeyondViewport": True},
        )
        screenshot.write_bytes(base64.b64decode(shot["result"]["data"]))
    return state, problems, requests


@pytest.fixture(scope="module")
def browser_path() -> str:
    path = find_browser()
    if path is None:
        pytest.skip("no chromium on this machine (bash .ci/install-browser.sh installs it)")
    return path


def test_html_report_draws_every_chart_offline_without_errors(browser_path, tmp_path) -> None:
    if (SAMPLE_LOGS / "eventlive-incident").is_dir():
        report = bundled_report("eventlive-incident")
        mark = "2026-03-12T19:05 fix deployed"
    else:  # a clone without the bundled replays: the incident written in test_report
        con = loganalyze.connect()
        fill_incident(con)
        report = build_report(con, window="1m", tz="Asia/Seoul")
        mark = "2026-11-20T10:05 fix deployed"
    page = tmp_path / "report.html"
    page.write_text(render_html(report, marks=[mark]), "utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "report-html.png"

    state, problems, requests = asyncio.run(_inspect(page, screenshot, browser_path))

    expected = ["timeline"] + [r.name for r in report.found]
    assert [chart["name"] for chart in state] == expected
    for chart in state:
        assert chart["drawn"], f"chart {chart['name']} was not drawn"
        assert chart["svgs"] >= 1, f"chart {chart['name']} has no SVG"
        assert chart["traces"] >= 1, f"chart {chart['name']} has no drawn trace"
        assert chart["width"] > 300
    assert problems == []
    leaving = [url for url in requests if not url.startswith(LOCAL_SCHEMES)]
    assert leaving == [], f"requests leaving the page: {leaving}"
    assert requests and requests[0] == page.as_uri()
    assert screenshot.stat().st_size > 50_000  # a page of charts, not a blank frame


SCREEN = 1000
"""The viewport height of the screenshots: one screen."""


@pytest.mark.parametrize("width", [1400, 900])
def test_the_story_comes_first_at_desktop_and_narrow_widths(browser_path, tmp_path, width):
    """What a postmortem reader needs first is in the first screens: the headline on the
    first, the DoD verdicts and the timeline right after; the contents stay in reach
    (beside the page when wide, above it when narrow) and nothing widens the page."""
    incident = SAMPLE_LOGS / "eventlive-incident"
    assert incident.is_dir(), f"{incident} is part of the repository"
    con = loganalyze.connect()
    from loganalyze.ingest import ingest

    ingest([incident], con)
    verdicts = loganalyze.check(con, SAMPLE_LOGS / "eventlive.dod.toml")
    report = build_report(con, tz="Asia/Seoul", dod=verdicts)
    page = tmp_path / "report.html"
    page.write_text(render_html(report), "utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / f"report-html-{width}.png"
    layout: dict = {}
    state, problems, _requests = asyncio.run(
        _inspect(page, screenshot, browser_path, width=width, layout=layout)
    )
    assert problems == []
    assert all(chart["drawn"] for chart in state)
    assert layout["pageWidth"] <= layout["viewport"] + 1, layout
    assert layout["headline"] < SCREEN, layout
    assert layout["headline"] < layout["dod"] < layout["timeline"], layout
    if width >= 1100:
        # the contents sit beside the story and follow the reader down the page
        assert layout["tocPosition"] == "sticky" and layout["tocLeft"] < layout["mainLeft"]
        assert layout["dod"] < 2 * SCREEN and layout["timeline"] < 4 * SCREEN, layout
        assert not layout["dodCards"]
    else:
        # above the story, and the verdict table reflows into cards
        assert layout["toc"] < layout["headline"] and layout["dodCards"], layout
        assert layout["dod"] < 3 * SCREEN, layout
    assert screenshot.stat().st_size > 50_000
