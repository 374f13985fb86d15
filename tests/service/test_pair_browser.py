"""Champion vs challenger, live: a real server with a challenger in shadow, its Monitoring tab in chromium.

The challenger is the committed booster at a stricter threshold (a real model folder, loaded through
CHALLENGER_URI): the tab's agreement and swap count must equal what the log itself says, computed here
from `read_log` with numpy, and the challenger's CBPE must be there (the worker scored the reference).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from monitoring.log.reader import read_log
from tests.browser import CHROMIUM, LAUNCH_ARGS
from tests.factories import challenger_model_dir
from tests.server import start_test_server

pytestmark = [pytest.mark.server, pytest.mark.browser, pytest.mark.slow]
ROWS = 240


def _logged_pairs(server, rows: int, *, wait: float = 60):
    """The log's predictions once every one carries the challenger's score (shadow writes trail the answers)."""
    deadline = time.monotonic() + wait
    while True:
        frame = read_log([server.log_dir]).predictions
        if frame["challenger_probability"].notna().sum() >= rows or time.monotonic() > deadline:
            return frame
        time.sleep(0.5)


def test_the_tab_shows_the_pair_equal_to_the_log(tmp_path, applications, model) -> None:
    import httpx
    from playwright.sync_api import sync_playwright

    challenger = challenger_model_dir(tmp_path, threshold=round(model.threshold * 0.8, 4), version="stricter")
    server = start_test_server(tmp_path / "server", env={"CHALLENGER_URI": str(challenger)})
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for payload in applications[:ROWS]:
                assert http.post("/api/v1/score", json=payload).status_code == 200
        frame = _logged_pairs(server, ROWS)
        both = frame[frame["challenger_probability"].notna()]
        assert len(both) == ROWS and set(both["challenger_version"]) == {"stricter"}
        swaps = int(np.sum((both["decision"] == "approve") & (both["challenger_decision"] == "refuse")))
        agreement = float(np.mean(both["decision"].to_numpy() == both["challenger_decision"].to_numpy()))
        assert swaps > 0 and not np.any((both["decision"] == "refuse") & (both["challenger_decision"] == "approve"))
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.set_default_timeout(480_000)  # the niced worker fits NannyML first on a loaded machine
            page.goto(server.url + "/")
            page.get_by_role("tab", name="Monitoring").click()  # the first visit starts the first analysis
            page.wait_for_function("document.querySelector('#mon-pair-kpis')?.innerText.includes('agreement')")
            cards = page.locator("#mon-pair-kpis").inner_text()
            status = page.locator("#mon-pair-status").inner_text()
            assert f"{agreement:.1%}" in cards and f"{ROWS} rows scored by both" in status
            assert "stricter" in status and "no CBPE" not in status
            assert page.locator("#mon-pair-swaps .js-plotly-plot").count() == 1
            assert f"{swaps:,}" in (page.locator("#mon-pair-swaps").text_content() or "")
            browser.close()
    finally:
        server.stop()
