"""Production traffic simulator: sends `production_stream` applicants through the RUNNING service.

    python -m monitoring.simulate --url http://localhost:7860 --n 2000 --scenario income_inflation \\
        [--via rest|gradio] [--rate 50] [--concurrency 4] [--token T] [--seed 0] [--outcomes-after N]

REST (`POST /api/v1/score`) by default, or the Gradio API (`/predict`) through gradio_client. Prints
the client-side latency percentiles and the counts of scored, rejected and failed requests.

`--outcomes-after N` then replays what happened: the TARGET of every approved applicant is posted
(`POST /api/v1/outcomes`, or the Gradio API's `/record_outcomes`) once N later applications have
been scored, as if a loan's outcome were known N applications after it; the last N approved loans
have no outcome yet. Refused applicants never get one (no loan, no default): the accepts-only view.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scoring.schema import ID_COLUMN, TARGET_COLUMN
from scoring.synth.scenarios import SCENARIOS

Outcome = str  # "ok" | "rejected" | "error"


@dataclass(slots=True)
class SimulationReport:
    sent: int = 0
    ok: int = 0
    rejected: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    error_samples: list[str] = field(default_factory=list)
    answers: dict[int, dict[str, Any]] = field(default_factory=dict)  # index -> the service's answer
    outcomes: dict[str, int] = field(default_factory=dict)  # outcome answers by status, when replayed

    def percentile(self, q: float) -> float | None:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else None

    def lines(self) -> list[str]:
        out = [
            f"sent {self.sent}: ok {self.ok}, rejected {self.rejected}, errors {self.errors} in "
            f"{self.seconds:.1f} s ({self.sent / max(self.seconds, 1e-9):.1f} req/s)"
        ]
        if self.latencies_ms:
            out.append(
                "client latency ms: "
                + ", ".join(f"p{q} {self.percentile(q):.1f}" for q in (50, 90, 95, 99))
                + f", mean {statistics.fmean(self.latencies_ms):.1f}, max {max(self.latencies_ms):.1f}"
            )
        if self.outcomes:
            out.append("outcomes: " + ", ".join(f"{k} {v}" for k, v in self.outcomes.items()))
        out += [f"  error: {e}" for e in self.error_samples[:5]]
        return out


def payloads(n: int, *, seed: int, scenario: str) -> list[dict[str, Any]]:
    """`n` applications of the scenario as API payloads (missing fields left out, no label)."""
    return applicants(n, seed=seed, scenario=scenario)[0]


def applicants(n: int, *, seed: int, scenario: str) -> tuple[list[dict[str, Any]], list[int]]:
    """The payloads and, aside, what each applicant will do (TARGET: 1 defaults), for the outcome replay."""
    from scoring.payloads import frame_to_payloads
    from scoring.synth.generate import production_stream

    frame = production_stream(n, seed=seed, scenario=scenario)  # raises ValueError naming the scenarios
    return frame_to_payloads(frame, drop=(TARGET_COLUMN, ID_COLUMN)), frame[TARGET_COLUMN].astype(int).tolist()


def rest_sender(url: str, *, token: str | None, timeout: float = 30.0) -> Callable[[dict[str, Any]], Outcome]:
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    client = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)

    def send(payload: dict[str, Any]) -> tuple[Outcome, dict[str, Any] | None]:
        response = client.post("/api/v1/score", json=payload)
        if response.status_code == 200:
            return "ok", response.json()
        if 400 <= response.status_code < 500:
            return "rejected"
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")

    return send


def gradio_sender(url: str, *, token: str | None) -> Callable[[dict[str, Any]], Outcome]:
    from gradio_client import Client

    local = threading.local()  # one client per worker thread

    def send(payload: dict[str, Any]) -> tuple[Outcome, dict[str, Any] | None]:
        if not hasattr(local, "client"):
            local.client = Client(url, auth=("user", token) if token else None, verbose=False)
        try:
            answer = local.client.predict(payload, False, api_name="/predict")
        except Exception as exc:  # gradio_client raises AppError for a gr.Error (a validation refusal)
            if type(exc).__name__ == "AppError":
                return "rejected", None
            raise
        return "ok", answer if isinstance(answer, dict) else None

    return send


Sender = Callable[[dict[str, Any]], Outcome | tuple[Outcome, dict[str, Any] | None]]


def run(
    send: Sender,
    items: Sequence[dict[str, Any]],
    *,
    concurrency: int = 4,
    rate: float | None = None,
    progress: bool = True,
) -> SimulationReport:
    """Send every item (at most `rate` requests per second overall) and measure each round trip."""
    from tqdm import tqdm

    report, lock = SimulationReport(), threading.Lock()
    interval = 1.0 / rate if rate else 0.0
    started = time.perf_counter()
    bar = tqdm(total=len(items), disable=not progress, unit="req")

    def one(index: int) -> None:
        if interval:
            delay = started + index * interval - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        begun = time.perf_counter()
        answer = None
        try:
            sent, error = send(items[index]), None
            outcome, answer = sent if isinstance(sent, tuple) else (sent, None)
        except Exception as exc:  # a transport failure or a 5xx counts as an error, never stops the run
            outcome, error = "error", f"{type(exc).__name__}: {exc}"[:300]
        elapsed = (time.perf_counter() - begun) * 1000
        with lock:
            report.sent += 1
            if answer is not None:
                report.answers[index] = answer
            counter = outcome if outcome in {"ok", "rejected"} else "errors"
            setattr(report, counter, getattr(report, counter) + 1)
            if outcome != "error":
                report.latencies_ms.append(elapsed)
            elif error and len(report.error_samples) < 5:
                report.error_samples.append(error)
        bar.update(1)

    with ThreadPoolExecutor(max(1, concurrency)) as pool:
        list(pool.map(one, range(len(items))))
    bar.close()
    report.seconds = time.perf_counter() - started
    return report


def simulate(
    url: str,
    *,
    n: int,
    scenario: str = "none",
    via: str = "rest",
    rate: float | None = None,
    concurrency: int = 4,
    token: str | None = None,
    seed: int = 0,
    progress: bool = True,
    outcomes_after: int | None = None,
) -> SimulationReport:
    """The whole simulation, as the CLI runs it (also used by the notebook and the tests)."""
    if via not in {"rest", "gradio"}:
        raise ValueError("via must be 'rest' or 'gradio'")
    items, targets = applicants(n, seed=seed, scenario=scenario)
    send = rest_sender(url, token=token) if via == "rest" else gradio_sender(url, token=token)
    report = run(send, items, concurrency=concurrency, rate=rate, progress=progress)
    if outcomes_after is not None:
        rows = matured_outcomes(report.answers, targets, after=outcomes_after)
        report.outcomes = post_outcomes(url, rows, via=via, token=token)
    return report


def matured_outcomes(answers: dict[int, dict[str, Any]], targets: Sequence[int], *, after: int) -> list[dict]:
    """The outcome of every approved application followed by at least `after` later ones (in send order)."""
    from datetime import UTC, datetime

    today = datetime.now(UTC).date().isoformat()
    last = len(targets) - after
    return [
        {"request_id": answer["request_id"], "defaulted": bool(targets[index]), "observed_at": today}
        for index, answer in sorted(answers.items())
        if index < last and answer.get("decision") == "approve" and answer.get("request_id")
    ]


def post_outcomes(
    url: str, rows: Sequence[dict[str, Any]], *, via: str = "rest", token: str | None = None, per_call: int = 10_000
) -> dict[str, int]:
    """Post outcomes in calls of at most `per_call` rows; the answers counted by status."""
    totals: dict[str, int] = {}
    for start in range(0, len(rows), per_call):
        part = list(rows[start : start + per_call])
        if via == "rest":
            import httpx

            headers = {"Authorization": f"Bearer {token}"} if token else {}
            response = httpx.post(
                url.rstrip("/") + "/api/v1/outcomes", json={"outcomes": part}, headers=headers, timeout=120
            )
            response.raise_for_status()
            counts = response.json()["counts"]
        else:
            from gradio_client import Client

            client = Client(url, auth=("user", token) if token else None, verbose=False)
            counts = client.predict(part, api_name="/record_outcomes")["counts"]
        for status, count in counts.items():
            totals[status] = totals.get(status, 0) + int(count)
    return totals


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m monitoring.simulate", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="base URL of the running service")
    parser.add_argument("--n", type=int, default=1000, help="number of applications to send")
    parser.add_argument("--scenario", default="none", help=f"one of: {', '.join(SCENARIOS)}")
    parser.add_argument("--via", choices=("rest", "gradio"), default="rest")
    parser.add_argument("--rate", type=float, default=None, help="requests per second overall (default: no limit)")
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight at once")
    parser.add_argument("--token", default=None, help="API token (API_TOKEN of the service) if it is set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--outcomes-after",
        type=int,
        default=None,
        metavar="N",
        help="then post the TARGET of approved applicants whose loan is N applications old (0: all of them)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.scenario not in SCENARIOS:
        print(f"error: unknown scenario {args.scenario!r}; valid scenarios: {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    if args.n < 1:
        print("error: --n must be at least 1", file=sys.stderr)
        return 2
    if args.outcomes_after is not None and args.outcomes_after < 0:
        print("error: --outcomes-after must be 0 or more", file=sys.stderr)
        return 2
    report = simulate(
        args.url,
        n=args.n,
        scenario=args.scenario,
        via=args.via,
        rate=args.rate,
        concurrency=args.concurrency,
        token=args.token,
        seed=args.seed,
        progress=not args.quiet,
        outcomes_after=args.outcomes_after,
    )
    for line in report.lines():
        print(line)
    return 0 if report.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
