"""The log summary of the "Production data" view: newest rows, shards with their row counts, last push.

Reads only what it must: the tails of the newest shards, and for row counts the bytes appended since
the last count (shards only grow).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq

from monitoring.log.parquet import row_count
from monitoring.log.records import PUSH_GLOBS, format_ts, is_parquet, shard_kind, shard_paths
from monitoring.sync.ledger import PushState


@dataclass(frozen=True, slots=True)
class ShardInfo:
    path: str
    rows: int
    bytes: int


@dataclass(frozen=True, slots=True)
class LogSummary:
    latest: list[dict[str, Any]]  # newest first
    shards: list[ShardInfo]
    total_bytes: int
    last_push_at: str | None
    last_push_ok: bool | None
    last_push_error: str | None
    pushes: int


def _latest_rows(paths: Iterable[Path], count: int) -> list[dict[str, Any]]:
    """Newest rows by reading only the tails of the newest shards, never a whole day of data."""
    rows: list[dict[str, Any]] = []
    for path in sorted(paths, key=lambda p: p.stat().st_mtime, reverse=True):
        newest = sorted((str(r.get("ts")) for r in rows), reverse=True)
        # A row's ts is taken before its write, so a shard last modified before the count-th newest
        # ts found so far cannot hold a newer row (one second of slack for the mtime granularity).
        mtime = format_ts(datetime.fromtimestamp(path.stat().st_mtime + 1, UTC))
        if len(newest) >= count and mtime < newest[count - 1]:
            break
        rows += _tail_rows(path, count)
    return sorted(rows, key=lambda r: str(r.get("ts")), reverse=True)[:count]


def _tail_rows(path: Path, count: int) -> list[dict[str, Any]]:
    if is_parquet(path):  # a table shard: its last rows, as the JSON lines would have read
        parquet = pq.ParquetFile(path)
        last = parquet.read_row_group(parquet.num_row_groups - 1) if parquet.num_row_groups else None
        rows = [] if last is None else last.slice(max(0, last.num_rows - count)).to_pylist()
        return [{**row, "ts": format_ts(row["ts"])} for row in rows]
    with path.open("rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, size - count * 8192))
        chunk = handle.read()
    lines = chunk.split(b"\n")[:-1]  # the last piece is empty, or a torn tail
    if size > len(chunk):
        lines = lines[1:]  # the first piece may start mid-line
    rows = []
    for line in lines[-count:]:
        try:
            rows.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            continue
    return rows


class LineCounter:
    """Rows per shard, remembered between calls so each call counts only the newly appended bytes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[Path, tuple[int, int]] = {}  # path -> (bytes counted, newlines in them)

    def count(self, path: Path) -> int:
        """Rows of a shard, counting only the bytes appended since the last call (shards only grow)."""
        if is_parquet(path):
            return row_count(path)  # in the file's footer
        with self._lock:
            counted, lines = self._counts.get(path, (0, 0))
            with path.open("rb") as handle:
                if handle.seek(0, os.SEEK_END) < counted:
                    counted, lines = 0, 0  # not the file we counted before (replaced): start over
                handle.seek(counted)
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    lines += chunk.count(b"\n")
                    counted += len(chunk)
            self._counts[path] = (counted, lines)
            return lines


def log_summary(
    directory: Path,
    *,
    state: PushState,
    counter: LineCounter,
    latest: int = 20,
    history_dir: Path | None = None,
) -> LogSummary:
    """Newest rows of the live folder, every shard of live + history, and the last push from the ledger."""
    roots = [directory] + ([Path(history_dir)] if history_dir else [])
    shards = [ShardInfo(str(p), counter.count(p), p.stat().st_size) for p in shard_paths(roots).values()]
    return LogSummary(
        # a shadow row restates a prediction's request id and ts: not a request of its own
        latest=_latest_rows(
            [p for p in shard_paths([directory], globs=PUSH_GLOBS).values() if shard_kind(p) != "shadow"], latest
        ),
        shards=sorted(shards, key=lambda s: s.path),
        total_bytes=sum(s.bytes for s in shards),
        last_push_at=state.last_push_at,
        last_push_ok=state.ok,
        last_push_error=state.last_error,
        pushes=state.pushes,
    )
