"""Issue 14 item 10 in Debian's chromium: the scoring login sees the scoring tabs only, the analyst login all."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, LAUNCH_ARGS
from tests.server import start_test_server

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

SCORING = "browser-scoring-5d2e"
ANALYST = "browser-analyst-91ab"
ANALYST_TABS = ("Monitoring", "Outcomes", "Production data")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    handle = start_test_server(
        tmp_path_factory.mktemp("roles-ui"), env={"API_TOKEN": SCORING, "ANALYST_TOKEN": ANALYST}
    )
    yield handle
    handle.stop(signal.SIGKILL)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is required for the browser tests: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        yield chromium
        chromium.close()


def _tabs_after_login(browser, server, user: str, password: str, *, wait_for: str | None = None) -> list[str]:
    """The visible tab names once logged in (after the role's load event: `wait_for` a tab it reveals)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(server.url)
    page.locator("input[type=text]").first.fill(user)
    page.locator("input[type=password]").fill(password)
    page.get_by_role("button", name="Login").click()
    page.get_by_role("tab", name="Model").wait_for()
    if wait_for:
        page.get_by_role("tab", name=wait_for).wait_for()
    else:
        page.wait_for_timeout(3000)  # the reveal event has long answered (it does on the analyst's page)
    names = [t.inner_text().strip() for t in page.get_by_role("tab").all() if t.is_visible()]
    context.close()
    return names


def test_a_scoring_login_sees_no_analyst_tab(browser, server):
    tabs = _tabs_after_login(browser, server, "desk", SCORING)
    assert "Score an application" in tabs and "Model" in tabs
    assert not set(ANALYST_TABS) & set(tabs), tabs


def test_an_analyst_login_sees_the_analyst_tabs(browser, server):
    tabs = _tabs_after_login(browser, server, "analyst", ANALYST, wait_for="Monitoring")
    assert set(ANALYST_TABS) <= set(tabs), tabs


def test_the_login_page_names_the_product_and_logout_returns_to_it(browser, server):
    """Issue 15: the login page says which product it guards; "Log out" ends the session."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(server.url)
    page.get_by_role("button", name="Login").wait_for()
    assert "Crédit Express" in page.locator("body").inner_text()
    page.locator("input[type=text]").first.fill("desk")
    page.locator("input[type=password]").fill(SCORING)
    page.get_by_role("button", name="Login").click()
    page.get_by_role("tab", name="Score an application").wait_for()
    page.locator("#logout").click()
    page.get_by_role("button", name="Login").wait_for()
    # the session cookie is gone: the app itself is not reachable without logging in again
    page.goto(server.url)
    page.get_by_role("button", name="Login").wait_for()
    assert not page.get_by_role("tab", name="Score an application").is_visible()
    context.close()
