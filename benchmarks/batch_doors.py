"""The batch doors on one 10,000-row body each (JSON, CSV, Parquet, Arrow) against `mlflow models serve`.

Every round posts the same rows to each door in turn (mlflow's `/invocations` included), so a burst of
load from elsewhere on the machine hits all of them alike; the figure is the median round. Each call
also records the CPU seconds the serving process (and its children: mlflow's workers) spent on it,
read from /proc, until that process is quiet again: on a busy machine wall time stretches, CPU time
per 10,000 rows much less. The next call waits for that quiet, so no door pays for another's tail.

A service door's rows are validated, scored and logged before it answers; mlflow's only scored. The
CSV and Parquet doors are measured answering JSON and answering in their own format (`Accept`); the
targets take the slower of the two.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from scoring.tables import ARROW, CSV, PARQUET

MLFLOW = "mlflow models serve /invocations"


@dataclass(frozen=True, slots=True)
class Door:
    port: int
    pid: int
    path: str
    body: bytes
    content_type: str
    accept: str = "application/json"  # the answer's format: JSON (the default) or the body's own


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of `pid` and every live descendant (Linux /proc, 10 ms ticks)."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        child = int(stat.parent.name)
        parents[child], ticks[child] = int(fields[1]), int(fields[11]) + int(fields[12])
    tree, grew = {pid}, True
    while grew:
        grew = False
        for child, parent in parents.items():
            if parent in tree and child not in tree:
                tree.add(child)
                grew = True
    return sum(ticks.get(p, 0) for p in tree) / 100.0


def _post(port: int, door: Door) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.connect()
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        headers = {"content-type": door.content_type, "accept": door.accept}
        connection.request("POST", door.path, body=door.body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"{door.path} ({door.content_type}): {response.status} {data[:200]!r}")
    finally:
        connection.close()


def table_bodies(payloads: list[dict[str, Any]]) -> dict[str, tuple[bytes, str]]:
    """The same applications as a JSON batch, a CSV, a Parquet file and an Arrow IPC stream."""
    frame = pd.DataFrame(payloads)
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    stream = io.BytesIO()
    with pa.ipc.new_stream(stream, arrow.schema) as writer:
        writer.write_table(arrow)
    return {
        "JSON": (json.dumps({"applications": payloads}).encode(), "application/json"),
        "CSV": (frame.to_csv(index=False).encode(), CSV),
        "Parquet": (frame.to_parquet(index=False), PARQUET),
        "Arrow": (stream.getvalue(), ARROW),
    }


def _settle(pid: int, *, quiet_s: float = 0.1, limit_s: float = 3.0) -> None:
    """Wait until `pid`'s process tree spends (almost) no CPU for `quiet_s`, at most `limit_s`.

    A server may go on working after it answered (freeing a 10,000-row frame, a worker's bookkeeping):
    mlflow's process does, for tens of milliseconds, on the core the next door's call then shares. The
    next call starts on a quiet machine, and the CPU a call cost includes that tail.
    """
    os.sync()  # the log bytes it wrote (35 MB for 10,000 JSON lines): their writeback is the kernel's CPU
    deadline = time.monotonic() + limit_s
    last = tree_cpu_s(pid)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = tree_cpu_s(pid)
        if now - last < 0.02:  # a tick or two: the idle service's own timers
            return
        last = now


def batch_doors(doors: dict[str, Door], *, rows: int, rounds: int = 7) -> dict[str, dict[str, float]]:
    """Per door: median wall rows/s, best wall rows/s, and server CPU seconds per 10,000 rows (median)."""
    walls: dict[str, list[float]] = {name: [] for name in doors}
    cpus: dict[str, list[float]] = {name: [] for name in doors}
    for door in doors.values():  # one warm-up call each: imports, first allocations, page cache
        _post(door.port, door)
    for _ in range(rounds):
        for name, door in doors.items():
            cpu = tree_cpu_s(door.pid)
            started = time.perf_counter()
            _post(door.port, door)
            walls[name].append(time.perf_counter() - started)
            _settle(door.pid)
            cpus[name].append(tree_cpu_s(door.pid) - cpu)
    return {
        name: {
            "rows_per_s": rows / float(np.median(walls[name])),
            "best_rows_per_s": rows / min(walls[name]),
            "cpu_s_per_10k": float(np.median(cpus[name])) * 10_000 / rows,
        }
        for name in doors
    }


def print_batch_doors(figures: dict[str, dict[str, float]]) -> dict[str, float]:
    """The table of `batch_doors`, with each door's ratio to mlflow serve (wall and CPU); the ratios."""
    base = figures.get(MLFLOW)
    print(
        f"| {'door (10k-row body)':<56} | {'rows/s':>9} | {'best':>9} | {'CPU s/10k':>9} "
        f"| {'vs mlflow':>9} | {'CPU vs mlflow':>13} |"
    )
    print(f"|{'-' * 58}|{'-' * 11}|{'-' * 11}|{'-' * 11}|{'-' * 11}|{'-' * 15}|")
    ratios: dict[str, float] = {}
    for name, f in figures.items():
        wall = f["rows_per_s"] / base["rows_per_s"] if base else None
        cpu = base["cpu_s_per_10k"] / f["cpu_s_per_10k"] if base and f["cpu_s_per_10k"] > 0 else None
        if wall is not None:
            ratios[name] = wall
        shown_wall = f"{wall:8.2f}x" if wall is not None else "        -"
        shown_cpu = f"{cpu:12.2f}x" if cpu is not None else "            -"
        print(
            f"| {name:<56} | {f['rows_per_s']:9,.0f} | {f['best_rows_per_s']:9,.0f} | {f['cpu_s_per_10k']:9.3f} "
            f"| {shown_wall} | {shown_cpu} |"
        )
    return ratios
