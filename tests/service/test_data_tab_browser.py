"""The Production data tab with the Hub sync on (the local stand-in Hub), in Debian's chromium.

The push line once printed the push period as a raw float ("every 15.157894736842104 min") and
"1 pushes"; a data scientist reads that line to know how fresh the Hub copy is.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

import httpx
import pytest

from tests.browser import CHROMIUM, LAUNCH_ARGS
from tests.factories import production_applications
from tests.monitoring.hub_standin import StandInHub
from tests.server import start_test_server

pytestmark = [pytest.mark.browser, pytest.mark.server]

TOKEN = "hf_data_tab_standin"


def test_the_push_line_reads_like_a_sentence(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is required for the browser tests: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with StandInHub(token=TOKEN) as hub:
        env = {
            "HF_ENDPOINT": hub.url,
            "HF_TOKEN": TOKEN,
            "HF_HUB_DISABLE_XET": "1",
            "HF_HOME": str(tmp_path / "hf-home"),
            "HF_DATASET_REPO": "acme/data-tab",
            "HF_PUSH_EVERY_MIN": "0.05",  # stretched by HF_MAX_COMMITS_PER_DAY to 1440/95 min: not a round number
        }
        server = start_test_server(tmp_path / "server", env=env)
        try:
            for payload in production_applications(3):
                assert httpx.post(f"{server.url}/api/v1/score", json=payload, timeout=30).status_code == 200
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(60_000)
                page.goto(server.url + "/")
                page.get_by_role("tab", name="Production data").click()
                page.wait_for_function("document.querySelector('#data-summary')?.innerText.includes('Hub dataset')")
                text = page.locator("#data-summary").inner_text()
                browser.close()
        finally:
            server.stop(signal.SIGTERM)
    line = next(part for part in text.splitlines() if "Hub dataset" in part)
    assert "acme/data-tab" in line
    assert re.search(r"every \d+(\.\d)? min\.", line), line  # 15.2, not 15.157894736842104
    assert not re.search(r"\b1 pushes\b", line), line
