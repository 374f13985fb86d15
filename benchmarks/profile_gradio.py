"""Where a Gradio API call's server time goes: py-spy samples the server while one client drives one door.

    python -m benchmarks.profile_gradio                       # the run route, fast path on, 20 s
    python -m benchmarks.profile_gradio --door call           # /gradio_api/call/predict + its SSE stream
    python -m benchmarks.profile_gradio --off                 # GRADIO_FAST_PATH=false: Gradio's own costs

It starts `python app.py` (tests/server.py), drives the door from one httpx client in a thread, records
py-spy's raw stacks of the whole server process for `--seconds`, drops the idle samples (the event loop
waiting in select, worker threads waiting for work) and gives each busy sample to the first stage met
walking its stack from the leaf, so a stage's share excludes the stages it calls.
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
from pathlib import Path

import httpx

IDLE_LEAVES = ("Runner.run (asyncio", "Condition.wait", "select (selectors", "EpollSelector.select", "wait (threading")
# (stage, a substring of one of its frames): the innermost frame that matches decides
STAGES = (
    ("scoring (ScoringService.score: validation, features, model, log row)", ("ScoringService.score",)),
    ("Gradio session state (SessionState, block configs)", ("SessionState", "service/ui/fastpath.py")),
    ("Gradio event processing (process_api: pre/postprocess, special_args)", ("Blocks.process_api",)),
    ("Gradio queue (push, process_events, SSE stream)", ("gradio/queueing.py", "sse_stream")),
    ("Gradio route glue (call_process_api, request objects, root URL)", ("gradio/route_utils.py", "gradio/routes.py")),
    ("FastAPI dependencies (body model, login check, current user)", ("solve_dependencies",)),
    ("routing (matching the path against the Gradio routes)", ("_match (", "matches (")),
    ("response send (socket write)", ("RequestResponseCycle.send",)),
)
FRAMEWORK = "HTTP parsing + ASGI middleware (uvicorn, CORS, Brotli, errors)"
FRAMEWORK_FILES = ("uvicorn", "starlette", "fastapi", "gradio")


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


def _drive(url: str, door: str, bodies: list[bytes], stop: threading.Event) -> None:
    json_type = {"content-type": "application/json"}
    with httpx.Client(base_url=url, timeout=30) as http:
        i = 0
        while not stop.is_set():
            body, i = bodies[i % len(bodies)], i + 1
            if door == "run":
                http.post("/gradio_api/run/predict", content=body, headers=json_type).raise_for_status()
            else:
                event = http.post("/gradio_api/call/predict", content=body, headers=json_type).json()
                http.get(f"/gradio_api/call/predict/{event['event_id']}").raise_for_status()


def main() -> None:
    from scoring.payloads import frame_to_payloads
    from scoring.synth.generate import production_stream
    from tests.server import start_server

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--door", choices=("run", "call"), default="run")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--off", action="store_true", help="GRADIO_FAST_PATH=false")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = production_stream(300, seed=11).drop(columns=["TARGET", "SK_ID_CURR"])
    bodies = [
        json.dumps({"data": [p, False]}).encode()
        for p in frame_to_payloads(rows.astype(object).where(rows.notna(), None))
    ]
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
