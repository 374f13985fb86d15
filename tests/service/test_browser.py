"""A credit officer's path through the UI, in Debian's chromium driven by Playwright.

Screenshots land in docs/img/, where the README shows them.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, LAUNCH_ARGS, SHOTS

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture(scope="module")
def page(server) -> Iterator:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is required for the browser tests: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(server.url + "/")
        yield page
        context.close()
        browser.close()


def test_fill_the_form_and_read_the_decision(page):
    page.get_by_role("button", name="Example: high risk").click()
    page.get_by_role("button", name="Score", exact=True).click()
    decision = page.locator("#decision")
    decision.wait_for()
    assert decision.inner_text().strip() == "REFUSE"
    assert re.search(r"\d+\.\d%", page.locator("#probability").inner_text())
    page.locator("#result-card").scroll_into_view_if_needed()
    page.wait_for_timeout(500)  # let the factor chart draw
    page.screenshot(path=str(SHOTS / "score.png"), full_page=True)

    page.get_by_role("button", name="Example: low risk").click()
    page.get_by_role("button", name="Score", exact=True).click()
    page.wait_for_function("document.querySelector('#decision')?.innerText.trim() === 'APPROVE'")


def test_invalid_input_shows_an_error_not_a_traceback(page):
    page.get_by_role("button", name="Example: low risk").click()
    page.get_by_text("Advanced: any other field as JSON").click()
    editor = page.locator(".cm-content").first
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.type('{"CNT_CHILDREN": -3}')
    page.get_by_role("button", name="Score", exact=True).click()
    toast = page.get_by_text(re.compile("CNT_CHILDREN"))
    toast.first.wait_for()
    assert "Traceback" not in page.content()


def test_production_data_view(page, server):
    page.get_by_role("tab", name="Production data").click()
    summary = page.locator("#data-summary")
    page.wait_for_function("document.querySelector('#data-summary')?.innerText.includes('rows in')")
    assert re.search(r"\d+ rows in \d+ shards", summary.inner_text())
    page.screenshot(path=str(SHOTS / "production_data.png"), full_page=True)


def test_model_tab(page, client):
    card = client.get("/api/v1/model").json()
    page.get_by_role("tab", name="Model").click()
    page.get_by_text("Decision rule").first.wait_for()
    text = page.locator("body").inner_text()
    assert card["model_version"] in text and f"{card['threshold']:.3f}" in text
    assert f"{card['metrics']['holdout']['roc_auc']:.4f}" in text
    page.screenshot(path=str(SHOTS / "model.png"), full_page=True)


def test_chromium_is_debian_s(page):
    assert shutil.which("chromium") == CHROMIUM
