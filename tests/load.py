"""Load test of the scoring service: REST single + batch and Gradio API traffic at a fixed concurrency.

Shared by `tests/reliability/test_load.py`, the fault tests and `python -m benchmarks.load`. One command,
from the repo root (starts its own server on a free port with a fresh log folder):

    python -m benchmarks.load --seconds 60 --concurrency 32      # the long version
    python -m benchmarks.load --seconds 10 --concurrency 16      # the short version

or against a running server: `--url http://127.0.0.1:7860 --pid <server pid> --log-dir <its log folder>`.

It reports requests served, errors, p50/p99 latency per channel, the server's RSS before and after
(read from /proc/<pid>/status after a warm-up, so one-off allocations such as the first SHAP call
are not counted as growth) and checks that every acknowledged prediction is in the prediction log
exactly once. Exit status 1 when any of these fails. Load goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.server import start_server

SCORE, BATCH = "/api/v1/score", "/api/v1/score/batch"
MAX_RSS_GROWTH = 0.10


@dataclass
class LoadResult:
    seconds: float = 0.0
    concurrency: int = 0
    served: Counter[str] = field(default_factory=Counter)  # channel -> answered 200
    errors: Counter[str] = field(default_factory=Counter)  # "channel status|exception" -> count
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    acknowledged: list[str] = field(default_factory=list)  # request ids of scored rows, in answer order
    rss_before_kb: int | None = None
    rss_after_kb: int | None = None
    rss_samples_kb: list[int] = field(default_factory=list)  # every 5 s during the run

    def percentile(self, q: float, channel: str | None = None) -> float | None:
        values = sorted(
            self.latencies_ms.get(channel, []) if channel else [v for vs in self.latencies_ms.values() for v in vs]
        )
        if not values:
            return None
        return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]

    @property
    def rss_growth(self) -> float | None:
        if not self.rss_before_kb or self.rss_after_kb is None:
            return None
        return self.rss_after_kb / self.rss_before_kb - 1

    def summary(self) -> dict[str, Any]:
        channels = sorted(self.latencies_ms)
        return {
            "seconds": round(self.seconds, 1),
            "concurrency": self.concurrency,
            "requests_served": sum(self.served.values()),
            "by_channel": dict(self.served),
            "rows_acknowledged": len(self.acknowledged),
            "throughput_rps": round(sum(self.served.values()) / self.seconds, 1) if self.seconds else None,
            "errors": dict(self.errors),
            "p50_ms": _round(self.percentile(50)),
            "p99_ms": _round(self.percentile(99)),
            "per_channel_ms": {
                c: {"p50": _round(self.percentile(50, c)), "p99": _round(self.percentile(99, c))} for c in channels
            },
            "rss_before_mb": _mb(self.rss_before_kb),
            "rss_after_mb": _mb(self.rss_after_kb),
            "rss_growth_pct": None if self.rss_growth is None else round(100 * self.rss_growth, 2),
            "rss_samples_mb": [_mb(kb) for kb in self.rss_samples_kb],
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _mb(kb: int | None) -> float | None:
    return None if kb is None else round(kb / 1024, 1)


def rss_kb(pid: int) -> int:
    """Resident set size of a process, from /proc (Linux only)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def sample_payloads(count: int = 300, *, seed: int = 123) -> list[dict[str, Any]]:
    """Applicants of the production population, as API payloads (missing fields left out)."""
    from scoring.payloads import frame_to_payloads
    from scoring.synth.generate import production_stream

    return frame_to_payloads(production_stream(count, seed=seed), drop=("TARGET", "SK_ID_CURR"))


# ------------------------------------------------------------------------------------------- traffic


async def _rest_single(http: httpx.AsyncClient, payload: dict[str, Any]) -> list[str]:
    response = await http.post(SCORE, json=payload)
    response.raise_for_status()
    return [response.json()["request_id"]]


async def _rest_batch(http: httpx.AsyncClient, payloads: list[dict[str, Any]]) -> list[str]:
    response = await http.post(BATCH, json={"applications": payloads})
    response.raise_for_status()
    return [r["request_id"] for r in response.json()["results"] if r["status"] == "ok"]


async def _gradio(http: httpx.AsyncClient, payload: dict[str, Any]) -> list[str]:
    """Gradio's two-step HTTP API: POST to get an event id, then read the SSE stream to its end."""
    response = await http.post("/gradio_api/call/predict", json={"data": [payload, False]})
    response.raise_for_status()
    event_id = response.json()["event_id"]
    event, data = None, None
    async with http.stream("GET", f"/gradio_api/call/predict/{event_id}") as stream:
        stream.raise_for_status()
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                data = line.split(":", 1)[1].strip()
                break
    if event != "complete" or data is None:
        raise RuntimeError(f"gradio event {event}: {(data or '')[:200]}")
    return [json.loads(data)[0]["request_id"]]


async def run_load(
    url: str,
    *,
    seconds: float,
    concurrency: int,
    payloads: list[dict[str, Any]],
    gradio_share: float = 0.1,
    batch_share: float = 0.02,
    batch_size: int = 20,
    token: str | None = None,
    stop: threading.Event | None = None,
    seed: int = 0,
    timeout: float = 30.0,
) -> LoadResult:
    """`concurrency` workers send requests back to back for `seconds` (or until `stop` is set)."""
    result = LoadResult(concurrency=concurrency)
    headers = {"authorization": f"Bearer {token}"} if token else {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    deadline = time.monotonic() + seconds

    async def worker(number: int, http: httpx.AsyncClient) -> None:
        rng = random.Random(seed * 1000 + number)
        while time.monotonic() < deadline and not (stop and stop.is_set()):
            draw = rng.random()
            if draw < gradio_share:
                channel, call = "gradio_api", _gradio(http, rng.choice(payloads))
            elif draw < gradio_share + batch_share:
                channel, call = "rest_batch", _rest_batch(http, rng.sample(payloads, batch_size))
            else:
                channel, call = "rest", _rest_single(http, rng.choice(payloads))
            started = time.perf_counter()
            try:
                ids = await call
            except httpx.HTTPStatusError as exc:
                result.errors[f"{channel} {exc.response.status_code}"] += 1
                continue
            except Exception as exc:  # a refused connection, a timeout, a bad answer: all are errors here
                result.errors[f"{channel} {type(exc).__name__}"] += 1
                if stop and stop.is_set():
                    return
                await asyncio.sleep(0.05)  # a dead server must not turn the loop into a busy spin
                continue
            result.latencies_ms.setdefault(channel, []).append((time.perf_counter() - started) * 1000)
            result.served[channel] += 1
            result.acknowledged.extend(ids)

    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=timeout) as http:
        await asyncio.gather(*(worker(n, http) for n in range(concurrency)))
    result.seconds = time.monotonic() - started
    return result


def load(url: str, *, pid: int | None = None, warmup: float = 2.0, **kwargs: Any) -> LoadResult:
    """Warm up at the same concurrency (threads, buffers and queues grow to their working size), read RSS,
    run the load while sampling RSS every 5 s, read RSS again (synchronous wrapper of `run_load`)."""
    if warmup > 0:
        asyncio.run(run_load(url, **{**kwargs, "seconds": warmup}))
    before = rss_kb(pid) if pid else None
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while pid and not done.wait(5):
            samples.append(rss_kb(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = asyncio.run(run_load(url, **kwargs))
    finally:
        done.set()
        sampler.join()
    result.rss_before_kb, result.rss_after_kb = before, (rss_kb(pid) if pid else None)
    result.rss_samples_kb = samples
    return result


def check_log(log_dir: Path, acknowledged: list[str]) -> dict[str, int]:
    """Every acknowledged prediction in the log exactly once: counts of what is missing or doubled."""
    from monitoring.log.reader import read_log

    data = read_log([log_dir])
    logged = Counter(data.predictions["request_id"]) if len(data.predictions) else Counter()
    acked = set(acknowledged)
    return {
        "acknowledged": len(acknowledged),
        "acknowledged_twice": len(acknowledged) - len(acked),
        "logged": sum(logged.values()),
        "missing_from_log": sum(1 for rid in acked if rid not in logged),
        "logged_twice": sum(1 for n in logged.values() if n > 1),
        "torn_lines": data.torn_lines,
    }


# ----------------------------------------------------------------------------------------------- CLI


def verdict(result: LoadResult, log_check: dict[str, int] | None) -> list[str]:
    """What failed, in words; empty when the run passed."""
    failures = []
    if result.errors:
        failures.append(f"errors: {dict(result.errors)}")
    if not result.acknowledged:
        failures.append("nothing was served")
    if result.rss_growth is not None and result.rss_growth > MAX_RSS_GROWTH:
        failures.append(f"RSS grew by {100 * result.rss_growth:.1f}% (limit {100 * MAX_RSS_GROWTH:.0f}%)")
    if log_check and (log_check["missing_from_log"] or log_check["logged_twice"] or log_check["acknowledged_twice"]):
        failures.append(f"prediction log: {log_check}")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--gradio-share", type=float, default=0.1, help="share of requests sent to the Gradio API")
    parser.add_argument("--batch-share", type=float, default=0.02, help="share of 20-row REST batches")
    parser.add_argument("--warmup", type=float, default=10, help="seconds of load before the RSS baseline")
    parser.add_argument("--url", help="a running server (default: start one)")
    parser.add_argument("--pid", type=int, help="the running server's pid, for RSS")
    parser.add_argument("--log-dir", type=Path, help="the running server's PREDICTION_LOG_DIR")
    parser.add_argument("--token", default=os.environ.get("API_TOKEN") or None)
    args = parser.parse_args(argv)

    payloads = sample_payloads()
    server = None
    with tempfile.TemporaryDirectory(prefix="load-") as tmp:
        url, pid, log_dir = args.url, args.pid, args.log_dir
        if url is None:
            server = start_server(Path(tmp))
            url, pid, log_dir = server.url, server.pid, server.log_dir
        try:
            result = load(
                url,
                pid=pid,
                warmup=args.warmup,
                seconds=args.seconds,
                concurrency=args.concurrency,
                payloads=payloads,
                gradio_share=args.gradio_share,
                batch_share=args.batch_share,
                token=args.token,
            )
            log_check = check_log(log_dir, result.acknowledged) if log_dir else None
        finally:
            if server is not None:
                server.stop(timeout=30)
    report = {**result.summary(), "log": log_check}
    failures = verdict(result, log_check)
    print(json.dumps({**report, "failures": failures}, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
