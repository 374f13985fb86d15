"""Latency of every door to the model, measured in one process run, against `mlflow models serve`.

    python -m benchmarks.run [--n 400] [--skip-mlflow]

Starts the real service (`python app.py`) and `mlflow models serve` on the same `model/`, each on a free
port, warms both up, then times sequential requests (one client, keep-alive) and prints p50/p99 with the
ratio against the MLflow server. The in-process rows time the Scorer alone (validate -> features ->
predict -> decide) and the model call alone.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scoring.data import production_stream  # noqa: E402
from scoring.features import FEATURE_NAMES, build_features, encode_frame, encode_record  # noqa: E402
from scoring.model import load_model  # noqa: E402
from scoring.predict import Scorer  # noqa: E402
from service.ui.batch_tab import frame_to_payloads  # noqa: E402


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timed(fn: Callable[[int], object], n: int, warmup: int = 30) -> np.ndarray:
    for i in range(warmup):
        fn(i)
    out = np.empty(n)
    for i in range(n):
        started = time.perf_counter()
        fn(i)
        out[i] = (time.perf_counter() - started) * 1000
    return out


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


def start(cmd: list[str], env: dict[str, str], health: str, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log.open("wb"),  # noqa: S603
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_http(health, proc)
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def row(name: str, ms: np.ndarray, baseline: float | None) -> str:
    p50, p99 = np.percentile(ms, 50), np.percentile(ms, 99)
    ratio = f"{baseline / p50:8.1f}x" if baseline else "        -"
    return f"| {name:<44} | {p50:9.3f} | {p99:9.3f} | {ratio} |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--skip-mlflow", action="store_true")
    args = parser.parse_args()
    model = load_model(ROOT / "model")
    scorer = Scorer(model)
    frame = production_stream(max(args.n, 200), seed=11)
    payloads = frame_to_payloads(
        frame.drop(columns=["TARGET", "SK_ID_CURR"])
        .astype(object)
        .where(frame.drop(columns=["TARGET", "SK_ID_CURR"]).notna(), None)
    )
    features = build_features(encode_frame(frame))
    pick = lambda i: payloads[i % len(payloads)]  # noqa: E731
    results: dict[str, np.ndarray] = {}
    results["in-process: model call (Booster, 1 row)"] = timed(
        lambda i: model.predict(features[i % 200][None, :]), args.n
    )
    results["in-process: features (1 row)"] = timed(
        lambda i: build_features(np.array([encode_record(pick(i))])), args.n
    )
    results["in-process: Scorer.score (validate..decide)"] = timed(lambda i: scorer.score(pick(i)), args.n)
    results["in-process: Scorer.score with explanation"] = timed(lambda i: scorer.score(pick(i), explain=True), args.n)

    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    port = free_port()
    app = start(
        [sys.executable, "app.py"],
        {
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "PREDICTION_LOG_DIR": str(tmp / "log"),
            "HISTORY_DIR": str(tmp / "history"),
            "LOG_LEVEL": "WARNING",
        },
        f"http://127.0.0.1:{port}/healthz",
        tmp / "app.log",
    )
    procs = [app]
    try:
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=30) as http:
            results["REST /api/v1/score (validation + log)"] = timed(
                lambda i: http.post("/api/v1/score", json=pick(i)).raise_for_status(), args.n
            )
            results["REST /api/v1/score?explain=true"] = timed(
                lambda i: http.post("/api/v1/score?explain=true", json=pick(i)).raise_for_status(), args.n
            )

            def raw_gradio(i: int) -> None:
                event = http.post("/gradio_api/call/predict", json={"data": [pick(i), False]}).json()["event_id"]
                text = http.get(f"/gradio_api/call/predict/{event}").text
                if "event: complete" not in text:
                    raise RuntimeError(text[:300])

            results["Gradio API, raw HTTP (call + SSE)"] = timed(raw_gradio, max(args.n // 4, 50), warmup=10)
        from gradio_client import Client

        client = Client(url, verbose=False)
        results["Gradio API, gradio_client.predict"] = timed(
            lambda i: client.predict(pick(i), False, api_name="/predict"), max(args.n // 4, 50), warmup=10
        )
        client.close()

        baseline = None
        if not args.skip_mlflow:
            mport = free_port()
            mlflow_bin = str(Path(sys.executable).with_name("mlflow"))
            procs.append(
                start(
                    [
                        mlflow_bin,
                        "models",
                        "serve",
                        "-m",
                        "model",
                        "--env-manager",
                        "local",
                        "-h",
                        "127.0.0.1",
                        "-p",
                        str(mport),
                        "-w",
                        "1",
                    ],
                    # it execs `uvicorn` by name: the venv's bin must be on PATH
                    {"PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"},
                    f"http://127.0.0.1:{mport}/ping",
                    tmp / "mlflow.log",
                )
            )
            columns = list(FEATURE_NAMES)

            def body(i: int) -> str:
                values = [None if np.isnan(v) else float(v) for v in features[i % 200]]
                return json.dumps({"dataframe_split": {"columns": columns, "data": [values]}})

            with httpx.Client(base_url=f"http://127.0.0.1:{mport}", timeout=30) as http:
                results["mlflow models serve /invocations (baseline)"] = timed(
                    lambda i: http.post(
                        "/invocations", content=body(i), headers={"content-type": "application/json"}
                    ).raise_for_status(),
                    args.n,
                )
            baseline = float(np.percentile(results["mlflow models serve /invocations (baseline)"], 50))
    finally:
        for proc in procs:
            stop(proc)

    print(f"\nLatency per request, ms (n={args.n} sequential calls after warm-up; ratio = baseline p50 / p50)\n")
    print(f"| {'path':<44} | {'p50 ms':>9} | {'p99 ms':>9} | {'vs mlflow':>9} |")
    print(f"|{'-' * 46}|{'-' * 11}|{'-' * 11}|{'-' * 10}|")
    for name, ms in results.items():
        print(row(name, ms, baseline))
    print(
        f"\ncpu count {os.cpu_count()}, python {sys.version.split()[0]}, "
        f"median of medians {statistics.median(float(np.median(v)) for v in results.values()):.3f} ms"
    )


if __name__ == "__main__":
    main()
