"""The prediction log: every scoring request and every rejected request, append-only JSON Lines.

Layout (decided here, read by everything else through `read_log`):

    <root>/date=YYYY-MM-DD/predictions-<replica>-<start>-p<pid>-<seq>.jsonl
    <root>/date=YYYY-MM-DD/rejections-<replica>-<start>-p<pid>-<seq>.jsonl
    <root>/.sync/ledger.json        what was pushed to the Hub (never pushed, never read as data)

Predictions and rejections live in separate files: they have disjoint columns, and a loader that
infers one schema per file set (`datasets.load_dataset("json")`, pyarrow) would otherwise see a file
of rejections only as a different table and refuse to concatenate. Every prediction row carries the
same keys (the 120 inputs included, null when absent) and the writer casts values to their schema
kind, so every prediction shard has one and the same inferred schema.

The partition is the UTC date of the row's own `ts`, so a time window maps exactly onto partitions.
One file per process, kind and day; the name carries the replica id, the process' log start time
and the pid, so two replicas, two workers or a restarted process never write into the same file
and a new shard never overwrites an old one (nor one pulled from the Hub into the history folder).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import math
import os
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, get_args

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from scoring.errors import LogWriteError
from scoring.schema import CATEGORICAL as CATEGORICAL_COLUMNS
from scoring.schema import FIELDS, ID_COLUMN, RAW_COLUMNS

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
Channel = Literal["rest", "rest_batch", "gradio_form", "gradio_api", "gradio_batch", "mcp"]
CHANNELS: tuple[str, ...] = get_args(Channel)
Decision = Literal["approve", "refuse"]
KINDS = {"prediction": "predictions", "rejection": "rejections"}  # row kind -> file prefix
SHARD_GLOB = "date=*/*.jsonl"
LEDGER_NAME = ".sync/ledger.json"
_DEFAULT_MAX_SHARD_BYTES = 64 * 1024 * 1024  # bounds what one scheduled push has to re-upload
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


# ---------------------------------------------------------------------------------------------- rows


def format_ts(moment: datetime) -> str:
    """UTC ISO-8601 with microseconds and a `Z`, the only timestamp form the log contains."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def hash_client_id(value: object, *, salt: str | None) -> str | None:
    """Pseudonymise a client id (GDPR): HMAC-SHA256 keyed by a secret salt, or None without one.

    Without a salt a plain hash of a small integer id could be reversed by enumeration, so we
    refuse to write anything rather than write something reversible.
    """
    if not salt or value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return hmac.new(salt.encode(), text.encode(), hashlib.sha256).hexdigest()


_FIELD_KINDS = tuple((name, FIELDS[name].kind) for name in RAW_COLUMNS)
_ALL_MISSING = dict.fromkeys(RAW_COLUMNS)


def typed_features(features: Mapping[str, Any]) -> dict[str, Any]:
    """The 120 inputs under their Home Credit names, cast to their schema kind, None when absent.

    Runs on every request, hence one flat loop and cheap missing checks (pd.isna would cost a
    microsecond per field).
    """
    out: dict[str, Any] = {}
    get = features.get
    for name, kind in _FIELD_KINDS:
        value = get(name)
        if value is None or value is pd.NA or (isinstance(value, float) and value != value):
            out[name] = None
        elif kind == "category":
            out[name] = str(value)
        else:
            number = float(value)
            if number != number:
                out[name] = None
            elif kind == "float" or not number.is_integer():
                out[name] = number  # a fractional int stays visible rather than truncated
            else:
                out[name] = int(number)
    return out


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 3)


def build_prediction_row(
    features: Mapping[str, Any],
    *,
    request_id: str,
    channel: Channel,
    model_version: str,
    probability: float,
    decision: Decision,
    threshold: float,
    inference_ms: float,
    started: float,
    warnings: Iterable[str] = (),
    client_id: object = None,
    salt: str | None = None,
    batch_id: str | None = None,
    batch_index: int | None = None,
    now: datetime | None = None,
    validated: bool = False,
) -> dict[str, Any]:
    """One prediction row. Build it right before `append`: `latency_ms` is measured here.

    `started` is the `time.perf_counter()` taken when the request came in. The raw client id never
    reaches the row, even when it sits among the features: only its keyed hash does.
    """
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if client_id is None:
        client_id = features.get(ID_COLUMN)
    row: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": "prediction",
        "request_id": str(request_id),
        "ts": format_ts(now or datetime.now(UTC)),
        "channel": channel,
        "model_version": str(model_version),
        "client_ref": hash_client_id(client_id, salt=salt),
        "status": "ok",
        "probability": float(probability),
        "decision": decision,
        "threshold": float(threshold),
        "warnings": [str(w) for w in warnings],
        "inference_ms": round(float(inference_ms), 3),
        "batch_id": batch_id,
        "batch_index": None if batch_index is None else int(batch_index),
    }
    if validated:  # already typed by scoring.validation: only the absent fields need their None
        row.update(_ALL_MISSING)
        row.update(features)
    else:
        row.update(typed_features(features))
    row["latency_ms"] = _elapsed_ms(started)
    return row


def build_rejection_row(
    *,
    request_id: str,
    channel: Channel,
    error_kind: str,
    started: float,
    field_name: str | None = None,
    http_status: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One rejection event. It names what was wrong, never what was sent."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "rejection",
        "request_id": str(request_id),
        "ts": format_ts(now or datetime.now(UTC)),
        "channel": channel,
        "status": "rejected",
        "error_kind": str(error_kind),
        "field": None if field_name is None else str(field_name),
        "http_status": None if http_status is None else int(http_status),
        "latency_ms": _elapsed_ms(started),
    }


# ------------------------------------------------------------------------------------------- ledger


@dataclass(frozen=True, slots=True)
class PushState:
    """What the Hub sync last did, persisted next to the log so it survives a restart."""

    pushed: dict[str, int] = field(default_factory=dict)  # shard path relative to the root -> bytes pushed
    last_push_at: str | None = None
    last_attempt_at: str | None = None
    ok: bool | None = None
    last_error: str | None = None
    pushes: int = 0
    failures: int = 0
    card_pushed: bool = False


class PushLedger:
    """Persistent record of what reached the Hub: retention deletes only what is recorded here."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._state: PushState | None = None

    def state(self) -> PushState:
        with self._lock:
            return self._load()

    def record_push(self, sizes: Mapping[str, int], *, at: datetime, card: bool = False) -> None:
        with self._lock:
            old = self._load()
            pushed = {**old.pushed, **sizes}
            self._save(
                PushState(
                    pushed,
                    format_ts(at),
                    format_ts(at),
                    True,
                    None,
                    old.pushes + 1,
                    old.failures,
                    old.card_pushed or card,
                )
            )

    def record_failure(self, error: str, *, at: datetime) -> None:
        with self._lock:
            old = self._load()
            self._save(
                PushState(
                    old.pushed,
                    old.last_push_at,
                    format_ts(at),
                    False,
                    error,
                    old.pushes,
                    old.failures + 1,
                    old.card_pushed,
                )
            )

    def forget(self, relpaths: Iterable[str]) -> None:
        gone = set(relpaths)
        with self._lock:
            old = self._load()
            pushed = {k: v for k, v in old.pushed.items() if k not in gone}
            self._save(
                PushState(
                    pushed,
                    old.last_push_at,
                    old.last_attempt_at,
                    old.ok,
                    old.last_error,
                    old.pushes,
                    old.failures,
                    old.card_pushed,
                )
            )

    def _load(self) -> PushState:
        if self._state is None:
            try:
                self._state = PushState(**orjson.loads(self.path.read_bytes()))
            except FileNotFoundError:
                self._state = PushState()
            except (ValueError, TypeError):
                # A damaged ledger must not stop the service; forgetting it only makes retention keep more.
                logger.warning("prediction log: unreadable push ledger %s, starting a new one", self.path)
                self._state = PushState()
        return self._state

    def _save(self, state: PushState) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(_state_dict(state)))
        os.replace(tmp, self.path)  # a crash leaves the old ledger or the new one, never half of one
        self._state = state


def _state_dict(state: PushState) -> dict[str, Any]:
    return {name: getattr(state, name) for name in PushState.__slots__}


# ------------------------------------------------------------------------------------------- writer


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


class PredictionLog:
    """Append-only, crash-safe JSON Lines log of one process.

    `lock` is public on purpose: the Hub sync takes it while it measures the shards, so a pushed
    prefix always ends on a line boundary.
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        replica_id: str = "local",
        max_shard_bytes: int = _DEFAULT_MAX_SHARD_BYTES,
    ) -> None:
        self.directory = Path(directory)
        self.replica_id = _SAFE_NAME.sub("-", replica_id).strip("-") or "local"
        self.max_shard_bytes = max_shard_bytes
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
        self._line_counts: dict[Path, tuple[int, int]] = {}  # path -> (bytes counted, newlines in them)

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

    def _write(self, kind: str, day: str, data: bytes, count: int) -> None:
        try:
            shard = self._shard_for(kind, day)
            written = os.write(shard.fd, data)  # O_APPEND: one write is one contiguous, unshared range
        except OSError as exc:
            self._fail(kind, f"{type(exc).__name__}: {exc}")
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
        stamp = self.started_at.strftime("%Y%m%dT%H%M%S%fZ")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
        while True:
            self._seq += 1
            path = folder / f"{KINDS[kind]}-{self.replica_id}-{stamp}-p{self._pid}-{self._seq:03d}.jsonl"
            try:
                return _Shard(os.open(path, flags, 0o644), path, day, 0)
            except FileExistsError:  # O_EXCL: an existing shard is never reopened, let alone truncated
                continue

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
        )

    def prune(
        self, *, retention_days: int | None, history_dir: Path | None = None, now: datetime | None = None
    ) -> list[Path]:
        """Delete shards of days older than `retention_days`, but only those fully pushed to the Hub.

        History shards came from the Hub, so they are pushed by definition. Returns what was deleted.
        """
        if not retention_days or retention_days <= 0:
            return []
        cutoff = ((now or datetime.now(UTC)) - timedelta(days=retention_days)).date()
        pushed, live = self.ledger.state().pushed, self.open_files()
        deleted = [
            p
            for p in _old_shards(self.directory, cutoff)
            if p not in live and pushed.get(_relpath(p, self.directory)) == p.stat().st_size
        ]
        if history_dir is not None:
            deleted += list(_old_shards(Path(history_dir), cutoff))
        for path in deleted:
            path.unlink(missing_ok=True)
            _remove_if_empty(path.parent)
        self.ledger.forget(_relpath(p, self.directory) for p in deleted if p.is_relative_to(self.directory))
        return deleted

    def summary(self, *, latest: int = 20, history_dir: Path | None = None) -> LogSummary:
        """What the "Production data" view shows: newest rows, shards, total size, last push."""
        roots = [self.directory] + ([Path(history_dir)] if history_dir else [])
        paths = _shard_paths(roots).values()
        shards = [ShardInfo(str(p), self._count_lines(p), p.stat().st_size) for p in paths]
        state = self.ledger.state()
        return LogSummary(
            latest=_latest_rows(_shard_paths([self.directory]).values(), latest),
            shards=sorted(shards, key=lambda s: s.path),
            total_bytes=sum(s.bytes for s in shards),
            last_push_at=state.last_push_at,
            last_push_ok=state.ok,
            last_push_error=state.last_error,
            pushes=state.pushes,
        )

    def _count_lines(self, path: Path) -> int:
        """Rows of a shard, counting only the bytes appended since the last call (shards only grow)."""
        counted, lines = self._line_counts.get(path, (0, 0))
        with path.open("rb") as handle:
            if handle.seek(0, os.SEEK_END) < counted:
                counted, lines = 0, 0  # not the file we counted before (replaced): start over
            handle.seek(counted)
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                lines += chunk.count(b"\n")
                counted += len(chunk)
        self._line_counts[path] = (counted, lines)
        return lines


def open_log(settings: Any) -> PredictionLog:
    """The log as the settings describe it (`prediction_log_dir`, `replica_id`)."""
    return PredictionLog(Path(settings.prediction_log_dir), replica_id=str(settings.replica_id or "local"))


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


def _relpath(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _partition_day(path: Path) -> date | None:
    try:
        return date.fromisoformat(path.parent.name.removeprefix("date="))
    except ValueError:
        return None


def _old_shards(root: Path, cutoff: date) -> Iterable[Path]:
    for path in sorted(root.glob(SHARD_GLOB)):
        day = _partition_day(path)
        if day is not None and day < cutoff:
            yield path


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not empty: another shard of that day is still there
        folder.rmdir()


# ------------------------------------------------------------------------------------------ summary


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


# ------------------------------------------------------------------------------------------- reader

_TS = pa.timestamp("us", tz="UTC")
_META_STRINGS = ("kind", "request_id", "channel", "model_version", "client_ref", "status", "decision", "batch_id")


def file_schema(kind: str, *, tolerant: bool = False) -> pa.Schema:
    """The typed schema of a shard of `kind` ("prediction" or "rejection"), as Arrow.

    The dataset card declares it (so `datasets` never infers a column that happens to be all null
    in the first file as type null), and the reader parses with it. `tolerant` reads int kinds as
    float64, so a line that wrote 1.0 for 1 still parses; the reader casts them back afterwards.
    """
    if kind == "rejection":
        strings = ("kind", "request_id", "channel", "status", "error_kind", "field")
        return pa.schema(
            [
                pa.field("ts", _TS),
                pa.field("schema_version", pa.int64()),
                *[pa.field(n, pa.string()) for n in strings],
                pa.field("http_status", pa.int64()),
                pa.field("latency_ms", pa.float64()),
            ]
        )
    integer = pa.float64() if tolerant else pa.int64()
    fields = [pa.field("ts", _TS), pa.field("schema_version", pa.int64())]
    fields += [pa.field(name, pa.string()) for name in _META_STRINGS]
    fields += [pa.field(name, pa.float64()) for name in ("probability", "threshold", "inference_ms", "latency_ms")]
    fields += [pa.field("warnings", pa.list_(pa.string())), pa.field("batch_index", pa.int64())]
    kinds = {"category": pa.string(), "float": pa.float64(), "int": integer, "flag": integer}
    fields += [pa.field(n, kinds[FIELDS[n].kind]) for n in RAW_COLUMNS]
    return pa.schema(fields)


@dataclass(frozen=True, slots=True)
class LogData:
    """Everything `read_log` found: typed frames plus what it had to skip."""

    predictions: pd.DataFrame
    rejections: pd.DataFrame
    torn_lines: int = 0  # a last line without its newline (writer killed mid-write), skipped
    bad_lines: int = 0  # complete lines that are not valid rows (a damaged file), skipped
    files: int = 0


@dataclass(slots=True)
class _Parsed:
    """One shard parsed up to `consumed` bytes (always a line boundary)."""

    inode: int
    consumed: int
    table: pa.Table
    bad: int = 0
    torn: bool = False


class ReadCache:
    """Parsed shards kept between calls of `read_log`.

    Parsing JSON is the reader's whole cost and shards only grow, so a cached shard is re-read only
    from where the last read stopped: a closed shard is parsed once, the live one for its new lines.
    Memory: about the size of the data as Arrow columns. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Path, _Parsed] = {}

    def parse(self, path: Path, schema: pa.Schema) -> _Parsed:
        with self._lock:
            entry = _parse_shard(path, schema, self._entries.get(path))
            self._entries[path] = entry
            return entry

    def forget_missing(self) -> None:
        with self._lock:
            self._entries = {p: e for p, e in self._entries.items() if p.exists()}


def read_log(
    dirs: Sequence[str | Path],
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    cache: ReadCache | None = None,
) -> LogData:
    """Read the live folder and the history folder(s) into typed frames, rows with start <= ts < end.

    A shard found under the same relative path in several folders (pushed, then pulled back as
    history) is read once, from its longest copy, so history never duplicates live rows. Pass a
    long-lived `cache` to make repeated reads cost only the new lines.
    """
    start, end = _as_utc(start), _as_utc(end)
    paths = [p for p in _shard_paths([Path(d) for d in dirs]).values() if _in_window(p, start, end)]
    by_kind = {kind: [p for p in paths if p.name.startswith(prefix + "-")] for kind, prefix in KINDS.items()}
    cache = cache or ReadCache()
    schemas = {kind: file_schema(kind, tolerant=True) for kind in KINDS}
    parsed = {kind: [cache.parse(p, schemas[kind]) for p in by_kind[kind]] for kind in KINDS}
    everything = parsed["prediction"] + parsed["rejection"]
    return LogData(
        predictions=_prediction_frame(_window(parsed["prediction"], schemas["prediction"], start, end)),
        rejections=_rejection_frame(_window(parsed["rejection"], schemas["rejection"], start, end)),
        torn_lines=sum(e.torn for e in everything),
        bad_lines=sum(e.bad for e in everything),
        files=len(everything),
    )


def _as_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _shard_paths(roots: Sequence[Path]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for root in roots:
        if not root.is_dir():
            continue
        for path in root.glob(SHARD_GLOB):
            rel = _relpath(path, root)
            if rel not in found or path.stat().st_size > found[rel].stat().st_size:
                found[rel] = path
    return dict(sorted(found.items()))


def _in_window(path: Path, start: datetime | None, end: datetime | None) -> bool:
    day = _partition_day(path)
    if day is None:
        return False
    return not ((start is not None and day < start.date()) or (end is not None and day > end.date()))


def _parse_shard(path: Path, schema: pa.Schema, known: _Parsed | None) -> _Parsed:
    with path.open("rb") as handle:
        info = os.fstat(handle.fileno())
        if known is None or known.inode != info.st_ino or info.st_size < known.consumed:
            known = _Parsed(info.st_ino, 0, schema.empty_table())  # new or replaced file: from the start
        cut, tail = _last_line_end(handle, start=known.consumed, size=info.st_size)
    # The writer ends every line with its newline in the same write, so bytes after the last
    # newline are a line being written now or torn by a crash: never parse them, count them.
    torn = bool(tail.strip())
    if cut == known.consumed:
        return _Parsed(known.inode, known.consumed, known.table, known.bad, torn)
    # Memory-mapped and sliced without a copy: the shards can be hundreds of MB.
    source = pa.memory_map(str(path))
    source.seek(known.consumed)
    body = source.read_buffer(cut - known.consumed)
    try:
        table, bad = _parse_bytes(body, schema), 0
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        logger.warning("prediction log: corrupt lines in %s, reading it line by line", path)
        table, bad = _parse_lines(body.to_pybytes(), schema)
    return _Parsed(known.inode, cut, pa.concat_tables([known.table, table]), known.bad + bad, torn)


def _last_line_end(handle: Any, *, start: int, size: int, step: int = 1 << 16) -> tuple[int, bytes]:
    """Offset just past the last newline in [start, size), and the bytes after it (the tail)."""
    tail = b""
    end = size
    while end > start:
        begin = max(start, end - step)
        handle.seek(begin)
        chunk = handle.read(end - begin)
        found = chunk.rfind(b"\n")
        if found >= 0:
            return begin + found + 1, chunk[found + 1 :] + tail
        tail, end = chunk + tail, begin
    return start, tail


def _parse_bytes(data: pa.Buffer | bytes, schema: pa.Schema) -> pa.Table:
    options = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    # Large blocks: fewer block boundaries to reconcile; two cores still get several blocks each.
    read_options = pa_json.ReadOptions(block_size=32 << 20)
    table = pa_json.read_json(pa.BufferReader(data), parse_options=options, read_options=read_options)
    return table.select(schema.names)


def _parse_lines(body: bytes, schema: pa.Schema) -> tuple[pa.Table, int]:
    """Slow path for a damaged shard: keep every line that parses on its own, count the others."""
    tables, bad = [], 0
    for line in body.split(b"\n"):
        if not line.strip():
            continue
        try:
            tables.append(_parse_bytes(line, schema))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            bad += 1
    return (pa.concat_tables(tables) if tables else schema.empty_table()), bad


def _window(parsed: Sequence[_Parsed], schema: pa.Schema, start: datetime | None, end: datetime | None) -> pa.Table:
    table = pa.concat_tables([e.table for e in parsed]) if parsed else schema.empty_table()
    mask = None
    if start is not None:
        mask = pc.greater_equal(table["ts"], pa.scalar(start, _TS))
    if end is not None:
        below = pc.less(table["ts"], pa.scalar(end, _TS))
        mask = below if mask is None else pc.and_(mask, below)
    if mask is not None:
        table = table.filter(mask)
    return table.sort_by("ts")


def _typed_columns(table: pa.Table) -> pa.Table:
    """Int kinds to int64 and categories to dictionaries, in Arrow where it is cheap."""
    for name in RAW_COLUMNS:
        kind = FIELDS[name].kind
        index = table.schema.get_field_index(name)
        if kind == "category":
            table = table.set_column(index, name, pc.dictionary_encode(table[name]))
        elif kind in ("int", "flag"):
            # A fractional value in an int field stays float, visible, rather than truncated.
            with contextlib.suppress(pa.ArrowInvalid):
                table = table.set_column(index, name, table[name].cast(pa.int64()))  # safe cast
    return table


_WARNINGS = pa.list_(pa.string())
# Int64 keeps nulls without turning ints into floats; warnings stay Arrow lists (an element reads
# as a plain list) because building 100k Python lists would cost more than the rest of the frame.
_PANDAS_TYPES = {pa.int64(): pd.Int64Dtype(), _WARNINGS: pd.ArrowDtype(_WARNINGS)}


def _prediction_frame(table: pa.Table) -> pd.DataFrame:
    warnings = table["warnings"]
    table = table.set_column(
        table.schema.get_field_index("warnings"),
        "warnings",
        pc.if_else(pc.is_null(warnings), pa.scalar([], _WARNINGS), warnings),
    )
    frame = _typed_columns(table).to_pandas(types_mapper=_PANDAS_TYPES.get)
    frame["channel"] = _categorical(frame["channel"], CHANNELS)
    for name in CATEGORICAL_COLUMNS:
        frame[name] = _categorical(frame[name], FIELDS[name].categories)
    return frame


def _categorical(values: pd.Series, categories: tuple[str, ...]) -> pd.Series:
    """Schema categories in schema order, so every read has the same dtype; unknown labels kept."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype("category")
    extra = [c for c in values.cat.categories if c not in set(categories)]
    return values.cat.set_categories([*categories, *sorted(extra)])


def _rejection_frame(table: pa.Table) -> pd.DataFrame:
    frame = table.to_pandas(types_mapper=_PANDAS_TYPES.get)
    frame["channel"] = _categorical(frame["channel"], CHANNELS)
    return frame
