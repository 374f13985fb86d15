"""The Batch tab in Debian's chromium: one bad cell rejects one row, and its reason is in the download.

Issue 15: `abc` in one AMT_INCOME_TOTAL cell used to reject all 500 rows; the scored CSV had no reason
column and the table showed only the first error, without the client reference.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, LAUNCH_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.server]

HEADER = "SK_ID_CURR,NAME_CONTRACT_TYPE,AMT_INCOME_TOTAL,AMT_CREDIT,AMT_ANNUITY,DAYS_BIRTH"


@pytest.fixture(scope="module")
def page(server) -> Iterator:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is required for the browser tests: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(server.url + "/")
        yield page
        context.close()
        browser.close()


def test_one_bad_cell_is_one_rejected_row_with_its_reason_in_the_download(page, tmp_path):
    source = tmp_path / "applications.csv"
    rows = [f"{100_000 + i},Cash loans,150000,500000,25000,-14000" for i in range(500)]
    rows[41] = "100041,Cash loans,abc,500000,25000,-14000"
    source.write_text("\n".join([HEADER, *rows]) + "\n")

    page.get_by_role("tab", name="Batch").click()
    page.locator("#batch-upload input[type=file]").set_input_files(str(source))
    page.get_by_role("button", name="Score the file").click()
    summary = page.locator("#batch-summary")
    page.wait_for_function("document.querySelector('#batch-summary')?.innerText.includes('rejected')")
    assert "499 scored, 1 rejected" in summary.inner_text()
    table = page.locator("#batch-errors").inner_text()
    assert "100041" in table and "AMT_INCOME_TOTAL" in table and "expected a number, got a string" in table

    with page.expect_download() as download:
        page.locator("#batch-scored a").first.click()
    target = tmp_path / "scored.csv"
    download.value.save_as(target)
    with target.open(newline="") as handle:
        scored = list(csv.DictReader(handle))
    assert len(scored) == 500
    rejected = [r for r in scored if r["status"] != "ok"]
    assert [(r["SK_ID_CURR"], r["errors"]) for r in rejected] == [
        ("100041", "AMT_INCOME_TOTAL: expected a number, got a string")
    ]
    assert all(r["probability"] and r["decision"] in ("approve", "refuse") for r in scored if r["status"] == "ok")
