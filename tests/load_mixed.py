"""Single scores while 10,000-row batches run: the loop must keep answering (FINDING 14.3).

Two phases against one server: single REST scores alone at `concurrency` (the idle p99), then the same
single-score traffic with `batch_senders` of the workers sending 10,000-row REST batches back to back,
while a probe reads `/healthz` every 250 ms. The batch senders and the probe run in their own processes,
so reading a multi-megabyte answer never stalls the load generator's event loop (which would inflate the
single scores' measured latency) and the probe never waits for the generator's GIL. Every acknowledged
row, single or batch, must be in the log exactly once.

    python -m tests.load_mixed --seconds 60 --concurrency 32     # the long version (issue 14's "must show")
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.load import BATCH, LoadResult, check_log, run_load, sample_payloads
from tests.server import start_server

MAX_P99_RATIO = 5.0
MAX_HEALTHZ_MS = 1000.0
_OK_ID = re.compile(rb'"request_id":"([0-9a-f]{32}-\d+)","probability"')


@dataclass
class MixedResult:
    idle: LoadResult
    loaded: LoadResult
    batches: dict[str, Any] = field(default_factory=dict)  # served, errors, latencies_ms, acknowledged
    healthz_ms: list[float] = field(default_factory=list)  # during the batches
    idle_healthz_ms: list[float] = field(default_factory=list)  # during the idle phase, for comparison
    healthz_errors: int = 0

    @property
    def p99_ratio(self) -> float | None:
        idle, loaded = self.idle.percentile(99, "rest"), self.loaded.percentile(99, "rest")
        return None if not idle or loaded is None else loaded / idle

    @property
    def acknowledged(self) -> list[str]:
        return self.idle.acknowledged + self.loaded.acknowledged + self.batches.get("acknowledged", [])

    def summary(self) -> dict[str, Any]:
        latencies = sorted(self.batches.get("latencies_ms", []))
        return {
            "idle_single_p50_ms": _r(self.idle.percentile(50, "rest")),
            "idle_single_p99_ms": _r(self.idle.percentile(99, "rest")),
            "loaded_single_p50_ms": _r(self.loaded.percentile(50, "rest")),
            "loaded_single_p99_ms": _r(self.loaded.percentile(99, "rest")),
            "p99_ratio": _r(self.p99_ratio),
            "singles_served": self.idle.served["rest"] + self.loaded.served["rest"],
            "single_errors": dict(self.idle.errors + self.loaded.errors),
            "batches_served": self.batches.get("served", 0),
            "batch_rows_acknowledged": len(self.batches.get("acknowledged", [])),
            "batch_errors": self.batches.get("errors", {}),
            "batch_seconds_max": _r(latencies[-1] / 1000) if latencies else None,
            "healthz_probes": len(self.healthz_ms),
            "healthz_max_ms": _r(max(self.healthz_ms, default=None)),
            "idle_healthz_max_ms": _r(max(self.idle_healthz_ms, default=None)),
            "healthz_errors": self.healthz_errors,
        }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _send_batches(url: str, body: bytes, seconds: float, out: Any) -> None:
    """In a child process: POST the same big batch back to back for `seconds`; report what was acknowledged."""
    report: dict[str, Any] = {"served": 0, "errors": {}, "latencies_ms": [], "acknowledged": []}
    deadline = time.monotonic() + seconds
    headers = {"content-type": "application/json"}
    with httpx.Client(base_url=url, timeout=120) as http:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                response = http.post(BATCH, content=body, headers=headers)
            except httpx.HTTPError as exc:
                report["errors"][type(exc).__name__] = report["errors"].get(type(exc).__name__, 0) + 1
                continue
            if response.status_code != 200:
                key = str(response.status_code)
                report["errors"][key] = report["errors"].get(key, 0) + 1
                time.sleep(1)
                continue
            report["latencies_ms"].append((time.perf_counter() - started) * 1000)
            report["served"] += 1
            report["acknowledged"].extend(m.decode() for m in _OK_ID.findall(response.content))
    out.put(report)


def _probe_healthz(url: str, seconds: float, out: Any) -> None:
    """In a child process (its own GIL): GET /healthz every 250 ms; report each answer's time."""
    report: dict[str, Any] = {"healthz_ms": [], "errors": 0}
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=url, timeout=5) as http:
        while time.monotonic() < deadline:
            time.sleep(0.25)
            started = time.perf_counter()
            try:
                http.get("/healthz").raise_for_status()
            except httpx.HTTPError:
                report["errors"] += 1
                continue
            report["healthz_ms"].append((time.perf_counter() - started) * 1000)
    out.put(report)


def run_mixed(
    url: str,
    *,
    seconds: float,
    concurrency: int,
    payloads: list[dict[str, Any]],
    idle_seconds: float | None = None,
    batch_rows: int = 10_000,
    batch_senders: int = 1,
) -> MixedResult:
    """The idle phase then the mixed phase; `concurrency` counts the batch senders among the workers."""
    singles = max(1, concurrency - batch_senders)
    common = {"concurrency": singles, "payloads": payloads, "gradio_share": 0.0, "batch_share": 0.0}
    asyncio.run(run_load(url, seconds=2, **common))  # warm-up
    context = multiprocessing.get_context("spawn")
    idle_seconds = idle_seconds or seconds / 3
    idle_probes = context.Queue()
    idle_probe = context.Process(target=_probe_healthz, args=(url, idle_seconds, idle_probes))
    idle_probe.start()
    idle = asyncio.run(run_load(url, seconds=idle_seconds, **common))
    idle_healthz = idle_probes.get(timeout=60)["healthz_ms"]
    idle_probe.join(10)
    rows = [payloads[i % len(payloads)] for i in range(batch_rows)]
    body = json.dumps({"applications": rows}).encode()
    reports = context.Queue()
    senders = [context.Process(target=_send_batches, args=(url, body, seconds, reports)) for _ in range(batch_senders)]
    probes = context.Queue()
    probe = context.Process(target=_probe_healthz, args=(url, seconds, probes))
    for process in (*senders, probe):
        process.start()
    result = MixedResult(idle=idle, loaded=LoadResult(), idle_healthz_ms=idle_healthz)
    time.sleep(1.0)  # let the first batch reach the server before the singles are timed
    try:
        result.loaded = asyncio.run(run_load(url, seconds=seconds - 1.0, **common))
    finally:
        collected = [reports.get(timeout=180) for _ in senders]
        probed = probes.get(timeout=60)
        for process in (*senders, probe):
            process.join(10)
    result.batches = _merge(collected)
    result.healthz_ms, result.healthz_errors = probed["healthz_ms"], probed["errors"]
    return result


def _merge(reports: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {"served": 0, "errors": {}, "latencies_ms": [], "acknowledged": []}
    for report in reports:
        merged["served"] += report["served"]
        merged["latencies_ms"] += report["latencies_ms"]
        merged["acknowledged"] += report["acknowledged"]
        for key, count in report["errors"].items():
            merged["errors"][key] = merged["errors"].get(key, 0) + count
    return merged


def mixed_verdict(result: MixedResult, log_check: dict[str, int]) -> list[str]:
    """What failed against issue 14's bar, in words; empty when the run passed."""
    s = result.summary()
    failures = []
    if s["single_errors"]:
        failures.append(f"single-score errors: {s['single_errors']}")
    if not s["batches_served"] or s["batch_errors"]:
        failures.append(f"batches: {s['batches_served']} served, errors {s['batch_errors']}")
    if result.p99_ratio is None or result.p99_ratio > MAX_P99_RATIO:
        failures.append(f"single-score p99 during batches is {s['p99_ratio']}x idle (limit {MAX_P99_RATIO}x)")
    if result.healthz_errors or not result.healthz_ms or max(result.healthz_ms) > MAX_HEALTHZ_MS:
        failures.append(f"/healthz: max {s['healthz_max_ms']} ms, {result.healthz_errors} errors")
    if log_check["missing_from_log"] or log_check["logged_twice"] or log_check["acknowledged_twice"]:
        failures.append(f"prediction log: {log_check}")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch-rows", type=int, default=10_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="load-mixed-") as tmp:
        server = start_server(Path(tmp), env={"ALERT_EVERY_S": "3600"})
        try:
            result = run_mixed(
                server.url,
                seconds=args.seconds,
                concurrency=args.concurrency,
                payloads=sample_payloads(),
                batch_rows=args.batch_rows,
            )
        finally:
            server.stop(timeout=30)
        log_check = check_log(server.log_dir, result.acknowledged)
    failures = mixed_verdict(result, log_check)
    print(json.dumps({**result.summary(), "log": log_check, "failures": failures}, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
