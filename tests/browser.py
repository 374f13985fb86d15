"""Driving Debian's chromium through Playwright: the binary, its flags, where screenshots go."""

from __future__ import annotations

from tests.factories import ROOT

CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright never downloads its own here
SHOTS = ROOT / "docs" / "img"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
