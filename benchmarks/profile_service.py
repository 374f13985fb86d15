"""Profile the running service under REST load: throughput at a fixed concurrency, and where the time goes.

    python -m benchmarks.profile_service                  # 20 s per phase, concurrency 16
    python -m benchmarks.profile_service --seconds 60     # steadier numbers on a quiet machine
    python -m benchmarks.profile_service --json out.json --prof out.prof   # keep the raw results

It starts `python app.py` for real (tests/server.py, as the tests do: free port on 127.0.0.1, its
own prediction log folder) and drives POST /api/v1/score with `production_stream` applications from
`--concurrency` keep-alive connections. The client is a few lines of asyncio on raw sockets, so that
the load generator, which shares the machine's cores with the server, costs as little as possible.

Phase 1, throughput: requests/s, errors, client-side p50/p99, and the server's own CPU time per
request (from /proc), which says what one core could serve whatever else runs on the machine. Every
acknowledged prediction must then be in the prediction log.
Phase 2, sampling profile: py-spy samples the same server's main thread (the event loop, where every
REST request is handled) during a second load window; each sample is assigned to a stage.
Phase 3, deterministic profile: a second server runs under cProfile, switched on (SIGUSR1) after the
warm-up and dumped (SIGUSR2) after the load window; cumulative times are assigned to the same stages.
cProfile slows down Python-heavy code more than C code, so its shares lean towards validation and
row building; py-spy's shares are the ones to quote, cProfile's call counts show why.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.server import ROOT, Server, start_server

SCORE = "/api/v1/score"

# Stages of a REST request, each named by the functions that run it: (stage, file suffix, functions).
# A py-spy sample belongs to the first of these met walking its stack from the root; cProfile adds
# up their cumulative times. None of them calls another, so nothing is counted twice. The token check
# (service/api/auth.py) runs as a route dependency before the handler, so it falls in the framework share.
STAGES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("read body", "service/api/body.py", ("read_body",)),
    ("JSON decoding", "service/api/body.py", ("decode_json",)),
    ("validation + raw row (validate_encoded)", "scoring/validation.py", ("validate_encoded",)),
    ("features (build_features)", "scoring/features.py", ("build_features",)),
    ("model call (ScoringModel.predict)", "scoring/model.py", ("predict",)),
    ("range warnings (Scorer._outside, _warnings)", "scoring/predict.py", ("_outside", "_warnings")),
    ("log: build_prediction_row", "monitoring/log/records.py", ("build_prediction_row",)),
    ("log: append_many (orjson + write)", "monitoring/log/writer.py", ("append_many",)),
    ("metrics", "service/metrics.py", ("observe_latency", "count_prediction")),
    ("request id (uuid4)", "uuid.py", ("uuid4",)),
    ("response: Score.public", "scoring/predict.py", ("public",)),
    ("response: JSONResponse encoding", "starlette/responses.py", ("render", "init_headers")),
)
HANDLER = ("service/api/scoring_routes.py", "score")
HANDLER_OTHER = "handler glue (Score, dicts, timing)"
OUTSIDE = "HTTP/ASGI + framework (uvicorn, starlette, FastAPI, gradio mount)"


# ------------------------------------------------------------------------------------------- server


def start_profiled_server(folder: Path, profile_to: Path) -> Server:
    """The service under the cProfile switch (see `serve_profiled`)."""
    command = [sys.executable, "-m", "benchmarks.profile_service", "--serve-profiled", str(profile_to)]
    return start_server(folder, command=command)


def serve_profiled(out: Path) -> int:
    """Run app.py's main with a profiler that SIGUSR1 switches on and SIGUSR2 switches off and dumps."""
    import cProfile

    sys.path.insert(0, str(ROOT))
    import app

    profiler = cProfile.Profile()

    def stop_and_dump(*_: object) -> None:
        profiler.disable()
        profiler.dump_stats(str(out))

    signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())
    signal.signal(signal.SIGUSR2, stop_and_dump)
    return app.main()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------------------------------- client


@dataclass
class Load:
    seconds: float = 0.0
    ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0

    def percentile(self, q: float) -> float:
        values = sorted(self.latencies_ms)
        return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))] if values else float("nan")

    def summary(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 2),
            "requests_ok": self.ok,
            "errors": dict(self.errors),
            "requests_per_s": round(self.ok / self.seconds, 1) if self.seconds else None,
            "p50_ms": round(self.percentile(50), 2),
            "p99_ms": round(self.percentile(99), 2),
            "server_cpu_ms_per_request": round(1000 * self.server_cpu_s / self.ok, 3) if self.ok else None,
            "one_core_capacity_rps": round(self.ok / self.server_cpu_s) if self.server_cpu_s else None,
            "client_cpu_ms_per_request": round(1000 * self.client_cpu_s / self.ok, 3) if self.ok else None,
        }


def request_bytes(port: int, payloads: list[dict[str, Any]]) -> list[bytes]:
    out = []
    for payload in payloads:
        body = json.dumps(payload).encode()
        head = (
            f"POST {SCORE} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        out.append(head + body)
    return out


async def _worker(port: int, requests: list[bytes], offset: int, deadline: float, load: Load) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset
    try:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            writer.write(requests[i % len(requests)])
            i += 1
            try:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                load.errors[type(exc).__name__] += 1
                return
            status = head[9:12]
            if status != b"200" or b'"request_id"' not in body:
                load.errors[f"HTTP {status.decode(errors='replace')}"] += 1
                continue
            load.latencies_ms.append((time.perf_counter() - started) * 1000)
            load.ok += 1
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def drive(server: Server, requests: list[bytes], *, seconds: float, concurrency: int) -> Load:
    """`concurrency` connections send requests back to back for `seconds`; CPU of both sides measured."""
    load = Load()
    port = int(server.url.rsplit(":", 1)[1])

    async def run() -> None:
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(_worker(port, requests, n * 97, deadline, load) for n in range(concurrency)))

    cpu_before, client_before = cpu_seconds(server.pid), time.process_time()
    started = time.perf_counter()
    asyncio.run(run())
    load.seconds = time.perf_counter() - started
    load.server_cpu_s = cpu_seconds(server.pid) - cpu_before
    load.client_cpu_s = time.process_time() - client_before
    return load


def logged_predictions(folder: Path) -> int:
    return sum(sum(1 for _ in path.open("rb")) for path in (folder / "predictions").rglob("predictions-*.jsonl"))


# --------------------------------------------------------------------------------- stage attribution


def _stage_of_frame(function: str, filename: str) -> str | None:
    for stage, suffix, functions in STAGES:
        if function in functions and filename.endswith(suffix):
            return stage
    return None


def _package(filename: str) -> str:
    """site-packages/<name>/... -> name; the standard library -> its module; our code -> its folder."""
    parts = Path(filename).parts
    if "site-packages" in parts and parts.index("site-packages") + 1 < len(parts):
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    if str(ROOT) in filename:
        return Path(filename).relative_to(ROOT).parts[0]
    return Path(filename).stem


def py_spy_shares(collapsed: Path) -> tuple[dict[str, float], int, dict[str, float]]:
    """Share of the main thread's active samples per stage, from py-spy's raw (collapsed) output.

    Also the split of the samples outside the handler by the package of their innermost frame.
    """
    counts: Counter[str] = Counter()
    outside: Counter[str] = Counter()
    for line in collapsed.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        frames = stack.split(";")
        if not frames[0].endswith("MainThread"):  # "thread (<tid>): <name>" comes first
            continue
        stage, in_handler = OUTSIDE, False
        for frame in frames[1:]:
            qualified, _, where = frame.partition(" (")
            function = qualified.rsplit(".", 1)[-1]  # py-spy names methods Class.method
            filename = where.rsplit(":", 1)[0]
            if function == HANDLER[1] and filename.endswith(HANDLER[0]):
                in_handler, stage = True, HANDLER_OTHER
                continue
            if in_handler and (found := _stage_of_frame(function, filename)):
                stage = found
                break
        counts[stage] += int(number)
        if stage == OUTSIDE and len(frames) > 1:
            outside[_package(frames[-1].partition(" (")[2].rsplit(":", 1)[0])] += int(number)
    total = sum(counts.values()) or 1
    return (
        {stage: n / total for stage, n in counts.items()},
        sum(counts.values()),
        {package: n / total for package, n in outside.most_common(8)},
    )


def cprofile_shares(prof: Path) -> tuple[dict[str, float], float, pstats.Stats]:
    """Share of the main thread's busy time per stage (cumulative times of the stage functions)."""
    stats = pstats.Stats(str(prof))
    table = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_, _, tt, _, _) in table.values())
    idle = sum(
        tt
        for (filename, _, function), (_, _, tt, _, _) in table.items()
        if filename == "~" and ("epoll" in function or "select" in function)
    )
    busy = total - idle
    cumulative: Counter[str] = Counter()
    handler = 0.0
    for (filename, _, function), (_, _, _, ct, _) in table.items():
        if function == HANDLER[1] and filename.endswith(HANDLER[0]):
            handler += ct
        elif stage := _stage_of_frame(function, filename):
            cumulative[stage] += ct
    shares = {stage: t / busy for stage, t in cumulative.items()}
    shares[HANDLER_OTHER] = (handler - sum(cumulative.values())) / busy
    shares[OUTSIDE] = (busy - handler) / busy
    return shares, busy, stats


# ------------------------------------------------------------------------------------------- report


def print_report(results: dict[str, Any], stats: pstats.Stats | None, top: int) -> None:
    load = results["throughput"]
    print(
        f"\nREST {SCORE}, concurrency {results['concurrency']}, {load['seconds']} s "
        f"(load average {results['load_before']} -> {results['load_after']} on {os.cpu_count()} shared cores)\n"
    )
    print(
        "| requests/s | errors | p50 ms | p99 ms | server CPU ms/request | one core could serve, req/s "
        "| client CPU ms/request | logged / acknowledged |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {load['requests_per_s']:,} | {sum(load['errors'].values())} | {load['p50_ms']} | {load['p99_ms']} "
        f"| {load['server_cpu_ms_per_request']} | {load['one_core_capacity_rps']:,} "
        f"| {load['client_cpu_ms_per_request']} | {results['logged']} / {results['acknowledged']} |"
    )
    target = "met" if load["requests_per_s"] >= 1000 and not load["errors"] else "NOT met"
    print(f"\nTarget >= 1,000 scored requests/s with no error: {target} on this machine now.")
    spy, prof = results.get("py_spy_shares", {}), results.get("cprofile_shares", {})
    if spy or prof:
        stages = [s for s, _, _ in STAGES] + [HANDLER_OTHER, OUTSIDE]
        stages.sort(key=lambda s: -(spy.get(s) or prof.get(s) or 0))
        print(
            f"\nShare of the event loop's busy time per stage (py-spy: {results.get('py_spy_samples', 0):,} samples; "
            f"cProfile: {results.get('cprofile_busy_s', 0):.1f} s busy)\n"
        )
        print("| stage | py-spy share | cProfile share |")
        print("|---|---:|---:|")
        for stage in stages:
            a = f"{100 * spy[stage]:.1f}%" if stage in spy else "-"
            b = f"{100 * prof[stage]:.1f}%" if stage in prof else "-"
            print(f"| {stage} | {a} | {b} |")
    if results.get("py_spy_outside_by_package"):
        print("\nOutside the handler, by the package of the innermost frame (py-spy, share of all busy samples):\n")
        print("| package | share |")
        print("|---|---:|")
        for package, share in results["py_spy_outside_by_package"].items():
            print(f"| {package} | {100 * share:.1f}% |")
    if results.get("cprofile_window"):
        window = results["cprofile_window"]
        print(
            f"\nUnder cProfile the server answered {window['requests_per_s']:,} requests/s "
            f"({window['requests_ok']:,} requests, errors {window['errors'] or 0})."
        )
    if stats is not None:
        print(f"\nTop {top} functions by cumulative time under cProfile (load window only):\n")
        stats.sort_stats("cumulative").print_stats(top)


# ---------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20, help="length of each load window")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--no-py-spy", action="store_true")
    parser.add_argument("--no-cprofile", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--prof", type=Path, help="keep the cProfile stats here")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--serve-profiled", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_profiled:
        return serve_profiled(args.serve_profiled)

    sys.path.insert(0, str(ROOT))
    from scoring.synth.generate import production_stream

    frame = production_stream(2_000, seed=321).drop(columns=["TARGET", "SK_ID_CURR"])
    payloads = [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items() if v is not None}
        for row in frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    ]
    results: dict[str, Any] = {"concurrency": args.concurrency, "load_before": round(os.getloadavg()[0], 2)}
    stats = None
    tmp = Path(tempfile.mkdtemp(prefix="profile-service-"))
    try:
        server = start_server(tmp / "plain")
        try:
            requests = request_bytes(int(server.url.rsplit(":", 1)[1]), payloads)
            warm = drive(server, requests, seconds=args.warmup, concurrency=4)
            load = drive(server, requests, seconds=args.seconds, concurrency=args.concurrency)
            results["throughput"] = load.summary()
            py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
            if not args.no_py_spy and Path(py_spy).exists():
                collapsed = tmp / "py-spy.txt"
                sampler = subprocess.Popen(
                    [
                        py_spy,
                        "record",
                        "--pid",
                        str(server.pid),
                        "--rate",
                        "500",
                        "--duration",
                        str(int(args.seconds)),
                        "--format",
                        "raw",
                        "--threads",
                        "--full-filenames",
                        "--nonblocking",
                        "--output",
                        str(collapsed),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(1)
                spied = drive(server, requests, seconds=args.seconds, concurrency=args.concurrency)
                sampler.wait(60)
                if collapsed.exists():
                    (results["py_spy_shares"], results["py_spy_samples"], results["py_spy_outside_by_package"]) = (
                        py_spy_shares(collapsed)
                    )
                    results["py_spy_window"] = spied.summary()
        finally:
            server.stop()
        acknowledged = warm.ok + load.ok + (spied.ok if "py_spy_window" in results else 0)
        results["acknowledged"], results["logged"] = acknowledged, logged_predictions(tmp / "plain")

        if not args.no_cprofile:
            prof = args.prof or tmp / "server.prof"
            profiled = start_profiled_server(tmp / "profiled", prof)
            try:
                drive(profiled, requests, seconds=args.warmup, concurrency=4)
                profiled.process.send_signal(signal.SIGUSR1)
                results["cprofile_window"] = drive(
                    profiled, requests, seconds=args.seconds, concurrency=args.concurrency
                ).summary()
                profiled.process.send_signal(signal.SIGUSR2)
                deadline = time.monotonic() + 30
                while not prof.exists() and time.monotonic() < deadline:
                    time.sleep(0.2)
                time.sleep(1)  # let the dump finish
            finally:
                profiled.stop()
            shares, busy, stats = cprofile_shares(prof)
            results["cprofile_shares"], results["cprofile_busy_s"] = shares, busy
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results["load_after"] = round(os.getloadavg()[0], 2)
    print_report(results, stats, args.top)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    failed = results["throughput"]["errors"] or results["logged"] != results["acknowledged"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
