"""Inference runtimes for this project's model, compared in one run against the MLflow pyfunc baseline.

    python -m benchmarks.runtimes                      # the full comparison, a few minutes
    python -m benchmarks.runtimes --quick              # fewer repeats, fewer rows: a smoke run
    python -m benchmarks.runtimes --json out.json      # also keep the raw numbers

For each runtime (MLflow pyfunc on a DataFrame, the Booster on pandas and on numpy, LightGBM's C
single-row fast path, ONNX Runtime, trees compiled by treelite + tl2cgen) it measures:

- the model call on one row (p50/p99) and the whole in-process request path around it
  (`Scorer.score`: validate -> features -> predict -> decide) with that runtime plugged in;
- rows/s on batches of 10,000 rows;
- startup (imports + model load + runtime build, in a fresh process) and the RSS it adds;
- agreement with the baseline on production rows: max |probability difference| and the number of
  decisions that flip at the business threshold.

Runtimes are timed in interleaved rounds (each round times every runtime in turn) and the median of
the per-round values is reported, so a burst of load from another job hits all of them alike. Every
runtime runs on one thread (OMP_NUM_THREADS=1 unless --threads says otherwise): the service scores
a request on one thread, and the machine's cores are shared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "model"
RUNTIMES: dict[str, str] = {
    "pyfunc": "MLflow pyfunc, DataFrame (baseline)",
    "booster_pandas": "Booster.predict, pandas DataFrame",
    "booster_numpy": "Booster.predict, numpy (served today)",
    "fast_single_row": "LightGBM C single-row fast path",
    "onnx": "ONNX Runtime (float32)",
    "tl2cgen": "treelite + tl2cgen, gcc (float64)",
}


def _set_threads(threads: int) -> None:
    # before numpy/lightgbm load their OpenMP runtime
    os.environ["OMP_NUM_THREADS"] = str(threads)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def build(kind: str, work_dir: Path) -> Callable[[Any], Any]:
    """The probability function of `kind` (model matrix -> probabilities), loaded from `model/`."""
    import numpy as np
    import pandas as pd

    from scoring.features import FEATURE_NAMES

    columns = list(FEATURE_NAMES)
    if kind == "pyfunc":
        import mlflow.pyfunc

        pyfunc = mlflow.pyfunc.load_model(str(MODEL_DIR))
        return lambda x: np.asarray(pyfunc.predict(pd.DataFrame(x, columns=columns)), dtype=np.float64)

    from scoring.model import load_model
    from scoring.runtimes import make_predictor

    booster = load_model(MODEL_DIR).booster
    if kind == "booster_pandas":
        return lambda x: booster.predict(pd.DataFrame(x, columns=columns), num_threads=1)
    predictor = make_predictor(booster, "booster" if kind == "booster_numpy" else kind, work_dir=work_dir)
    if kind != "booster_numpy" and predictor.runtime != kind:  # type: ignore[attr-defined]
        raise RuntimeError(f"{kind} is unavailable here (make_predictor fell back to the Booster)")
    return predictor


# ------------------------------------------------------------------------------- fresh-process probe


def probe(kind: str, work_dir: Path) -> dict[str, float]:
    """Startup and memory of one runtime in this (fresh) process, after the imports every runtime needs."""
    import numpy as np
    import pandas  # noqa: F401 - part of the common baseline

    from scoring.features import FEATURE_NAMES

    row = np.zeros((1, len(FEATURE_NAMES)))
    before = rss_mb()
    started = time.perf_counter()
    predict = build(kind, work_dir)
    predict(row)
    ready = time.perf_counter() - started
    for _ in range(200):
        predict(row)
    return {"startup_s": ready, "rss_delta_mb": rss_mb() - before}


def run_probes(kinds: list[str], work_dir: Path, repeats: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for kind in kinds:
        samples = []
        for _ in range(repeats):
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.runtimes", "--probe", kind, "--work-dir", str(work_dir)],
                cwd=ROOT,
                env=os.environ.copy(),
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if done.returncode != 0:
                raise RuntimeError(f"probe {kind} failed:\n{done.stderr[-2000:]}")
            samples.append(json.loads(done.stdout.strip().splitlines()[-1]))
        out[kind] = {key: statistics.median(s[key] for s in samples) for key in samples[0]}
    return out


# ------------------------------------------------------------------------------------------- timing


def time_calls(fn: Callable[[int], object], n: int) -> Any:
    import numpy as np

    out = np.empty(n)
    for i in range(n):
        started = time.perf_counter()
        fn(i)
        out[i] = time.perf_counter() - started
    return out * 1000


def interleaved(calls: dict[str, Callable[[int], object]], *, n: int, rounds: int, warmup: int = 20) -> dict[str, Any]:
    """p50/p99 in ms per name: the median over `rounds` rounds, each timing every name in turn."""
    import numpy as np

    for fn in calls.values():
        for i in range(warmup):
            fn(i)
    per_round: dict[str, list[tuple[float, float]]] = {name: [] for name in calls}
    for r in range(rounds):
        for name, fn in calls.items():
            ms = time_calls(lambda i, fn=fn, r=r: fn(r * n + i), n)
            per_round[name].append((float(np.percentile(ms, 50)), float(np.percentile(ms, 99))))
    return {
        name: {"p50_ms": statistics.median(p for p, _ in v), "p99_ms": statistics.median(q for _, q in v)}
        for name, v in per_round.items()
    }


def batch_rates(predictors: dict[str, Callable[[Any], Any]], features: Any, rounds: int) -> dict[str, float]:
    """Rows per second on one call over the whole matrix: median over interleaved rounds."""
    seconds: dict[str, list[float]] = {name: [] for name in predictors}
    for predict in predictors.values():
        predict(features[:1000])  # warm-up
    for _ in range(rounds):
        for name, predict in predictors.items():
            started = time.perf_counter()
            predict(features)
            seconds[name].append(time.perf_counter() - started)
    return {name: len(features) / statistics.median(v) for name, v in seconds.items()}


# ---------------------------------------------------------------------------------------- agreement


def agreement(predictors: dict[str, Callable[[Any], Any]], features: Any, threshold: float) -> dict[str, dict]:
    """Max |difference| with the baseline and decisions flipped at the threshold, per runtime."""
    import numpy as np

    probabilities = {}
    for name, predict in predictors.items():
        if name == "fast_single_row":  # its own path is one row at a time; batches go to the Booster
            probabilities[name] = np.concatenate([predict(features[i : i + 1]) for i in range(len(features))])
        else:
            probabilities[name] = predict(features)
    base = probabilities["pyfunc"]
    refuse = base >= threshold
    return {
        name: {
            "max_abs_diff": float(np.max(np.abs(p - base))),
            "flips": int(np.sum((p >= threshold) != refuse)),
            "refuse_to_approve": int(np.sum(refuse & (p < threshold))),
            "rows": len(p),
        }
        for name, p in probabilities.items()
    }


# ------------------------------------------------------------------------------------------- report


def _ratio(base: float, value: float) -> str:
    return f"{base / value:.1f}x" if value > 0 else "-"


def print_report(results: dict[str, Any]) -> None:
    kinds = [k for k in RUNTIMES if k in results["single"]]
    single, path, batch = results["single"], results["request_path"], results["batch_rows_per_s"]
    probes, agree = results.get("probes", {}), results["agreement"]
    base_one, base_path = single["pyfunc"]["p50_ms"], path["pyfunc"]["p50_ms"]
    print(
        f"\nModel: {results['trees']} trees, {results['features']} features; threshold {results['threshold']}. "
        f"threads={results['threads']}, load average {results['load_before']} -> {results['load_after']} "
        f"on {os.cpu_count()} cores (shared: read the ratios, not the absolute numbers)."
    )
    print("Speed-up = pyfunc time / runtime time (rows/s: runtime / pyfunc), all measured in this run.\n")
    header = (
        "| runtime | 1 row p50 us | 1 row p99 us | x pyfunc | request path p50 us | p99 us | x pyfunc "
        "| 10k batch rows/s | x pyfunc | startup s | RSS +MB |"
    )
    print(header)
    print("|---|" + "---:|" * 10)
    for kind in kinds:
        probe_row = probes.get(kind, {})
        startup = f"{probe_row['startup_s']:.2f}" if probe_row else "-"
        rss = f"{probe_row['rss_delta_mb']:.0f}" if probe_row else "-"
        print(
            f"| {RUNTIMES[kind]} | {single[kind]['p50_ms'] * 1000:.1f} | {single[kind]['p99_ms'] * 1000:.1f} "
            f"| {_ratio(base_one, single[kind]['p50_ms'])} | {path[kind]['p50_ms'] * 1000:.1f} "
            f"| {path[kind]['p99_ms'] * 1000:.1f} | {_ratio(base_path, path[kind]['p50_ms'])} "
            f"| {batch[kind]:,.0f} | {batch[kind] / batch['pyfunc']:.1f}x | {startup} | {rss} |"
        )
    no_model = path.get("no_model")
    if no_model:
        print(
            f"| (request path without any model call) | - | - | - | {no_model['p50_ms'] * 1000:.1f} "
            f"| {no_model['p99_ms'] * 1000:.1f} | - | - | - | - | - |"
        )
    if results.get("build_s"):
        print("\nOne-off build before startup: " + ", ".join(f"{k} {v:.1f} s" for k, v in results["build_s"].items()))
    for scenario, table in agree.items():
        rows = next(iter(table.values()))["rows"]
        print(
            f"\nAgreement with pyfunc on {rows:,} production_stream rows (scenario {scenario!r}), "
            f"threshold {results['threshold']}:\n"
        )
        print("| runtime | max abs prob diff | decisions flipped | of which refuse -> approve |")
        print("|---|---:|---:|---:|")
        for kind in kinds:
            cell = table[kind]
            print(f"| {RUNTIMES[kind]} | {cell['max_abs_diff']:.3g} | {cell['flips']} | {cell['refuse_to_approve']} |")
    for kind, reason in results.get("unavailable", {}).items():
        print(f"\n{RUNTIMES[kind]}: unavailable ({reason})")


# ---------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300, help="timed single-row calls per runtime and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--agreement-rows", type=int, default=100_000)
    parser.add_argument(
        "--drift-rows",
        type=int,
        default=20_000,
        help="rows of each drift scenario that stresses the trees (unseen category, missing bureau)",
    )
    parser.add_argument("--probe-repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runtimes", default=",".join(RUNTIMES))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--probe", choices=list(RUNTIMES), help=argparse.SUPPRESS)
    parser.add_argument("--work-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    _set_threads(args.threads)
    sys.path.insert(0, str(ROOT))
    if args.probe:
        print(json.dumps(probe(args.probe, args.work_dir)))
        return 0
    if args.quick:
        args.n, args.rounds, args.agreement_rows, args.drift_rows, args.probe_repeats = 100, 3, 20_000, 5_000, 1

    import numpy as np

    from scoring.features import build_features, encode_frame
    from scoring.model import load_model
    from scoring.payloads import frame_to_payloads
    from scoring.predict import Scorer
    from scoring.synth.generate import production_stream

    load_before = round(os.getloadavg()[0], 2)
    work_dir = Path(tempfile.mkdtemp(prefix="runtimes-"))
    model = load_model(MODEL_DIR)
    predictors: dict[str, Callable[[Any], Any]] = {}
    build_s: dict[str, float] = {}
    unavailable: dict[str, str] = {}
    for kind in args.runtimes.split(","):
        started = time.perf_counter()
        try:
            predictors[kind] = build(kind, work_dir)
        except Exception as exc:  # report what could not be measured and go on with the others
            unavailable[kind] = str(exc)[:300]
            continue
        if kind in ("onnx", "tl2cgen"):
            build_s[f"{kind} (convert{' + compile' if kind == 'tl2cgen' else ''})"] = time.perf_counter() - started
    if "pyfunc" not in predictors:
        raise SystemExit(f"the baseline is unavailable: {unavailable.get('pyfunc')}")

    frame = production_stream(max(args.batch, args.n * args.rounds + 100), seed=11)
    features = build_features(encode_frame(frame))
    inputs = frame.drop(columns=["TARGET", "SK_ID_CURR"])
    payloads = frame_to_payloads(inputs.head(2000))
    rows = [np.ascontiguousarray(features[i : i + 1]) for i in range(len(features))]

    single = interleaved(
        {k: (lambda i, p=p: p(rows[i % len(rows)])) for k, p in predictors.items()}, n=args.n, rounds=args.rounds
    )
    scorers = {k: Scorer(_WithPredict(model, p)) for k, p in predictors.items()}
    scorers["no_model"] = Scorer(_WithPredict(model, lambda x: np.zeros(len(x))))
    path = interleaved(
        {k: (lambda i, s=s: s.score(payloads[i % len(payloads)])) for k, s in scorers.items()},
        n=args.n,
        rounds=args.rounds,
    )
    batch = batch_rates(predictors, features[: args.batch], max(3, args.rounds))

    agree = {
        "none": agreement(
            predictors, build_features(encode_frame(production_stream(args.agreement_rows, seed=2024))), model.threshold
        )
    }
    for scenario in ("new_category", "bureau_outage"):
        if args.drift_rows:
            drifted = production_stream(args.drift_rows, seed=2025, scenario=scenario)
            agree[scenario] = agreement(predictors, build_features(encode_frame(drifted)), model.threshold)
    try:
        probes = run_probes(list(predictors), work_dir, args.probe_repeats) if args.probe_repeats else {}
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)  # the compiled library and the tl2cgen build files

    results = {
        "trees": model.booster.num_trees(),
        "features": model.booster.num_feature(),
        "threshold": model.threshold,
        "threads": args.threads,
        "load_before": load_before,
        "load_after": round(os.getloadavg()[0], 2),
        "single": single,
        "request_path": path,
        "batch_rows_per_s": batch,
        "agreement": agree,
        "probes": probes,
        "build_s": build_s,
        "unavailable": unavailable,
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
    }
    print_report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


class _WithPredict:
    """The loaded ScoringModel with another probability function in place of `predict`."""

    def __init__(self, model: Any, predict: Callable[[Any], Any]):
        self._model, self.predict = model, predict

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


if __name__ == "__main__":
    sys.exit(main())
