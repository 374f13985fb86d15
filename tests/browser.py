"""Driving Debian's chromium through Playwright: the binary, its flags, where screenshots go."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright never downloads its own here
# The tests' screenshots, for a look after a run; the README's pictures (docs/img) come from
# `make docs-assets` only (scripts/docs_assets.py), so a test run leaves the checkout as it was.
SHOTS = Path(os.environ.get("SCREENSHOT_DIR") or Path(tempfile.gettempdir()) / "credit-scoring-screenshots")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
