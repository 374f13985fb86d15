"""A credit officer's path through the UI, in Debian's chromium driven by Playwright.

Screenshots land in tests.browser.SHOTS (a temp folder); the README's come from `make docs-assets`.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, LAUNCH_ARGS, SHOTS
from tests.factories import production_applications

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture(scope="module")
def browser(server) -> Iterator:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is required for the browser tests: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def page(browser, server) -> Iterator:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(server.url + "/")
    yield page
    context.close()


def test_fill_the_form_and_read_the_decision(page):
    page.get_by_role("button", name="Example: high risk").click()
    page.get_by_role("button", name="Score", exact=True).click()
    decision = page.locator("#decision")
    decision.wait_for()
    assert decision.inner_text().strip() == "REFUSE"
    assert re.fullmatch(r"\d+\.\d %", page.locator("#probability").inner_text())
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
    error = page.locator("#form-error")
    error.wait_for()
    assert "CNT_CHILDREN" in error.inner_text()
    assert "Traceback" not in page.content()


REQUIRED_ONLY = {"AMT_INCOME_TOTAL": "150000", "AMT_CREDIT": "500000", "AMT_ANNUITY": "25000", "DAYS_BIRTH": "40"}
LABELS = {"AMT_INCOME_TOTAL": "Annual income", "AMT_CREDIT": "Credit amount", "AMT_ANNUITY": "Annuity"}


def fresh_form(page, url: str) -> None:
    page.goto(url + "/")
    page.get_by_role("button", name="Score", exact=True).wait_for()


def fill(page, label: str, text: str) -> None:
    page.get_by_label(label, exact=False).first.fill(text)


def choose(page, label: str, option: str) -> None:
    page.get_by_label(label, exact=False).first.click()
    page.get_by_role("option", name=option, exact=True).click()


def test_required_fields_only_score_like_rest_without_warnings(page, server, client):
    fresh_form(page, server.url)
    choose(page, "Contract type", "Cash loans")
    for name, text in REQUIRED_ONLY.items():
        fill(page, LABELS.get(name, "Age"), text)
    page.get_by_role("button", name="Score", exact=True).click()
    page.locator("#decision").wait_for()
    rest = client.post(
        "/api/v1/score",
        json={
            "NAME_CONTRACT_TYPE": "Cash loans",
            "AMT_INCOME_TOTAL": 150000,
            "AMT_CREDIT": 500000,
            "AMT_ANNUITY": 25000,
            "DAYS_BIRTH": -round(40 * 365.25),
        },
    ).json()
    card = page.locator("#result-card").inner_text()
    assert page.locator("#probability").inner_text() == f"{rest['probability'] * 100:.1f} %"
    assert rest["warnings"] == [] and "outside the training range" not in card
    assert "0 %" in card and "100 %" in card and f"threshold {rest['threshold'] * 100:.1f} %" in card


def test_form_errors_in_form_words_and_the_old_card_cleared(page, server):
    fresh_form(page, server.url)
    page.get_by_role("button", name="Example: low risk").click()
    page.get_by_role("button", name="Score", exact=True).click()
    page.locator("#decision").wait_for()
    fill(page, "Age", "150")
    fill(page, "Annual income", "abc12k")
    fill(page, "Credit amount", "-50000")
    page.get_by_role("button", name="Score", exact=True).click()
    error = page.locator("#form-error")
    error.wait_for()
    text = error.inner_text()
    assert "Annual income: 'abc12k' is not a number" in text
    assert "Credit amount cannot be negative" in text
    assert page.locator("#decision").count() == 0  # the previous decision is gone
    fill(page, "Annual income", "150000")
    fill(page, "Credit amount", "500000")
    page.get_by_role("button", name="Score", exact=True).click()
    page.wait_for_function("document.querySelector('#form-error')?.innerText.includes('Age must be between 18')")
    assert "-54788" not in page.locator("#form-error").inner_text()


def test_advanced_json_alone_on_a_fresh_form(page, server):
    import json

    from service.openapi import EXAMPLE_LOW_RISK

    fresh_form(page, server.url)
    page.get_by_text("Advanced: any other field as JSON").click()
    page.locator(".cm-content").first.click()
    page.keyboard.insert_text(json.dumps(EXAMPLE_LOW_RISK))
    page.get_by_role("button", name="Score", exact=True).click()
    page.wait_for_function("document.querySelector('#decision')?.innerText.trim() === 'APPROVE'")
    reasons = page.locator("#reasons").inner_text()
    assert "None" not in reasons and "_RATIO" not in reasons and "EXT_SOURCE" not in reasons.split("—")[0]


def test_production_data_view(page, server, client):
    # one logged row of its own, so the shard table is not empty when this test runs alone
    assert client.post("/api/v1/score", json=production_applications(1)[0]).status_code == 200
    page.get_by_role("tab", name="Production data").click()
    summary = page.locator("#data-summary")
    page.wait_for_function("document.querySelector('#data-summary')?.innerText.includes('rows in')")
    assert re.search(r"\d+ rows in \d+ shards", summary.inner_text())
    text = page.locator("body").inner_text()
    assert str(server.folder) not in text and "live/" in text  # shard paths relative to the log folder
    page.screenshot(path=str(SHOTS / "production_data.png"), full_page=True)


def test_model_tab(page, client):
    card = client.get("/api/v1/model").json()
    page.get_by_role("tab", name="Model").click()
    page.get_by_text("Decision rule").first.wait_for()
    text = page.locator("body").inner_text()
    assert card["model_version"] in text and f"{card['threshold'] * 100:.1f} %" in text
    assert f"{card['metrics']['holdout']['roc_auc']:.4f}" in text
    page.screenshot(path=str(SHOTS / "model.png"), full_page=True)


def test_chromium_is_debian_s(page):
    assert shutil.which("chromium") == CHROMIUM


def test_api_docs_render_without_internet(browser, server):
    """/docs lists the operations with every request outside the service refused (no CDN reachable)."""
    outside: list[str] = []

    def only_local(route) -> None:
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context = browser.new_context(viewport={"width": 1366, "height": 768})
    context.route("**/*", only_local)
    page = context.new_page()
    page.goto(server.url + "/docs")
    page.locator(".opblock").first.wait_for(timeout=30_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/score" in [p.strip().replace("\u200b", "") for p in paths]
    assert outside == []  # nothing was even asked of the internet
    context.close()
