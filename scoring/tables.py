"""Tables in and out of the scorer: Arrow/Parquet and CSV to typed DataFrames, scores to a result table.

The reading rules decide which JSON value each cell stands for (see scoring.columnar), so they are
written once here and used by every engine of the batch job (and any door that takes files):

- Arrow and Parquet keep their types; an integer or boolean column with nulls stays integer or
  boolean (pandas alone would turn it into floats);
- CSV is text: a cell in one of `MISSING_TEXT` is missing; in a category column or SK_ID_CURR the
  text is the value; elsewhere a cell that reads as a number is that number (integers stay
  integers) and any other text stays text, so a stray word refuses its row, not its column.
  Files are parsed by pandas' C parser (`_read_csv`); a request body by Arrow's C++ reader
  (`_arrow_csv`, about twice as fast) unless it holds text the two might read differently, then by
  pandas' too. Text that arrives already split into cells (Spark's CSV reader) is typed by
  `type_csv_text`, which applies the same rules.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from scoring.errors import UnreadableTable
from scoring.predict import FrameScores
from scoring.schema import CATEGORICAL, ID_COLUMN

CSV, PARQUET, ARROW = "text/csv", "application/vnd.apache.parquet", "application/vnd.apache.arrow.stream"
TABLE_TYPES = (CSV, PARQUET, ARROW)
MISSING_TEXT = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None")
ROW_COLUMN = "row"
RESULT_COLUMNS = ("status", "probability", "decision", "model_version", "problems", "warnings")
_TEXT_COLUMNS = frozenset((*CATEGORICAL, ID_COLUMN))


def _keep_type(arrow_type: pa.DataType) -> Any:
    if pa.types.is_integer(arrow_type) or pa.types.is_boolean(arrow_type):
        return pd.ArrowDtype(arrow_type)  # nulls stay nulls, integers stay integers
    return None


def arrow_to_frame(table: pa.Table | pa.RecordBatch) -> pd.DataFrame:
    """An Arrow table or batch as the DataFrame the validator reads (see the module rules)."""
    return table.to_pandas(types_mapper=_keep_type)


def _numbers_or_text(text: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(text, errors="coerce", dtype_backend="numpy_nullable")
    unreadable = numbers.isna() & text.notna()
    if not unreadable.any():
        return numbers
    mixed = numbers.astype(object)
    mixed[unreadable] = text[unreadable]
    return mixed


def type_csv_text(frame: pd.DataFrame) -> pd.DataFrame:
    """A DataFrame of CSV text cells (None or text) typed by the module's CSV rules."""
    out = {}
    for name in frame.columns:
        text = frame[name].astype(object)
        text = text.where(text.notna() & ~text.isin(MISSING_TEXT), None)
        out[name] = text.astype("str") if name in _TEXT_COLUMNS else _numbers_or_text(text)
    typed = pd.DataFrame(out, index=frame.index)
    typed.columns = frame.columns
    return typed


def _typed_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame pandas' C parser typed (text columns read as text) brought to the CSV rules.

    The parser already read the number columns; a number column with a word in it came back as
    text and is typed cell by cell, and one it took for booleans ("True") is text for us.
    """
    for name in frame.columns:
        if name in _TEXT_COLUMNS:
            continue
        column = frame[name]
        if pd.api.types.is_bool_dtype(column.dtype):
            frame[name] = column.astype(object).map(lambda v: None if v is pd.NA or v is None else str(v))
        elif not pd.api.types.is_numeric_dtype(column.dtype):
            text = column.astype(object)
            frame[name] = _numbers_or_text(text.where(text.notna(), None))
    return frame


def _read_csv(source: Any, **options: Any) -> Any:
    return pd.read_csv(
        source,
        dtype={name: "str" for name in _TEXT_COLUMNS},
        keep_default_na=False,
        na_values=list(MISSING_TEXT),
        dtype_backend="numpy_nullable",  # integers with blanks stay integers
        low_memory=False,  # one dtype guess per column, not per block of lines
        **options,
    )


# Cells Arrow reads as a number and pandas does not, or not as the same number: "+5" is an integer
# to pandas, a float to Arrow; "0x10" is text to pandas, 16 to Arrow. (mark, the bytes before it that
# make it one of those)
_AMBIGUOUS = ((b"x", b"0"), (b"X", b"0"), (b"+", b',\r\n" \t'))
# Whole numbers pandas reads as uint64 (in a column of whole numbers only) and Arrow as floats.
_UINT64_ONLY = (2.0**63, 2.0**64)
# An integer of 19 digits or more: pandas' parser reads a text column holding one its own way (its
# missing spellings stay text), so such a column is left to it.
_LONG_INTEGER = r"^\s*[+-]?\d{19,}\s*$"


def _csv_type(arrow_type: pa.DataType) -> Any:
    """The Arrow rules (`_keep_type`) for a CSV column; a column of blanks is integers, as pandas reads it."""
    return pd.Int64Dtype() if pa.types.is_null(arrow_type) else _keep_type(arrow_type)


def _plain_numbers(column: pa.ChunkedArray) -> bool:
    """Whether an Arrow-typed CSV number column is one pandas reads as the same numbers."""
    if pa.types.is_int64(column.type) or pa.types.is_null(column.type):
        return True
    if not pa.types.is_float64(column.type):
        return False  # booleans, dates, text: pandas' typing decides (see _typed_csv)
    if pc.any(pc.is_nan(column)).as_py():
        return False  # a NaN cell: a spelling of "nan" outside MISSING_TEXT, which pandas keeps as text
    low, high = _UINT64_ONLY
    return not pc.any(pc.and_(pc.greater_equal(column, low), pc.less_equal(column, high))).as_py()


def _ambiguous(body: bytes) -> bool:
    """Whether a cell may start with a sign or hold a hex prefix (a search per mark: a regular
    expression over a 1 MB body costs 100 ms, these a millisecond)."""
    for mark, before in _AMBIGUOUS:
        at = body.find(mark)
        while at >= 0:
            if at == 0 or body[at - 1] in before:
                return True
            at = body.find(mark, at + 1)
    return False


def _arrow_csv(body: bytes) -> pd.DataFrame | None:
    """A CSV body typed by the module's rules through Arrow's reader, or None when pandas' must read it.

    The cells are the ones pandas' parser gives (the same values, integers still integers); the
    number columns come as Arrow's to_pandas gives them (integers Arrow-backed, floats NaN for a
    blank), which the validator reads as it reads pandas' nullable ones.

    None for anything where the two parsers could disagree: a byte-order mark, a cell starting with
    a sign or a hex prefix, column names pandas would rename (repeated, blank), a single column (pandas
    skips its lines of spaces, Arrow reads them as cells), and every body Arrow
    cannot parse (so an unreadable body gets pandas' words). A number column Arrow read as text (a
    word in it) is typed cell by cell as pandas' text columns are; one it typed otherwise than as
    plain integers or floats (booleans, dates) is read again by pandas, alone.
    """
    import pyarrow.csv as pa_csv

    if body.startswith(b"\xef\xbb\xbf") or _ambiguous(body):
        return None
    convert = pa_csv.ConvertOptions(
        column_types={name: pa.string() for name in _TEXT_COLUMNS},
        null_values=list(MISSING_TEXT),
        strings_can_be_null=True,
    )
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(body),
            read_options=pa_csv.ReadOptions(use_threads=True),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=convert,
        )
    except (pa.ArrowException, ValueError, OSError):
        return None
    names = table.column_names
    if len(set(names)) != len(names) or "" in names or len(names) == 1:
        return None
    others = [name for name in names if name not in _TEXT_COLUMNS and not _plain_numbers(table[name])]
    frame = table.to_pandas(types_mapper=_csv_type)
    for name in [n for n in others if pa.types.is_string(table[n].type)]:
        if not pc.any(pc.match_substring_regex(table[name], _LONG_INTEGER)).as_py():
            others.remove(name)  # the cells as written, typed as pandas types its text columns
            frame[name] = _typed_csv(frame[[name]])[name]
    if others:
        try:
            retyped = _typed_csv(_read_csv(io.BytesIO(body), usecols=others))
        except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError):
            return None
        if len(retyped) != len(frame) or list(retyped.columns) != others:
            return None
        for name in others:
            frame[name] = retyped[name]
    return frame


def is_csv(path: str | Path) -> bool:
    return str(path).lower().endswith((".csv", ".csv.gz"))


def read_chunks(path: str | Path, *, rows: int) -> Iterator[pd.DataFrame]:
    """The table at `path` (a Parquet file or folder, or a CSV file), `rows` rows at a time."""
    if is_csv(path):
        for chunk in _read_csv(path, chunksize=rows):
            yield _typed_csv(chunk)
        return
    import pyarrow.dataset as ds

    for batch in ds.dataset(str(path), format="parquet").to_batches(batch_size=rows):
        if batch.num_rows:
            yield arrow_to_frame(batch)


def result_frame(frame: pd.DataFrame, scores: FrameScores, *, rows: np.ndarray) -> pd.DataFrame:
    """One output row per input row, in order: its position, SK_ID_CURR, and its score or its problems.

    `problems` is the JSON list of {field, kind, message} the REST answer gives for that row;
    `warnings` the JSON list of extrapolation warnings. Both are null when there is nothing to say.
    """
    n = scores.n_rows
    probability = np.full(n, np.nan)
    probability[scores.indices] = scores.probabilities
    decision = np.full(n, None, dtype=object)
    decision[scores.indices] = scores.decisions
    problems = np.full(n, None, dtype=object)
    for i, error in scores.errors.items():
        problems[i] = json.dumps([p.as_dict() for p in error.problems], ensure_ascii=False)
    warnings = np.full(n, None, dtype=object)
    for i, texts in scores.warnings.items():
        if texts:
            warnings[i] = json.dumps(texts, ensure_ascii=False)
    out = pd.DataFrame({ROW_COLUMN: np.asarray(rows, dtype=np.int64)})
    if ID_COLUMN in frame.columns:
        out[ID_COLUMN] = frame[ID_COLUMN].reset_index(drop=True)
    out["status"] = np.where(problems == None, "ok", "invalid")  # noqa: E711 - elementwise on an object array
    out["probability"] = probability
    out["decision"] = pd.array(decision, dtype="str")
    out["model_version"] = scores.model_version
    out["problems"] = pd.array(problems, dtype="str")
    out["warnings"] = pd.array(warnings, dtype="str")
    return out


def parquet_footprint(source: bytes | Path) -> tuple[int, int]:
    """(rows, decoded bytes) a Parquet file's footer declares, read before any page is decompressed.

    A few kilobytes of Parquet can decode to gigabytes (a constant column of millions of rows, one
    huge string): the doors refuse by these numbers first. UnreadableTable when there is no footer.
    """
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(io.BytesIO(source) if isinstance(source, bytes) else source).metadata
    except (ValueError, OSError, pa.ArrowException) as exc:
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise UnreadableTable(f"the body is not a readable {PARQUET} table ({reason})") from exc
    decoded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    return meta.num_rows, decoded


def _fields(buf: bytes, table: int) -> Any:
    """A flatbuffer table's field offsets (0: absent), by field number."""
    vtable = table - struct.unpack_from("<i", buf, table)[0]
    size = struct.unpack_from("<H", buf, vtable)[0]
    return lambda i: struct.unpack_from("<H", buf, vtable + 4 + 2 * i)[0] if 4 + 2 * i < size else 0


def _batch_footprint(meta: bytes, body: bytes) -> tuple[int, int]:
    """(rows, decoded bytes) of one IPC message, from its flatbuffer header (Arrow's Message.fbs) and the
    length prefix of each compressed buffer: what Arrow will allocate, read before it decompresses."""
    root = struct.unpack_from("<I", meta, 0)[0]
    message = _fields(meta, root)
    kind = meta[root + message(1)] if message(1) else 0
    if kind not in (2, 3) or not message(2):  # 3: a RecordBatch, 2: a DictionaryBatch wrapping one
        return 0, 0
    at = root + message(2)
    batch = at + struct.unpack_from("<I", meta, at)[0]
    if kind == 2:
        wrapper = _fields(meta, batch)
        if not wrapper(1):
            return 0, 0
        at = batch + wrapper(1)
        batch = at + struct.unpack_from("<I", meta, at)[0]
    field = _fields(meta, batch)
    rows = struct.unpack_from("<q", meta, batch + field(0))[0] if field(0) and kind == 3 else 0
    decoded = 0
    if field(2):
        at = batch + field(2)
        vector = at + struct.unpack_from("<I", meta, at)[0]
        for i in range(struct.unpack_from("<I", meta, vector)[0]):
            offset, length = struct.unpack_from("<qq", meta, vector + 4 + 16 * i)
            raw = struct.unpack_from("<q", body, offset)[0] if field(3) and length >= 8 else -1
            decoded += length if raw < 0 else raw
    return rows, decoded


def arrow_stream_footprint(body: bytes) -> tuple[int, int]:
    """(rows, decoded bytes) an Arrow IPC stream declares, summed over its messages before any is decoded:
    a few kB of zstd-compressed batches can decode to gigabytes. UnreadableTable when it is no stream."""
    rows = decoded = 0
    try:
        for message in pa.ipc.MessageReader.open_stream(pa.BufferReader(body)):
            meta = message.metadata.to_pybytes()
            content = message.body.to_pybytes() if message.body is not None else b""
            more_rows, more_bytes = _batch_footprint(meta, content)
            rows, decoded = rows + more_rows, decoded + more_bytes
    except (struct.error, IndexError, ValueError, OSError, pa.ArrowException) as exc:
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise UnreadableTable(f"the body is not a readable {ARROW} table ({reason})") from exc
    return rows, decoded


def frame_from_bytes(body: bytes, media_type: str) -> pd.DataFrame:
    """A request body of one of `TABLE_TYPES` as the DataFrame the validator reads.

    Raise UnreadableTable when the bytes are not a table of that type.
    """
    try:
        if media_type == CSV:
            fast = _arrow_csv(body)
            return fast if fast is not None else _typed_csv(_read_csv(io.BytesIO(body)))
        if media_type == PARQUET:
            import pyarrow.parquet as pq

            return arrow_to_frame(pq.read_table(io.BytesIO(body)))
        if media_type == ARROW:
            return arrow_to_frame(pa.ipc.open_stream(body).read_all())
    except (ValueError, OSError, UnicodeDecodeError, pa.ArrowException, pd.errors.ParserError) as exc:
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise UnreadableTable(f"the body is not a readable {media_type} table ({reason})") from exc
    raise ValueError(f"not a table media type: {media_type}")


def table_to_bytes(table: pa.Table, media_type: str) -> bytes:
    """`table` written as CSV or Parquet (an answer body), by Arrow's writers in C++."""
    sink = io.BytesIO()
    if media_type == CSV:  # ~10x pandas' to_csv on a 10,000-row answer
        import pyarrow.csv as pa_csv

        pa_csv.write_csv(table, sink)
    elif media_type == PARQUET:  # the bytes DataFrame.to_parquet writes for the frame of this table
        import pyarrow.parquet as pq

        pq.write_table(table, sink)
    else:
        raise ValueError(f"no writer for {media_type}")
    return sink.getvalue()
