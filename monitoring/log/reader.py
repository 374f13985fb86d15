"""Read the log back: live and history folders into typed frames, through one shared parse cache.

`read_log` is the only reader of the shards' bytes. Parsing JSON is its whole cost, so parsed shards
are kept in a `ReadCache`; `SHARED_CACHE` is the one every long-lived reader of a process uses (the
analysis and the alert evaluation run in the same worker and read the same shards).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from monitoring.log.parquet import read_compacted, scan_compacted, uncovered
from monitoring.log.records import (
    CHANNELS,
    TS_TYPE,
    file_schema,
    is_parquet,
    partition_day,
    shard_paths,
)
from scoring.schema import CATEGORICAL as CATEGORICAL_COLUMNS
from scoring.schema import FIELDS, RAW_COLUMNS

logger = logging.getLogger(__name__)
WINDOWED_KINDS = ("prediction", "rejection", "shadow")  # outcomes are read whole by `read_outcomes`
# What `read_log` joins onto each prediction from its shadow row (NaN where the challenger left none).
CHALLENGER_COLUMNS = ("challenger_probability", "challenger_decision", "challenger_version")


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
    """One shard parsed up to `consumed` bytes (always a line boundary), or a whole Parquet file."""

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
            known = self._entries.get(path)
            entry = _read_compacted(path, schema, known) if is_parquet(path) else _parse_shard(path, schema, known)
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
    columns: Sequence[str] | None = None,
) -> LogData:
    """Read the live folder and the history folder(s) into typed frames, rows with start <= ts < end.

    Each prediction carries its challenger's score from the shadow rows (`CHALLENGER_COLUMNS`:
    probability float, decision and version strings; NaN where no challenger scored it).

    A shard found under the same relative path in several folders (pushed, then pulled back as
    history) is read once, from its longest copy, so history never duplicates live rows. JSON Lines
    shards and Parquet files (compacted days, table shards) read into the same types; a shard that a
    compacted file names as one of its sources is skipped (its rows are in the Parquet). Pass a
    long-lived `cache` to make repeated reads cost only the new lines.

    `columns` narrows the prediction frame to those columns (plus `ts`), for readers that need a few
    of the 130 (the analysis): Parquet files are then scanned for those columns and the window only,
    never cached whole; JSON Lines shards still parse whole into the cache (JSON has no columns to
    skip) and are cut afterwards. Rejections are always read whole (they are narrow).
    """
    start, end = _as_utc(start), _as_utc(end)
    found = {r: p for r, p in shard_paths([Path(d) for d in dirs]).items() if _in_window(p, start, end)}
    cache = cache or ReadCache()
    cache.forget_missing()  # compaction and retention delete shards: never keep their tables alive
    rejections = _parsed_kind(found, "rejection", cache, file_schema("rejection", tolerant=True))
    wanted = [c for c in CHALLENGER_COLUMNS if columns is None or c in columns]
    shadows = _parsed_kind(found, "shadow", cache, file_schema("shadow", tolerant=True)) if wanted else []
    if columns is None:
        schema = file_schema("prediction", tolerant=True)
        predictions = _parsed_kind(found, "prediction", cache, schema)
        table = _window([e.table for e in predictions], schema, start, end)
        compacted_read = 0
    else:
        own = [c for c in columns if c not in CHALLENGER_COLUMNS] + (["request_id"] if wanted else [])
        table, predictions, compacted_read = _projected(found, cache, columns=own, start=start, end=end)
    frame = _prediction_frame(table)
    if wanted:
        shadow = _window([e.table for e in shadows], file_schema("shadow", tolerant=True), start, end)
        frame = _with_challenger(frame, shadow)
        if columns is not None:  # the join's own columns only if they were asked for
            frame = frame[[c for c in frame.columns if c in {"ts", *columns}]]
    everything = [*predictions, *rejections, *shadows]
    return LogData(
        predictions=frame,
        rejections=_rejection_frame(
            _window([e.table for e in rejections], file_schema("rejection", tolerant=True), start, end)
        ),
        torn_lines=sum(e.torn for e in everything),
        bad_lines=sum(e.bad for e in everything),
        files=len(everything) + compacted_read,
    )


def _parsed_kind(found: dict[str, Path], kind: str, cache: ReadCache, schema: pa.Schema) -> list[_Parsed]:
    """Every data file of `kind` parsed through the cache: Parquet files, then the shards none covers."""
    parquet, shards = uncovered(found, kind)
    return [cache.parse(p, schema) for p in [*parquet.values(), *shards.values()]]


def _projected(
    found: dict[str, Path],
    cache: ReadCache,
    *,
    columns: Sequence[str],
    start: datetime | None,
    end: datetime | None,
) -> tuple[pa.Table, list[_Parsed], int]:
    """The prediction rows of the window cut to `columns` (+ ts): compacted files scanned for those
    columns only (uncached), shards parsed whole through the cache then cut. Also returns the parsed
    shards and how many compacted files were scanned."""
    full = file_schema("prediction", tolerant=True)
    unknown = sorted(set(columns) - set(full.names))
    if unknown:
        raise ValueError(f"not prediction log columns: {unknown[:8]}")
    wanted = {"ts", *columns}
    schema = pa.schema([f for f in full if f.name in wanted])
    parquet, jsonl = uncovered(found, "prediction")
    shards = [cache.parse(p, full) for p in jsonl.values()]
    tables = [scan_compacted(list(parquet.values()), schema, start=start, end=end)]
    tables += [e.table.select(schema.names) for e in shards]
    return _window(tables, schema, start, end), shards, len(parquet)


def parse_file(path: Path, kind: str) -> _Parsed:
    """One data file (either format) parsed on its own, uncached: what compaction and erasure verify with."""
    schema = file_schema(kind, tolerant=True)
    return _read_compacted(path, schema, None) if is_parquet(path) else _parse_shard(path, schema, None)


def _read_compacted(path: Path, schema: pa.Schema, known: _Parsed | None) -> _Parsed:
    info = path.stat()
    if known is not None and known.inode == info.st_ino and known.consumed == info.st_size:
        return known  # compacted files are replaced (new inode), never changed in place
    return _Parsed(info.st_ino, info.st_size, read_compacted(path, schema))


KEY_SCHEMA = pa.schema(
    [pa.field(n, pa.string()) for n in ("request_id", "client_ref", "decision")] + [pa.field("ts", TS_TYPE)]
)


def _kind_table(dirs: Sequence[str | Path], kind: str, schema: pa.Schema, cache: ReadCache | None) -> pa.Table:
    """Every row of one kind, all days, both formats (a shard a compacted file covers is skipped)."""
    parsed = _parsed_kind(shard_paths([Path(d) for d in dirs]), kind, cache or ReadCache(), schema)
    return pa.concat_tables([e.table for e in parsed]) if parsed else schema.empty_table()


def read_outcomes(dirs: Sequence[str | Path], *, cache: ReadCache | None = None) -> pd.DataFrame:
    """Every outcome row of the live and history folders, in recording order (all days: an outcome
    arrives months after its prediction, so it is never cut by the analysis window)."""
    table = _kind_table(dirs, "outcome", file_schema("outcome"), cache).sort_by("ts")
    return table.to_pandas()


def prediction_keys(dirs: Sequence[str | Path], *, cache: ReadCache | None = None) -> pd.DataFrame:
    """request_id, client_ref, decision and ts of every prediction: what matching an outcome needs.

    Parsed with a four-column schema, so a long-lived `cache` of it holds a few bytes per row rather
    than the 120 inputs.
    """
    return _kind_table(dirs, "prediction", KEY_SCHEMA, cache).to_pandas()


def _as_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _in_window(path: Path, start: datetime | None, end: datetime | None) -> bool:
    day = partition_day(path)
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


def _window(tables: Sequence[pa.Table], schema: pa.Schema, start: datetime | None, end: datetime | None) -> pa.Table:
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    mask = None
    if start is not None:
        mask = pc.greater_equal(table["ts"], pa.scalar(start, TS_TYPE))
    if end is not None:
        below = pc.less(table["ts"], pa.scalar(end, TS_TYPE))
        mask = below if mask is None else pc.and_(mask, below)
    if mask is not None:
        table = table.filter(mask)
    ts = table["ts"]
    if ts.null_count == 0 and (len(ts) < 2 or pc.all(pc.less_equal(ts[:-1], ts[1:])).as_py()):
        return table  # already in time order (a day written by one process): no copy of every column
    return table.sort_by("ts")


def _typed_columns(table: pa.Table) -> pa.Table:
    """Int kinds to int64 and categories to dictionaries, in Arrow where it is cheap."""
    for name in (n for n in RAW_COLUMNS if n in table.schema.names):
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
    """The typed frame of every column `table` has (all of them, or a projection's)."""
    if "warnings" in table.schema.names:
        warnings = table["warnings"]
        table = table.set_column(
            table.schema.get_field_index("warnings"),
            "warnings",
            pc.if_else(pc.is_null(warnings), pa.scalar([], _WARNINGS), warnings),
        )
    # column by column, each Arrow buffer released once converted: the peak is one copy, not two
    frame = _typed_columns(table).to_pandas(types_mapper=_PANDAS_TYPES.get, split_blocks=True, self_destruct=True)
    del table
    if "channel" in frame:
        frame["channel"] = _categorical(frame["channel"], CHANNELS)
    for name in (n for n in CATEGORICAL_COLUMNS if n in frame):
        frame[name] = _categorical(frame[name], FIELDS[name].categories)
    return frame


def _with_challenger(frame: pd.DataFrame, shadow: pa.Table) -> pd.DataFrame:
    """The predictions with their challenger columns, joined on request_id (a row's last shadow wins)."""
    lookup = (
        shadow.select(["request_id", *CHALLENGER_COLUMNS])
        .to_pandas()
        .drop_duplicates("request_id", keep="last")
        .set_index("request_id")
    )
    text = pd.StringDtype(na_value=np.nan)
    # one look-up of every request id for the three columns (a million rows: hashed once, not three times)
    at = lookup.index.get_indexer(frame["request_id"]) if len(lookup) else np.full(len(frame), -1)
    found = at >= 0
    for name in CHALLENGER_COLUMNS:
        numeric = name == "challenger_probability"
        values = np.full(len(frame), np.nan, dtype="float64" if numeric else object)
        values[found] = lookup[name].to_numpy()[at[found]]
        frame[name] = pd.Series(values, index=frame.index).astype("float64" if numeric else text)
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


SHARED_CACHE = ReadCache()  # one per process: every shard parsed once, whoever reads it
