"""Regenerate every picture and notebook output the docs show, from the committed model: `make docs-assets`.

    python scripts/docs_assets.py [--skip-notebooks] [--rows N]

1. Starts the local stand-in Hub (tests/monitoring/hub_standin.py) and the service on a free port,
   syncing its prediction log to a dataset repo on that stand-in, in demo mode (no API token).
2. Drives `monitoring.simulate` through a scenario: a stream from the training population, then a
   `bureau_outage` stream (EXT_SOURCE_3 goes missing), so the Monitoring tab has something to show.
3. Takes the README's screenshots with Playwright and Debian's chromium (docs/img/*.png).
4. Re-executes notebooks/01_training.ipynb and notebooks/02_monitoring.ipynb in place.

tests/test_docs_current.py then checks that nothing names another model version or threshold.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SHOTS = ROOT / "docs" / "img"
HUB_TOKEN = "hf_docs_assets_standin"
DATASET = "acme/credit-predictions"
NOTEBOOKS = ("01_training.ipynb", "02_monitoring.ipynb")


def traffic(url: str) -> None:
    """Normal applicants first, then a credit-bureau outage: drift the Monitoring tab can show."""
    from monitoring.simulate import simulate

    # 3,000 rows in 500-row chunks: six points on every over-time chart, three before the outage
    for scenario, n, seed in (("none", 1500, 1), ("bureau_outage", 1500, 2)):
        report = simulate(url, n=n, scenario=scenario, seed=seed, concurrency=8, progress=False)
        print(f"docs-assets: {scenario}: {report.sent} sent, {report.ok} ok, {report.errors} errors")
        if report.errors:
            raise SystemExit(f"docs-assets: the simulation had errors: {report.error_samples}")


def screenshots(url: str) -> list[Path]:
    """The README pictures: the scoring form with a decision, production data, model, and the monitoring
    tab twice: its first screen at a laptop's 1366x768 (what "all is well, or why not" must fit in) and whole."""
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, LAUNCH_ARGS

    SHOTS.mkdir(parents=True, exist_ok=True)
    taken: list[Path] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(180_000)
        page.goto(url + "/")

        _score_the_example(page)
        page.locator("#result-card").scroll_into_view_if_needed()
        page.wait_for_timeout(800)  # the factor chart draws after the answer
        taken.append(_shot(page, "score.png"))

        page.get_by_role("tab", name="Production data").click()
        page.wait_for_function("document.querySelector('#data-summary')?.innerText.includes('rows in')")
        taken.append(_shot(page, "production_data.png"))

        page.get_by_role("tab", name="Model").click()
        page.get_by_text("Decision rule").first.wait_for()
        taken.append(_shot(page, "model.png"))

        page.set_viewport_size({"width": 1366, "height": 768})
        page.get_by_role("tab", name="Monitoring").click()
        _choose(page, "mon-window", "all")
        _choose(page, "mon-chunks", "500 rows")
        page.get_by_role("button", name="Refresh analysis").click()
        page.wait_for_function(
            "(() => { const t = document.querySelector('#mon-status')?.innerText || '';"
            " return t.includes('window all, chunks by 500 rows') && !/running|Queued/.test(t); })()"
        )
        page.wait_for_function("document.querySelector('#mon-alerts')?.innerText.includes('EXT_SOURCE_3')")
        page.wait_for_timeout(1500)
        page.evaluate("window.scrollTo(0, 0)")
        taken.append(_shot(page, "monitoring_first_screen.png", full_page=False))
        taken.append(_shot(page, "monitoring.png"))
        browser.close()
    return taken


def _score_the_example(page: Any, *, attempts: int = 3) -> None:
    """Fill the form with the high-risk example and score it; retried when the form was not filled in time."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(1, attempts + 1):
        page.get_by_role("button", name="Example: high risk").click()
        page.wait_for_timeout(2000 * attempt)  # the example's values reach the form before Score reads it
        page.get_by_role("button", name="Score", exact=True).click()
        try:
            page.locator("#decision").wait_for(timeout=60_000)
            return
        except PlaywrightTimeout:
            print(f"docs-assets: no decision after attempt {attempt}, trying again")
    raise SystemExit("docs-assets: the scoring form never showed a decision")


def _choose(page: Any, elem_id: str, option: str) -> None:
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option, exact=True).click()


def _shot(page: Any, name: str, *, full_page: bool = True) -> Path:
    path = SHOTS / name
    page.screenshot(path=str(path), full_page=full_page)
    print(f"docs-assets: wrote {path.relative_to(ROOT)}")
    return path


def notebooks(rows: int | None) -> None:
    from scripts.run_notebook import execute

    if rows:
        os.environ["NOTEBOOK_ROWS"] = str(rows)
    for name in NOTEBOOKS:
        started = time.perf_counter()
        execute(ROOT / "notebooks" / name, timeout=1800)
        print(f"docs-assets: executed notebooks/{name} in {time.perf_counter() - started:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-notebooks", action="store_true", help="screenshots only")
    parser.add_argument("--rows", type=int, help="NOTEBOOK_ROWS for the training notebook (default: its own)")
    args = parser.parse_args(argv)
    from tests.browser import CHROMIUM

    if not Path(CHROMIUM).exists():
        print(f"docs-assets: {CHROMIUM} is missing (make browser installs Debian's chromium)", file=sys.stderr)
        return 2

    from tests.monitoring.hub_standin import StandInHub
    from tests.server import start_server

    with StandInHub(token=HUB_TOKEN) as hub, tempfile.TemporaryDirectory(prefix="docs-assets-") as tmp:
        env = {
            "HF_ENDPOINT": hub.url,
            "HF_TOKEN": HUB_TOKEN,
            "HF_HUB_DISABLE_XET": "1",
            "HF_HOME": f"{tmp}/hf-home",
            "HF_DATASET_REPO": DATASET,
            "HF_PUSH_EVERY_MIN": "0.1",
            "ALERT_EVERY_S": "5",
            "API_TOKEN": "",
        }
        server = start_server(Path(tmp) / "server", env=env)
        try:
            print(f"docs-assets: service at {server.url}, stand-in Hub at {hub.url}")
            traffic(server.url)
            screenshots(server.url)
        finally:
            server.stop()
        print(f"docs-assets: the service pushed {hub.count('commit')} commits to the stand-in Hub")
    if not args.skip_notebooks:
        notebooks(args.rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
