"""The Monitoring tab as the lead data scientist meets it, in Debian's chromium at 1366x768.

One server with some traffic: the first screen shows the overall status and the KPI cards with their
reference values; a Refresh pressed while an analysis runs is queued and then shown, never dropped.
"""

from __future__ import annotations

import pytest

from tests.browser import CHROMIUM, LAUNCH_ARGS
from tests.server import start_test_server

pytestmark = [pytest.mark.server, pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def busy_server(tmp_path_factory, applications):
    import httpx

    server = start_test_server(tmp_path_factory.mktemp("monitoring-ui"))
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for payload in applications[:260]:
            assert http.post("/api/v1/score", json=payload).status_code == 200
        batch = {"applications": applications[:40]}
        assert http.post("/api/v1/score/batch", json=batch).status_code == 200
    yield server
    server.stop()


@pytest.fixture
def page(busy_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        page = context.new_page()
        page.set_default_timeout(480_000)  # the niced worker is slow on a loaded machine
        page.goto(busy_server.url + "/")
        yield page
        context.close()
        browser.close()


def choose(page, elem_id: str, option: str) -> None:
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option, exact=True).click()


def test_a_refresh_during_a_running_analysis_is_queued_not_lost(page):
    page.get_by_role("tab", name="Monitoring").click()  # the first visit starts the first analysis
    page.wait_for_function("document.querySelector('#mon-overall')?.innerText.includes('Working')")
    choose(page, "mon-window", "all")
    choose(page, "mon-chunks", "500 rows")
    page.get_by_role("button", name="Refresh analysis").click()
    page.wait_for_function("document.querySelector('#mon-status')?.innerText.includes('Queued')")
    assert "500 rows" in page.locator("#mon-status").inner_text()
    try:
        page.wait_for_function(
            "(() => { const t = document.querySelector('#mon-status')?.innerText || '';"
            " return t.includes('Showing window all, chunks by 500 rows') && !t.includes('Queued'); })()"
        )
    except Exception:
        pytest.fail("the queued refresh was not shown: " + page.locator("#mon-status").inner_text())


def test_first_screen_shows_status_and_kpis_with_references(page, busy_server):
    page.get_by_role("tab", name="Monitoring").click()
    page.wait_for_function("document.querySelector('#mon-overall .banner')?.dataset.level")
    banner = page.locator("#mon-overall .banner")
    assert banner.get_attribute("data-level") in {"ok", "warning", "critical"}
    assert any(word in banner.inner_text() for word in ("OK", "Warning", "Critical"))
    cards = page.locator("#mon-kpis .card")
    assert cards.count() >= 6
    text = page.locator("#mon-kpis").inner_text()
    assert "holdout" in text and "SLO" in text and "batch rows" in text
    for locator in (banner, cards.first, cards.last):
        box = locator.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 768, box  # on the first screen, no scrolling
    # the dropdowns of this new session show the settings of the result on screen, not the defaults
    import re

    shown = re.search(r"Showing window (.+?), chunks by (.+?):", page.locator("#mon-status").inner_text())
    assert shown is not None
    assert page.locator("#mon-window input").input_value() == shown.group(1)
    chosen = page.locator("#mon-chunks input").input_value()
    assert chosen == shown.group(2) or (chosen.startswith("auto") and shown.group(2) in {"hour", "day"})
