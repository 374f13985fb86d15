"""Smoke test of a running service: score example.json over REST and over the Gradio API.

    python scripts/smoke.py --base-url http://127.0.0.1:7860 [--token API_TOKEN] [--load 10000]

Both answers must carry a probability in [0, 1] and agree on the decision, the model version and,
within float noise, the probability. `--load N` then sends N more REST scores and prints throughput and
latency (scripts/container_check.sh --measure uses it for the memory figure after 10,000 requests).
Exit status: 0 when all checks pass, 1 when one fails, 2 when the example cannot be read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
DECISIONS = {"approve", "refuse"}
# The two routes call the same scorer, so anything beyond float noise is a real difference.
PROBABILITY_TOLERANCE = 1e-6


class SmokeFailure(Exception):
    """A check against the running service failed; the message says which and why."""


def check_score(route: str, answer: Any) -> dict[str, Any]:
    """The answer must be a score: a probability in [0, 1] and a known decision."""
    if isinstance(answer, str):
        try:
            answer = json.loads(answer)
        except json.JSONDecodeError as exc:
            raise SmokeFailure(f"{route}: answer is not JSON: {answer[:200]!r}") from exc
    if not isinstance(answer, dict):
        raise SmokeFailure(f"{route}: expected a JSON object, got {type(answer).__name__}: {answer!r:.200}")
    probability = answer.get("probability")
    if (
        not isinstance(probability, int | float)
        or isinstance(probability, bool)
        or not math.isfinite(probability)
        or not 0.0 <= probability <= 1.0
    ):
        raise SmokeFailure(f"{route}: probability {probability!r} is not a number in [0, 1]")
    if answer.get("decision") not in DECISIONS:
        raise SmokeFailure(f"{route}: decision {answer.get('decision')!r} is not one of {sorted(DECISIONS)}")
    return answer


def score_rest(base_url: str, application: dict[str, Any], *, token: str | None, timeout: float) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.post(f"{base_url}/api/v1/score", json=application, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise SmokeFailure(f"REST: cannot reach {base_url}/api/v1/score: {exc}") from exc
    if response.status_code != 200:
        raise SmokeFailure(f"REST: HTTP {response.status_code} from /api/v1/score: {response.text[:300]}")
    return check_score("REST", response.json())


def score_gradio(base_url: str, application: dict[str, Any], *, token: str | None) -> dict:
    from gradio_client import Client  # imported here: it is slow and only this route needs it

    try:
        # With API_TOKEN set, the Gradio app asks for a login: any user name, the token as password.
        client = Client(
            base_url,
            auth=("smoke", token) if token else None,
            verbose=False,
            analytics_enabled=False,
            download_files=False,
        )
        answer = client.predict(application, api_name="/predict")
    except Exception as exc:  # gradio_client raises many types; all of them mean the route failed
        raise SmokeFailure(f"Gradio /predict failed: {type(exc).__name__}: {exc}") from exc
    return check_score("Gradio /predict", answer)


async def _load(
    base_url: str, application: dict[str, Any], *, token: str | None, requests: int, concurrency: int, timeout: float
) -> tuple[list[float], list[str]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    latencies: list[float] = []
    errors: list[str] = []
    remaining = iter(range(requests))

    async def worker(client: httpx.AsyncClient) -> None:
        for _ in remaining:  # one shared iterator: the workers split the requests between them
            started = time.perf_counter()
            try:
                response = await client.post("/api/v1/score", json=application, headers=headers)
                if response.status_code != 200:
                    errors.append(f"HTTP {response.status_code}: {response.text[:120]}")
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
            latencies.append(time.perf_counter() - started)

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return latencies, errors


def load(
    base_url: str, application: dict[str, Any], *, token: str | None, requests: int, concurrency: int, timeout: float
) -> None:
    """Send `requests` REST scores, `concurrency` at a time; any failed request fails the run."""
    started = time.perf_counter()
    latencies, errors = asyncio.run(
        _load(base_url, application, token=token, requests=requests, concurrency=concurrency, timeout=timeout)
    )
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    print(
        f"load   {requests} REST scores, {concurrency} at a time: {elapsed:.1f} s, "
        f"{requests / elapsed:.0f} req/s, p50 {pct(0.50):.1f} ms, p95 {pct(0.95):.1f} ms, "
        f"p99 {pct(0.99):.1f} ms, {len(errors)} errors"
    )
    if errors:
        raise SmokeFailure(f"{len(errors)} of {requests} load requests failed, first: {errors[0]}")


def run(
    base_url: str, example: Path, *, token: str | None, timeout: float, stamp_file: Path | None = None
) -> dict[str, Any]:
    application = json.loads(example.read_text(encoding="utf-8"))
    started = time.perf_counter()
    rest = score_rest(base_url, application, token=token, timeout=timeout)
    if stamp_file is not None:  # for the cold-start figure of scripts/container_check.sh
        stamp_file.write_text(str(time.time_ns()), encoding="utf-8")
    print(
        f"REST   /api/v1/score  probability={rest['probability']:.6f} decision={rest['decision']} "
        f"model_version={rest.get('model_version')} request_id={rest.get('request_id')}"
    )
    ui = score_gradio(base_url, application, token=token)
    print(
        f"Gradio /predict       probability={ui['probability']:.6f} decision={ui['decision']} "
        f"model_version={ui.get('model_version')} request_id={ui.get('request_id')}"
    )
    if rest["decision"] != ui["decision"]:
        raise SmokeFailure(f"the routes disagree: REST says {rest['decision']}, Gradio says {ui['decision']}")
    if rest.get("model_version") != ui.get("model_version"):
        raise SmokeFailure(
            f"the routes serve different models: REST {rest.get('model_version')}, Gradio {ui.get('model_version')}"
        )
    if abs(rest["probability"] - ui["probability"]) > PROBABILITY_TOLERANCE:
        raise SmokeFailure(
            f"the routes disagree on the probability: REST {rest['probability']}, Gradio {ui['probability']}"
        )
    print(f"smoke OK in {time.perf_counter() - started:.2f} s against {base_url}")
    return application


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--base-url",
        default=os.environ.get("BASE_URL", "http://127.0.0.1:7860"),
        help="service root (default: $BASE_URL, else http://127.0.0.1:7860)",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("API_TOKEN") or None,
        help="API token, when the service has one (default: $API_TOKEN)",
    )
    parser.add_argument(
        "--example",
        type=Path,
        default=ROOT / "example.json",
        help="application to score (default: example.json at the repo root)",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="REST timeout in seconds")
    parser.add_argument(
        "--load", type=int, default=0, metavar="N", help="after the checks, send N more REST scores (default 0)"
    )
    parser.add_argument(
        "--stamp-file",
        type=Path,
        help="write the time (ns since the epoch) at which the first REST score answered",
    )
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight during --load")
    args = parser.parse_args(argv)

    if not args.example.is_file():
        print(f"smoke: no example application at {args.example}", file=sys.stderr)
        return 2
    base_url = args.base_url.rstrip("/")
    try:
        application = run(base_url, args.example, token=args.token, timeout=args.timeout, stamp_file=args.stamp_file)
        if args.load > 0:
            load(
                base_url,
                application,
                token=args.token,
                requests=args.load,
                concurrency=max(1, args.concurrency),
                timeout=args.timeout,
            )
    except json.JSONDecodeError as exc:
        print(f"smoke: {args.example} is not valid JSON: {exc}", file=sys.stderr)
        return 2
    except SmokeFailure as exc:
        print(f"smoke FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
