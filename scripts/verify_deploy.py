"""Post-deploy check: wait until the service reports the expected commit, then smoke-test it.

    python scripts/verify_deploy.py --base-url https://owner-space.hf.space --commit "$GITHUB_SHA" \\
        [--timeout 900] [--interval 10] [--token API_TOKEN] [--no-smoke]

A Space keeps serving the previous build while it builds the new one, so "it answers" proves nothing:
this polls `GET /readyz` until it answers 200 with `ready: true` and `build.commit` equal to `--commit`,
for at most `--timeout` seconds, then runs `scripts/smoke.py` (REST + Gradio `/predict`) against it.
Exit status: 0 when the new build serves and passes the smoke test, 1 when it does not (the message
says what was seen last: an older commit, an error status, no answer), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a file: make `scripts.smoke` importable
    sys.path.insert(0, str(ROOT))

from scripts import smoke  # noqa: E402


class NotDeployed(Exception):
    """The expected build did not show up in time; the message says what was seen instead."""


@dataclass(frozen=True, slots=True)
class Observation:
    """One look at /readyz: whether it is the expected build, and a line saying what was seen."""

    done: bool
    seen: str


def observe(client: httpx.Client, base_url: str, *, commit: str) -> Observation:
    """GET /readyz once and compare the build it reports with `commit`."""
    try:
        response = client.get(f"{base_url}/readyz")
    except httpx.HTTPError as exc:
        return Observation(False, f"no answer from {base_url}/readyz ({type(exc).__name__}: {exc})")
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return Observation(False, f"HTTP {response.status_code}, not a JSON object: {response.text[:120]!r}")
    build = body.get("build") if isinstance(body.get("build"), dict) else {}
    served = build.get("commit")
    model = build.get("model_version", body.get("model_version"))
    seen = f"HTTP {response.status_code}, commit {served or '(none)'}, model {model or '(none)'}"
    if served != commit:
        return Observation(False, seen)
    if response.status_code != 200 or body.get("ready") is not True:
        return Observation(False, f"{seen}, not ready")
    return Observation(True, seen)


def wait_for_commit(base_url: str, *, commit: str, timeout: float, interval: float) -> str:
    """Poll until /readyz reports `commit` and ready; return what it reported, or raise NotDeployed."""
    deadline = time.monotonic() + timeout
    last = ""
    with httpx.Client(timeout=min(10.0, max(interval, 1.0)), follow_redirects=True) as client:
        while True:
            observation = observe(client, base_url, commit=commit)
            if observation.seen != last:  # print changes only: a long build would flood the log
                print(f"verify: {observation.seen}", flush=True)
                last = observation.seen
            if observation.done:
                return observation.seen
            if time.monotonic() + interval > deadline:
                raise NotDeployed(
                    f"{base_url} did not serve commit {commit} within {timeout:.0f} s; last seen: {last}. "
                    "An older commit means the new build is still running or failed (see the Space's build log)."
                )
            time.sleep(interval)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True, help="service root, e.g. https://owner-space.hf.space")
    parser.add_argument("--commit", required=True, help="the commit the deployed build must report")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for it (default 900)")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between polls (default 10)")
    parser.add_argument(
        "--token", default=os.environ.get("API_TOKEN") or None, help="API token for the smoke test ($API_TOKEN)"
    )
    parser.add_argument("--example", type=Path, default=ROOT / "example.json", help="application to score")
    parser.add_argument("--stamp-file", type=Path, help="passed to smoke.py: when the first REST score answered")
    parser.add_argument("--no-smoke", action="store_true", help="only wait for the commit")
    args = parser.parse_args(argv)
    if args.timeout <= 0 or args.interval <= 0:
        print("verify: --timeout and --interval must be positive", file=sys.stderr)
        return 2
    if not args.no_smoke and not args.example.is_file():
        print(f"verify: no example application at {args.example}", file=sys.stderr)
        return 2

    base_url = args.base_url.rstrip("/")
    try:
        seen = wait_for_commit(base_url, commit=args.commit, timeout=args.timeout, interval=args.interval)
        print(f"verify: {base_url} serves commit {args.commit} ({seen})")
        if not args.no_smoke:
            smoke.run(base_url, args.example, token=args.token, timeout=30.0, stamp_file=args.stamp_file)
    except NotDeployed as exc:
        print(f"verify FAILED: {exc}", file=sys.stderr)
        return 1
    except smoke.SmokeFailure as exc:
        print(f"verify FAILED: commit {args.commit} serves but the smoke test fails: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
