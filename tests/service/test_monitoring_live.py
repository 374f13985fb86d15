"""The monitoring loop end to end on a running server: simulator -> log -> NannyML -> tab, report, alerts.

1. A `bureau_outage` stream: the tab (in Debian's chromium) and the report flag EXT_SOURCE_3.
2. The alerting drill: the same server code with DEBUG_EXTRA_LATENCY_MS shows the latency alert in the
   tab and in the report's JSON; without it, no latency alert.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.browser import CHROMIUM, LAUNCH_ARGS, SHOTS
from tests.factories import ROOT
from tests.server import start_test_server

pytestmark = [pytest.mark.server, pytest.mark.slow]


def simulate(url: str, n: int, scenario: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own CLI
        [
            sys.executable,
            "-m",
            "monitoring.simulate",
            "--url",
            url,
            "--n",
            str(n),
            "--scenario",
            scenario,
            "--concurrency",
            "8",
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def report(log_dir: Path, tmp: Path) -> dict:
    done = subprocess.run(  # noqa: S603 - our own CLI
        [
            sys.executable,
            "-m",
            "monitoring.report",
            "--log-dir",
            str(log_dir),
            "--model-dir",
            str(ROOT / "model"),
            "--out",
            str(tmp / "report.html"),
            "--json",
            str(tmp / "summary.json"),
            "--chunk-size",
            "300",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (tmp / "report.html").stat().st_size > 100_000  # plotly.js inlined: works offline
    return json.loads((tmp / "summary.json").read_text())


def latency_alerts(summary: dict) -> list[dict]:
    return [a for a in summary["alerts"] if a["kind"] == "latency"]


@pytest.fixture(scope="module")
def outage(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("outage")
    server = start_test_server(tmp, env={"ALERT_EVERY_S": "2"})
    simulate(server.url, 900, "bureau_outage")
    yield server, tmp
    server.stop()


def test_report_flags_the_outage(outage):
    server, tmp = outage
    summary = report(server.log_dir, tmp)
    flagged = {a["feature"] for a in summary["alerts"] if a.get("source") == "drift"}
    assert "EXT_SOURCE_3" in flagged
    assert "probability" in flagged  # the score distribution moved with it
    assert not latency_alerts(summary)  # no injected slowness: no latency alert


def test_tab_shows_the_outage(outage):
    server, _ = outage
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(180_000)
        page.goto(server.url + "/")
        page.get_by_role("tab", name="Monitoring").click()
        page.get_by_role("button", name="Refresh analysis").click()
        page.wait_for_function("document.querySelector('#mon-status')?.innerText.includes('Computed')")
        alerts = page.locator("#mon-alerts")
        page.wait_for_function("document.querySelector('#mon-alerts')?.innerText.includes('EXT_SOURCE_3')")
        assert "EXT_SOURCE_3" in alerts.inner_text()
        assert page.locator("#mon-score_distribution .js-plotly-plot").count() == 1
        assert "Traceback" not in page.content()
        page.wait_for_timeout(1000)
        page.screenshot(path=str(SHOTS / "monitoring.png"), full_page=True)
        browser.close()


def test_latency_drill(tmp_path):
    server = start_test_server(tmp_path, env={"DEBUG_EXTRA_LATENCY_MS": "120", "ALERT_EVERY_S": "2"})
    try:
        simulate(server.url, 60, "none")
        deadline = time.monotonic() + 120
        gauges = ""
        while time.monotonic() < deadline:
            gauges = httpx.get(server.url + "/metrics", timeout=10).text
            if "scoring_alerts_latency 1" in gauges:
                break
            time.sleep(2)
        assert "scoring_alerts_latency 1" in gauges
        summary = report(server.log_dir, tmp_path)
        alerts = latency_alerts(summary)
        assert alerts and alerts[0]["severity"] == "critical" and alerts[0]["feature"] == "rest"
    finally:
        server.stop()
