"""Static PNGs of plotly figures, drawn by plotly.js itself in Debian's headless chromium (no kaleido).

In a notebook, `show(fig)` outputs the interactive figure (JupyterLab, VS Code) and, beside it, the same
figure as a PNG, which is what GitHub's notebook viewer displays (it runs no JavaScript).

    from scripts.figure_png import show
    show(result.plot("drift_heatmap"))
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
DEFAULT_WIDTH = 1000


def to_png(fig: Any, *, width: int = DEFAULT_WIDTH) -> bytes:
    """The figure as PNG bytes; plotly.js is inlined in the page, so nothing is fetched."""
    # Playwright's sync API refuses to run on a thread with an asyncio loop (a Jupyter kernel's):
    # a worker thread has none.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_render, fig, width).result()


def _render(fig: Any, width: int) -> bytes:
    from playwright.sync_api import sync_playwright

    height = int(fig.layout.height or 450)
    html = fig.to_html(include_plotlyjs=True, full_html=True, config={"staticPlot": True})
    with tempfile.TemporaryDirectory(prefix="figure-png-") as tmp:
        page_file = Path(tmp) / "figure.html"
        page_file.write_text(html, encoding="utf-8")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
            try:
                page = browser.new_page(viewport={"width": width, "height": height + 40})
                page.goto(page_file.as_uri())
                page.wait_for_selector(".main-svg")
                return page.locator(".plotly-graph-div").first.screenshot()
            finally:
                browser.close()


def show(fig: Any, *, width: int = DEFAULT_WIDTH) -> None:
    """Display the interactive figure, then its static PNG (for viewers without JavaScript)."""
    from IPython.display import Image, display

    fig.show()
    display(Image(data=to_png(fig, width=width), format="png"))
