"""Where a Gradio API call's server time goes: py-spy samples the server while one client drives one door.

    python -m benchmarks.profile_gradio                       # the run route, fast path on, 20 s
    python -m benchmarks.profile_gradio --door call           # /gradio_api/call/predict + its SSE stream
    python -m benchmarks.profile_gradio --off                 # GRADIO_FAST_PATH=false: Gradio's own costs
    python -m benchmarks.profile_gradio --door call --cpu     # CPU ms per call and stage (cProfile, thread CPU)

It starts `python app.py` (tests/server.py), drives the door from one httpx client in a thread, records
py-spy's raw stacks of the whole server process for `--seconds`, drops the idle samples (the event loop
waiting in select, worker threads waiting for work) and gives each busy sample to the first stage met
walking its stack from the leaf, so a stage's share excludes the stages it calls.

On a machine shared with other jobs py-spy also counts the time the server waits, runnable, for a core
(it piles up on the socket write that wakes the client). `--cpu` measures CPU instead: the server runs
under cProfile timed by its event-loop thread's CPU clock (`time.thread_time`), switched on after the
warm-up, and each stage gets its CPU milliseconds per call (`CPU_STAGES`); cProfile's own overhead
inflates every figure by a similar factor, shown against the process's /proc CPU per call.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

IDLE_LEAVES = ("Runner.run (asyncio", "Condition.wait", "select (selectors", "EpollSelector.select", "wait (threading")
# (stage, a substring of one of its frames): the innermost frame that matches decides
STAGES = (
    ("scoring (ScoringService.score: validation, features, model, log row)", ("ScoringService.score",)),
    ("Gradio session state (SessionState, block configs)", ("SessionState", "service/ui/fastpath.py")),
    ("Gradio event processing (process_api: pre/postprocess, special_args)", ("Blocks.process_api",)),
    ("Gradio queue (push, process_events, SSE stream)", ("gradio/queueing.py", "sse_stream", "ui/fastcall.py")),
    ("Gradio route glue (call_process_api, request objects, root URL)", ("gradio/route_utils.py", "gradio/routes.py")),
    ("FastAPI dependencies (body model, login check, current user)", ("solve_dependencies",)),
    ("routing (matching the path against the Gradio routes)", ("_match (", "matches (")),
    ("response send (socket write)", ("RequestResponseCycle.send",)),
)
FRAMEWORK = "HTTP parsing + ASGI middleware (uvicorn, CORS, Brotli, errors)"
FRAMEWORK_FILES = ("uvicorn", "starlette", "fastapi", "gradio")


# (stage, functions whose cumulative CPU it is, functions whose cumulative CPU it excludes): (file, name)
SCORE = [("service/scoring.py", "score")]
PROCESS_API = [("gradio/blocks.py", "process_api")]
CALL_API = [("gradio/route_utils.py", "call_process_api")]
PROCESS_EVENTS = [("gradio/queueing.py", "process_events")]
CPU_STAGES: tuple[tuple[str, list[tuple[str, str]], list[tuple[str, str]]], ...] = (
    ("scoring (ScoringService.score)", SCORE, []),
    ("Gradio event processing around it (process_api: pre/postprocess, special args)", PROCESS_API, SCORE),
    ("Gradio session state + request objects (call_process_api)", CALL_API, PROCESS_API),
    ("Gradio queue event task (process_events: messages, bookkeeping)", PROCESS_EVENTS, CALL_API),
    (
        "Gradio queue loop (waking, dispatching)",
        [("service/ui/fastcall.py", "_start_processing"), ("gradio/queueing.py", "start_processing")],
        [],
    ),
    ("POST handler (body models, queue push)", [("gradio/routes.py", "simple_predict_post")], []),
    (
        "GET handler + SSE generator (wait for the message, encode it)",
        [("gradio/routes.py", "simple_predict_get"), ("gradio/routes.py", "sse_stream")],
        [],
    ),
    ("FastAPI dependencies (login check, current user)", [("fastapi/dependencies/utils.py", "solve_dependencies")], []),
    ("routing (the path against ~80 Gradio routes)", [("fastapi/routing.py", "_match")], []),
    ("socket writes (uvicorn send)", [("uvicorn/protocols/http/httptools_impl.py", "send")], []),
)
CPU_REST = "HTTP parsing, ASGI middleware, asyncio, other"


def stage_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for stage, needles in STAGES:
            if any(n in frame for n in needles):
                return stage
    if any(f in frame for frame in frames for f in FRAMEWORK_FILES):
        return FRAMEWORK
    return "other (asyncio, threads, janitor, alert loop)"


def shares(raw: Path) -> dict[str, float]:
    """Stage -> share of the busy samples, from py-spy's `--format raw` output."""
    counts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        frames = stack.split(";")
        if not frames or any(leaf in frames[-1] for leaf in IDLE_LEAVES):
            continue
        counts[stage_of(frames)] += int(n)
    total = sum(counts.values()) or 1
    return {stage: n / total for stage, n in counts.most_common()}


def _drive(
    url: str, door: str, bodies: list[bytes], stop: threading.Event, on_call: Callable[[Any], None] | None = None
) -> None:
    json_type = {"content-type": "application/json"}
    with httpx.Client(base_url=url, timeout=30) as http:
        i = 0
        while not stop.is_set():
            body, i = bodies[i % len(bodies)], i + 1
            if door == "run":
                http.post("/gradio_api/run/predict", content=body, headers=json_type).raise_for_status()
            else:
                event = http.post("/gradio_api/call/predict", content=body, headers=json_type).json()
                text = http.get(f"/gradio_api/call/predict/{event['event_id']}").text
                if "event: complete" not in text:
                    raise RuntimeError(text[:300])
            if on_call is not None:
                on_call(None)


def serve_cpu_profiled(out: Path) -> int:
    """app.py's main under cProfile timed by the thread's CPU clock; SIGUSR1 switches it on, SIGUSR2 dumps."""
    import cProfile
    import signal

    from tests.server import ROOT

    sys.path.insert(0, str(ROOT))
    import app

    profiler = cProfile.Profile(time.thread_time)

    def dump(*_: object) -> None:
        profiler.disable()
        profiler.dump_stats(str(out))

    signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())
    signal.signal(signal.SIGUSR2, dump)
    return app.main()


def cpu_stages(prof: Path, calls: int) -> dict[str, float]:
    """CPU ms per call of each stage of `CPU_STAGES` (and the rest of the loop thread's CPU) from a dump."""
    import pstats

    stats = pstats.Stats(str(prof)).stats  # type: ignore[attr-defined]

    def cumulative(functions: list[tuple[str, str]]) -> float:
        return sum(
            value[3]
            for (file, _, name), value in stats.items()
            if any(file.endswith(f) and name == n for f, n in functions)
        )

    total = sum(value[2] for value in stats.values())  # every function's own time: the thread's CPU
    result = {stage: (cumulative(inside) - cumulative(outside)) / calls * 1000 for stage, inside, outside in CPU_STAGES}
    result[CPU_REST] = total / calls * 1000 - sum(result.values())
    return result


def _cpu_profile(args: argparse.Namespace, bodies: list[bytes]) -> None:
    import signal

    from benchmarks.gradio_doors import server_cpu_s
    from tests.server import start_server

    folder = Path(tempfile.mkdtemp(prefix="profile-gradio-cpu-"))
    prof = folder / "server.prof"
    command = [sys.executable, "-m", "benchmarks.profile_gradio", "--serve-cpu-profiled", str(prof)]
    env = {"LOG_LEVEL": "WARNING", "ALERT_EVERY_S": "3600", "GRADIO_FAST_PATH": "false" if args.off else "true"}
    server = start_server(folder, env=env, command=command)
    try:
        drive_n(server.url, args.door, bodies, 200)  # warm-up
        before = server_cpu_s(server.pid)
        server.process.send_signal(signal.SIGUSR1)
        calls = drive_n(server.url, args.door, bodies, args.calls)
        server.process.send_signal(signal.SIGUSR2)
        process_ms = (server_cpu_s(server.pid) - before) / args.calls * 1000
        deadline = time.monotonic() + 30
        while not prof.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)  # let the dump finish
    finally:
        server.stop()
    result = cpu_stages(prof, calls)
    print(
        f"\n{args.door} route, fast path {'off' if args.off else 'on'}, {calls} calls: event-loop thread CPU per call"
        f" under cProfile {sum(result.values()):.2f} ms (the process, /proc, under cProfile: {process_ms:.2f} ms)\n"
    )
    print("| stage | CPU ms per call | share |\n|---|---:|---:|")
    total = sum(result.values())
    for stage, ms in result.items():
        print(f"| {stage} | {ms:.3f} | {ms / total:.1%} |")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


def drive_n(url: str, door: str, bodies: list[bytes], n: int) -> int:
    """`n` calls of the door from one httpx client, one after the other."""
    stop = threading.Event()
    done = 0

    def count(_: Any) -> None:
        nonlocal done
        done += 1
        if done >= n:
            stop.set()

    _drive(url, door, bodies, stop, on_call=count)
    return done


def main() -> None:
    from scoring.payloads import frame_to_payloads
    from scoring.synth.generate import production_stream
    from tests.server import start_server

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--door", choices=("run", "call"), default="run")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--off", action="store_true", help="GRADIO_FAST_PATH=false")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--cpu", action="store_true", help="CPU ms per call and stage (cProfile) instead of py-spy")
    parser.add_argument("--calls", type=int, default=2000, help="calls profiled with --cpu")
    parser.add_argument("--serve-cpu-profiled", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_cpu_profiled:
        sys.exit(serve_cpu_profiled(args.serve_cpu_profiled))
    rows = production_stream(300, seed=11).drop(columns=["TARGET", "SK_ID_CURR"])
    bodies = [
        json.dumps({"data": [p, False]}).encode()
        for p in frame_to_payloads(rows.astype(object).where(rows.notna(), None))
    ]
    if args.cpu:
        _cpu_profile(args, bodies)
        return
    folder = Path(tempfile.mkdtemp(prefix="profile-gradio-"))
    env = {"LOG_LEVEL": "WARNING", "ALERT_EVERY_S": "3600", "GRADIO_FAST_PATH": "false" if args.off else "true"}
    server = start_server(folder, env=env)
    stop = threading.Event()
    driver = threading.Thread(target=_drive, args=(server.url, args.door, bodies, stop), daemon=True)
    try:
        driver.start()
        time.sleep(3)  # warm-up
        raw = folder / "py-spy.txt"
        py_spy = Path(sys.executable).with_name("py-spy")
        command = [str(py_spy), "record", "-p", str(server.pid), "-d", str(args.seconds), "-r", "250"]
        subprocess.run([*command, "-f", "raw", "-o", str(raw), "--nonblocking"], check=True, capture_output=True)  # noqa: S603
    finally:
        stop.set()
        driver.join(10)
        server.stop()
    result = shares(raw)
    print(f"\n{args.door} route, fast path {'off' if args.off else 'on'}: share of the server's busy samples\n")
    print("| stage | share |\n|---|---:|")
    for stage, share in result.items():
        print(f"| {stage} | {share:.1%} |")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
