"""The Gradio doors of `make bench` against REST, interleaved round by round on one server.

Every door gets the same payloads with `httpx` (the client `gradio_client` itself uses): REST
`/api/v1/score`, the plain Gradio run route (`POST /gradio_api/run/predict`, answer in the body), the
call + SSE route (`POST /gradio_api/call/predict`, then `GET` its event stream), and
`gradio_client.Client.predict`. Rounds alternate the doors, so a burst of load on the shared machine hits
all of them and the ratios to REST hold even when the absolute numbers move.

`gradio_client` waits for its answer by polling a local queue every 50 ms (`time.sleep(0.05)` in
`gradio_client/utils.py`), on the client. The same calls with that sleep cut to 1 ms (here only, for
the measurement) show how much of its latency is that floor and how much is the server.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np

REST = "REST /api/v1/score, httpx (same rounds)"
RUN = "Gradio run route /gradio_api/run/predict, httpx"
CALL = "Gradio call + SSE /gradio_api/call/predict, httpx"
CLIENT = "gradio_client.predict"
CLIENT_FAST_POLL = "gradio_client.predict, its 50 ms poll cut to 1 ms"
CLIENT_POLL_S = 0.05
CPU_MS = "server CPU ms per call, in the order of the doors"
BEFORE = "before: "  # a baseline server's doors, measured in the same rounds (--baseline)


@contextlib.contextmanager
def _short_client_poll() -> Iterator[None]:
    """gradio_client's own `time.sleep(0.05)` poll, made 1 ms: to measure what the poll costs."""
    import gradio_client.utils as client_utils

    real = client_utils.time

    class _Time:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        @staticmethod
        def sleep(seconds: float) -> None:
            real.sleep(0.001 if seconds == CLIENT_POLL_S else seconds)

    client_utils.time = _Time()  # type: ignore[assignment]
    try:
        yield
    finally:
        client_utils.time = real


def server_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 10 ms ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def gradio_doors(
    url: str,
    payloads: list[dict[str, Any]],
    *,
    n: int,
    pid: int | None = None,
    rounds: int = 10,
    baseline: tuple[str, int] | None = None,
) -> dict[str, np.ndarray]:
    """Latency (ms) of each door; the gradio_client rows get a tenth of the calls (each takes ~50+ ms).

    With the server's `pid`, the server CPU time each door used is kept too (`CPU_MS`): unlike latency,
    it barely moves when other jobs share the cores, so its ratios hold on a busy machine. With a
    `baseline` server (url, pid) its doors run in the same rounds, named `BEFORE` + door.
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no usage pings from the clients
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    with contextlib.ExitStack() as stack:
        doors = _doors(url, payloads, n=n, pid=pid, stack=stack)
        if baseline is not None:
            before = _doors(baseline[0], payloads, n=n, pid=baseline[1], stack=stack)
            doors.update({BEFORE + name: door for name, door in before.items()})
        return _interleaved(doors, rounds=rounds)


Door = tuple[Callable[[int], None], int, int | None]  # call i, calls in all, server pid


def _doors(
    url: str, payloads: list[dict[str, Any]], *, n: int, pid: int | None, stack: contextlib.ExitStack
) -> dict[str, Door]:
    from gradio_client import Client

    json_type = {"content-type": "application/json"}
    rest_bodies = [httpx.Request("POST", "/", json=p).content for p in payloads]
    gradio_bodies = [httpx.Request("POST", "/", json={"data": [p, False]}).content for p in payloads]
    http = stack.enter_context(httpx.Client(base_url=url, timeout=30))
    client, fast_client = (Client(url, verbose=False, analytics_enabled=False) for _ in range(2))
    stack.callback(client.close)
    stack.callback(fast_client.close)

    def rest(i: int) -> None:
        http.post("/api/v1/score", content=rest_bodies[i % len(payloads)], headers=json_type).raise_for_status()

    def run(i: int) -> None:
        answer = http.post("/gradio_api/run/predict", content=gradio_bodies[i % len(payloads)], headers=json_type)
        answer.raise_for_status()

    def call(i: int) -> None:
        body = gradio_bodies[i % len(payloads)]
        event = http.post("/gradio_api/call/predict", content=body, headers=json_type).json()
        text = http.get(f"/gradio_api/call/predict/{event['event_id']}").text
        if "event: complete" not in text:
            raise RuntimeError(text[:300])

    def predict(i: int) -> None:
        client.predict(payloads[i % len(payloads)], False, api_name="/predict")

    def predict_fast_poll(i: int) -> None:
        with _short_client_poll():
            fast_client.predict(payloads[i % len(payloads)], False, api_name="/predict")

    return {
        REST: (rest, n, pid),
        RUN: (run, n, pid),
        CALL: (call, n, pid),
        CLIENT: (predict, max(n // 10, 20), pid),
        CLIENT_FAST_POLL: (predict_fast_poll, max(n // 10, 20), pid),
    }


def _interleaved(doors: dict[str, Door], *, rounds: int) -> dict[str, np.ndarray]:
    for fn, _, _ in doors.values():
        for i in range(10):
            fn(i)
    times: dict[str, list[float]] = {name: [] for name in doors}
    cpu = dict.fromkeys(doors, 0.0)
    for r in range(rounds):
        for name, (fn, total, pid) in doors.items():
            per_round = max(total // rounds, 1)
            before = server_cpu_s(pid) if pid else 0.0
            for i in range(r * per_round, (r + 1) * per_round):
                started = time.perf_counter()
                fn(i)
                times[name].append((time.perf_counter() - started) * 1000)
            cpu[name] += server_cpu_s(pid) - before if pid else 0.0
    result = {name: np.array(values) for name, values in times.items()}
    if all(pid for _, _, pid in doors.values()):
        result[CPU_MS] = np.array([cpu[name] / len(times[name]) * 1000 for name in doors])
    return result


def print_ratios(doors: dict[str, np.ndarray]) -> dict[str, float]:
    """The table of section 2b; returns each door's p50 ratio to REST (and `cpu <door>`: its CPU ratio).

    A baseline's doors (`BEFORE`) get their own table, each ratio to the baseline's own REST.
    """
    names = [name for name in doors if name != CPU_MS]
    cpu = dict(zip(names, doors[CPU_MS], strict=True)) if CPU_MS in doors else {}
    ratios: dict[str, float] = {}
    for prefix in ("", BEFORE) if any(name.startswith(BEFORE) for name in names) else ("",):
        own = [name for name in names if name.startswith(BEFORE) == bool(prefix)]
        if prefix:
            print("\n  the baseline server (--baseline), same rounds:\n")
        ratios.update(_table(doors, own, cpu, rest=prefix + REST))
    floor = np.percentile(doors[CLIENT], 50) - np.percentile(doors[CLIENT_FAST_POLL], 50)
    print(f"\n  gradio_client's 50 ms poll adds {floor:.1f} ms to its p50 (client side; the server cannot remove it)")
    return ratios


def _table(doors: dict[str, np.ndarray], names: list[str], cpu: dict[str, float], *, rest: str) -> dict[str, float]:
    rest_p50 = float(np.percentile(doors[rest], 50))
    ratios = {name: float(np.percentile(doors[name], 50)) / rest_p50 for name in names}
    ratios.update({f"cpu {name}": cpu[name] / cpu[rest] for name in names if cpu})
    print(
        f"| {'door (httpx, same server, rounds interleaved)':<60} | {'p50 ms':>8} | {'p99 ms':>8} | {'x REST':>7} |"
        f" {'server CPU ms':>13} | {'x REST':>7} |"
    )
    print(f"|{'-' * 62}|{'-' * 10}|{'-' * 10}|{'-' * 9}|{'-' * 15}|{'-' * 9}|")
    for name in names:
        p50, p99 = np.percentile(doors[name], 50), np.percentile(doors[name], 99)
        cpu_cells = f"{cpu[name]:13.3f} | {ratios[f'cpu {name}']:6.1f}x" if cpu else f"{'-':>13} | {'-':>7}"
        print(f"| {name:<60} | {p50:8.3f} | {p99:8.3f} | {ratios[name]:6.1f}x | {cpu_cells} |")
    return ratios


def main() -> None:
    """Only this section, on a server of its own; `--off` also measures one with GRADIO_FAST_PATH=false.

    `--baseline DIR` serves a second server from another checkout (e.g. `git worktree add /tmp/before
    <commit>`) and times its doors in the same rounds: a before/after that load cannot skew.
    """
    import argparse
    import sys
    import tempfile

    from scoring.payloads import frame_to_payloads
    from scoring.synth.generate import production_stream
    from tests.server import start_server

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--n", type=int, default=1000, help="calls per httpx door (gradio_client: a tenth)")
    parser.add_argument("--off", action="store_true", help="also a server with service/ui/fastpath.py off")
    parser.add_argument("--baseline", type=Path, help="a checkout whose app.py is timed in the same rounds")
    args = parser.parse_args()
    rows = production_stream(300, seed=11).drop(columns=["TARGET", "SK_ID_CURR"])
    payloads = frame_to_payloads(rows.astype(object).where(rows.notna(), None))
    env = {"LOG_LEVEL": "WARNING", "ALERT_EVERY_S": "3600"}
    for fast in ("true", "false") if args.off else ("true",):
        with contextlib.ExitStack() as servers:
            server = start_server(Path(tempfile.mkdtemp(prefix="gradio-doors-")), env={**env, "GRADIO_FAST_PATH": fast})
            servers.callback(server.stop)
            baseline = None
            if args.baseline:
                command = [sys.executable, str(args.baseline.resolve() / "app.py")]
                before = start_server(Path(tempfile.mkdtemp(prefix="gradio-doors-before-")), env=env, command=command)
                servers.callback(before.stop)
                baseline = (before.url, before.pid)
            doors = gradio_doors(server.url, payloads, n=args.n, pid=server.pid, baseline=baseline)
        print(f"\nGRADIO_FAST_PATH={fast} (load average {os.getloadavg()[0]:.1f})\n")
        print_ratios(doors)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
