"""`PredictionLog`: the append-only, crash-safe writer of one process, and local retention.

One file per process, kind and day (see `monitoring.log`), flock-held while open so other processes
sharing the folder see it is live (`monitoring.log.locks`); the Hub push ledger it keeps next to the
data lives in `monitoring.sync.ledger`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from monitoring.log.bulk import ScoredTable, prediction_lines
from monitoring.log.locks import hold, is_live
from monitoring.log.records import DATA_GLOBS, KINDS, TABLE_SUFFIX, format_ts, partition_day, relpath
from monitoring.log.summary import LineCounter, LogSummary, log_summary
from monitoring.log.table_shard import TABLE_SHARD_ROWS, prediction_table, write_table_shard
from monitoring.sync.ledger import LEDGER_NAME, PushLedger
from scoring.errors import LogWriteError

logger = logging.getLogger(__name__)

_DEFAULT_MAX_SHARD_BYTES = 64 * 1024 * 1024  # without a sync nothing seals a shard: bound it here
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(slots=True)
class _Shard:
    fd: int
    path: Path
    day: str
    size: int


@dataclass(frozen=True, slots=True)
class LogHealth:
    """What `/readyz` needs to know about the log."""

    directory: str
    writable: bool
    rows_written: int
    last_write_at: str | None
    last_error: str | None
    last_error_at: str | None
    replica_id: str = ""  # which replica answered, behind a load balancer (REPLICA_ID)


class PredictionLog:
    """Append-only, crash-safe log of one process: JSON Lines shards, and a Parquet file per big table.

    `lock` is public on purpose: the Hub sync takes it while it measures the shards, so a pushed
    prefix always ends on a line boundary.
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        replica_id: str = "local",
        max_shard_bytes: int = _DEFAULT_MAX_SHARD_BYTES,
        table_shard_rows: int = TABLE_SHARD_ROWS,
    ) -> None:
        self.directory = Path(directory)
        self.replica_id = _SAFE_NAME.sub("-", replica_id).strip("-") or "local"
        self.max_shard_bytes = max_shard_bytes
        self.table_shard_rows = table_shard_rows
        self.started_at = datetime.now(UTC)
        self.lock = threading.Lock()
        self.ledger = PushLedger(self.directory / LEDGER_NAME)
        self._shards: dict[str, _Shard] = {}
        self._pid = os.getpid()
        self._seq = 0
        self._rows = 0
        self._last_write_at: float | None = None
        self._last_error: str | None = None
        self._last_error_at: float | None = None
        self._lines = LineCounter()

    def append(self, row: Mapping[str, Any]) -> None:
        """Write one row as one line; once this returns, a SIGKILL of the process loses nothing."""
        self.append_many((row,))

    def append_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Write rows of one kind and one day (a batch) with a single write: all of them or none."""
        if not rows:
            return
        kind, day = _route(rows[0])
        if any(_route(row) != (kind, day) for row in rows[1:]):
            for row in rows:  # mixed days (a batch across midnight): keep each line in its own partition
                self.append_many((row,))
            return
        try:
            data = b"".join(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE) for row in rows)
        except (TypeError, orjson.JSONEncodeError) as exc:
            raise LogWriteError(f"row is not serialisable: {exc}") from exc
        with self.lock:
            self._write(kind, day, data, len(rows))

    def append_table(
        self, table: ScoredTable, *, started: float, salt: str | None = None, now: datetime | None = None
    ) -> str | None:
        """Write a scored table's prediction rows, all or none; returns their one `ts`, None for no rows.

        The rows share one timestamp, so one day. A table of `table_shard_rows` rows or more becomes a
        Parquet file of its own (monitoring.log.table_shard); a smaller one, JSON lines encoded column
        by column (monitoring.log.bulk) in one write to the open shard. Encoding happens outside the lock.
        """
        if not len(table):
            return None
        now = now or datetime.now(UTC)  # `now`: a replay or a test of a past day; the doors never pass it
        if len(table) >= self.table_shard_rows:
            self._write_table(format_ts(now)[:10], prediction_table(table, started=started, salt=salt, now=now))
            return format_ts(now)
        data = prediction_lines(table, started=started, salt=salt, now=now)
        with self.lock:
            self._write("prediction", format_ts(now)[:10], data, len(table))
        return format_ts(now)

    def _write_table(self, day: str, arrow: pa.Table) -> None:
        folder = self.directory / f"date={day}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            while True:
                with self.lock:
                    self._seq += 1
                    name = self._shard_name("prediction", self._seq) + TABLE_SUFFIX
                try:
                    write_table_shard(folder / name, arrow)
                    break
                except FileExistsError:  # never replace a file, as `_open` never reopens one
                    continue
        except OSError as exc:
            self._last_error, self._last_error_at = f"{type(exc).__name__}: {exc.strerror or exc}", time.time()
            raise LogWriteError(f"cannot write the prediction log in {self.directory}: {exc}") from exc
        with self.lock:
            self._rows += arrow.num_rows
            self._last_write_at = time.time()

    def _shard_name(self, kind: str, seq: int) -> str:
        """`<prefix>-<replica>-<start>-p<pid>-<seq>`: unique per process, so no two processes share a file."""
        stamp = self.started_at.strftime("%Y%m%dT%H%M%S%fZ")
        return f"{KINDS[kind]}-{self.replica_id}-{stamp}-p{os.getpid()}-{seq:03d}"

    def _write(self, kind: str, day: str, data: bytes, count: int) -> None:
        try:
            shard = self._shard_for(kind, day)
            written = os.write(shard.fd, data)  # O_APPEND: one write is one contiguous, unshared range
        except OSError as exc:
            # the reason without the file name: health() is shown on the open /readyz
            self._fail(kind, f"{type(exc).__name__}: {exc.strerror or exc}")
            raise LogWriteError(f"cannot write the prediction log in {self.directory}: {exc}") from exc
        shard.size += written
        if written != len(data):
            # Disk full mid-line: leave the torn tail as the last bytes of that file (the reader
            # skips it) and continue in a fresh file rather than glue the next line onto it.
            self._fail(kind, f"short write ({written} of {len(data)} bytes)")
            raise LogWriteError(f"short write to {shard.path}: {written} of {len(data)} bytes")
        self._rows += count
        self._last_write_at = time.time()

    def _shard_for(self, kind: str, day: str) -> _Shard:
        shard = self._shards.get(kind)
        if os.getpid() != self._pid:  # forked worker: never share the parent's file
            self._pid, self._shards, shard = os.getpid(), {}, None
        if shard is not None and shard.day == day and shard.size < self.max_shard_bytes:
            return shard
        if shard is not None:
            os.close(shard.fd)
        shard = self._open(kind, day)
        self._shards[kind] = shard
        return shard

    def _open(self, kind: str, day: str) -> _Shard:
        folder = self.directory / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
        while True:
            self._seq += 1
            path = folder / (self._shard_name(kind, self._seq) + ".jsonl")
            try:
                fd = os.open(path, flags, 0o644)
            except FileExistsError:  # O_EXCL: an existing shard is never reopened, let alone truncated
                continue
            hold(fd)  # live until closed: no other process pushes, compacts or rewrites it meanwhile
            return _Shard(fd, path, day, 0)

    def _fail(self, kind: str, message: str) -> None:
        self._last_error, self._last_error_at = message, time.time()
        shard = self._shards.pop(kind, None)
        if shard is not None:
            with contextlib.suppress(OSError):
                os.close(shard.fd)
        logger.error("prediction log write failed: %s", message)

    def close(self) -> None:
        with self.lock:
            for shard in self._shards.values():
                os.close(shard.fd)
            self._shards = {}

    def seal(self) -> list[Path]:
        """Close every open shard so the next row starts a new file; the caller holds `lock`.

        The Hub sync seals before each push: a pushed shard is then never appended to again, so
        every push uploads only rows that were never uploaded. Returns the sealed files.
        """
        sealed = [shard.path for shard in self._shards.values()]
        for shard in self._shards.values():
            with contextlib.suppress(OSError):
                os.close(shard.fd)
        self._shards = {}
        return sealed

    def open_files(self) -> set[Path]:
        with self.lock:
            return {shard.path for shard in self._shards.values()}

    def health(self) -> LogHealth:
        """Probe the folder for real (create, delete a file): permission bits lie on read-only mounts."""
        return LogHealth(
            directory=str(self.directory),
            writable=_probe_writable(self.directory),
            rows_written=self._rows,
            last_write_at=_iso_or_none(self._last_write_at),
            last_error=self._last_error,
            last_error_at=_iso_or_none(self._last_error_at),
            replica_id=self.replica_id,
        )

    def prune(
        self, *, retention_days: int | None, history_dir: Path | None = None, now: datetime | None = None
    ) -> list[Path]:
        """Delete data files of days older than `retention_days`, but only those fully pushed to the Hub.

        History shards came from the Hub, so they are pushed by definition. Returns what was deleted.
        """
        if not retention_days or retention_days <= 0:
            return []
        cutoff = ((now or datetime.now(UTC)) - timedelta(days=retention_days)).date()
        pushed, live = self.ledger.state().pushed, self.open_files()
        deleted = [
            p
            for p in _old_shards(self.directory, cutoff)
            if p not in live and not is_live(p) and pushed.get(relpath(p, self.directory)) == p.stat().st_size
        ]
        if history_dir is not None:
            deleted += list(_old_shards(Path(history_dir), cutoff))
        for path in deleted:
            path.unlink(missing_ok=True)
            _remove_if_empty(path.parent)
        self.ledger.forget(relpath(p, self.directory) for p in deleted if p.is_relative_to(self.directory))
        return deleted

    def summary(self, *, latest: int = 20, history_dir: Path | None = None) -> LogSummary:
        """What the "Production data" view shows: newest rows, shards, total size, last push."""
        return log_summary(
            self.directory, state=self.ledger.state(), counter=self._lines, latest=latest, history_dir=history_dir
        )


def _route(row: Mapping[str, Any]) -> tuple[str, str]:
    kind, ts = row.get("kind"), row.get("ts")
    if kind not in KINDS or not isinstance(ts, str) or len(ts) < 10:
        raise LogWriteError(f"not a log row (kind={kind!r}, ts={ts!r}); build it with build_*_row")
    return kind, ts[:10]


def _probe_writable(directory: Path) -> bool:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".probe-{os.getpid()}-{threading.get_ident()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        return False
    return True


def _iso_or_none(epoch: float | None) -> str | None:
    return None if epoch is None else format_ts(datetime.fromtimestamp(epoch, UTC))


def _old_shards(root: Path, cutoff: date) -> Iterable[Path]:
    for path in sorted(p for pattern in DATA_GLOBS for p in root.glob(pattern)):
        day = partition_day(path)
        if day is not None and day < cutoff:
            yield path


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not empty: another shard of that day is still there
        folder.rmdir()
