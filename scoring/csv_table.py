"""An uploaded CSV of applications, read within limits, and its scored copy written safely.

Reading is bounded before anything is parsed: the file's byte size first, then the header line alone (its
length and its number of columns), then the rows, counted as they are read. Every cell stays text until
it is converted for the validator, so a blank `SK_ID_CURR` cannot turn the identifiers into floats and a
word in a number column refuses its own row only. A row with more or fewer cells than the header is
refused as such instead of shifting its values into the wrong columns.

Writing neutralises formula cells (OWASP "CSV injection"): a text cell starting with `=`, `+`, `-`, `@`,
a tab or a carriage return is prefixed with `'` so a spreadsheet shows it instead of evaluating it.
Numbers (`-9000`) are left as they are.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from scoring.errors import InvalidInput, Problem
from scoring.schema import FIELDS, ID_COLUMN, TARGET_COLUMN
from scoring.tables import MISSING_TEXT, arrow_to_frame, parquet_footprint

MAX_HEADER_BYTES = 64 * 1024
MAX_COLUMNS = len(FIELDS) + 2  # every application field, SK_ID_CURR and TARGET
# What spreadsheets and pandas write for an empty cell; read as "missing", as a JSON null would be. The
# REST CSV door's list (scoring.tables), so a cell means the same through either door.
MISSING_CELLS = frozenset(MISSING_TEXT)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class CsvLimits:
    """What an upload may hold; each is checked before the part it bounds is parsed."""

    max_bytes: int
    max_rows: int
    max_columns: int = MAX_COLUMNS
    max_header_bytes: int = MAX_HEADER_BYTES


@dataclass(slots=True)
class CsvTable:
    """A CSV's header and data rows as text; ragged rows are kept (to be written back) and refused."""

    header: list[str]
    rows: list[list[str]]
    refused: dict[int, InvalidInput] = field(default_factory=dict)  # row position -> why
    sha256: str = ""


def _refuse(kind: str, message: str, field_name: str | None = None) -> InvalidInput:
    return InvalidInput([Problem(field_name, kind, message)])


def _shown(text: str, limit: int = 60) -> str:
    short = text if len(text) <= limit else text[:limit] + "..."
    return short.encode("utf-8", "replace").decode("utf-8")


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes: the same upload gives the same digest."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_header(handle: io.BufferedReader, limits: CsvLimits) -> bytes:
    line = handle.readline(limits.max_header_bytes + 1)
    if len(line) > limits.max_header_bytes:
        raise _refuse("too_large", f"the header line is longer than {limits.max_header_bytes:,} bytes")
    if line.count(b",") + 1 > limits.max_columns:
        raise _refuse("too_large", f"the header has more than {limits.max_columns} columns (the limit)")
    return line


def _check_header(header: list[str]) -> None:
    if not header or header == [""]:
        raise _refuse("invalid_csv", "the file is empty: expected a header line of Home Credit field names")
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise _refuse("duplicate_key", "column given twice", _shown(name))
        seen.add(name)
    unknown = [_shown(c) for c in header if c not in FIELDS and c not in (ID_COLUMN, TARGET_COLUMN)]
    if unknown:
        raise _refuse("unknown_field", f"unknown columns (not Home Credit application fields): {unknown[:10]}")


def read_parquet_table(path: Path, limits: CsvLimits) -> tuple[CsvTable, pd.DataFrame]:
    """Read an uploaded Parquet file within the limits of a CSV upload: bytes, then columns and rows
    from its footer, before any data is decoded; the same header rules.

    Returns the cells as text (for the scored copy, as a CSV upload keeps them) and the typed frame
    that is scored (scoring.tables' Arrow rules, as the REST Parquet door reads it; TARGET set aside).
    """
    import pyarrow.parquet as pq

    size = path.stat().st_size
    if size > limits.max_bytes:
        raise _refuse("too_large", f"the file is {size:,} bytes; the limit is {limits.max_bytes:,}")
    try:
        source = pq.ParquetFile(path)
        meta = source.metadata
        if meta.num_columns > limits.max_columns:
            raise _refuse("too_large", f"the file has more than {limits.max_columns} columns (the limit)")
        if meta.num_rows > limits.max_rows:
            raise _refuse("batch_too_large", f"too many rows: at most {limits.max_rows:,} per file")
        decoded = parquet_footprint(path)[1]
        if decoded > limits.max_bytes:  # a small file can decode to gigabytes: refused by its footer
            raise _refuse("too_large", f"the table decodes to {decoded:,} bytes; the limit is {limits.max_bytes:,}")
        frame = arrow_to_frame(source.read())
    except InvalidInput:
        raise
    except Exception as exc:  # pyarrow raises many types for a file that is not Parquet
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:160]
        raise _refuse("unreadable_table", f"the file is not a readable Parquet table ({reason})") from None
    header = [str(name) for name in frame.columns]
    _check_header(header)
    if frame.empty:
        raise _refuse("unreadable_table", "the Parquet file has no rows")
    text = frame.astype(object).where(frame.notna(), "")
    rows = [[str(cell) for cell in row] for row in text.itertuples(index=False, name=None)]
    table = CsvTable(header=header, rows=rows, sha256=file_digest(path))
    return table, frame.drop(columns=[TARGET_COLUMN], errors="ignore")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refuse("invalid_csv", f"the file is not UTF-8 text (bad byte at offset {exc.start})") from None


def read_csv_table(path: Path, limits: CsvLimits) -> CsvTable:
    """Read an uploaded CSV within `limits`; raise InvalidInput (field None: the whole file) when it cannot be."""
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise _refuse("too_large", f"the file is {size:,} bytes; the limit is {limits.max_bytes:,}")
    with path.open("rb") as handle:
        header_line = _read_header(handle, limits)
        rest = handle.read()
    try:
        header = next(csv.reader([_decode(header_line).rstrip("\r\n")]), [])
    except csv.Error as exc:
        raise _refuse("invalid_csv", f"the header line is not valid CSV ({exc})") from None
    header = [name.strip() for name in header]
    _check_header(header)
    table = CsvTable(header=header, rows=[], sha256=hashlib.sha256(header_line + rest).hexdigest())
    reader = csv.reader(io.StringIO(_decode(rest), newline=""))
    try:
        for cells in reader:
            if not cells:
                continue  # a blank line is no application
            if len(table.rows) >= limits.max_rows:
                raise _refuse("batch_too_large", f"too many rows: at most {limits.max_rows:,} per file")
            if len(cells) != len(header):
                message = f"row {len(table.rows) + 1} has {len(cells)} cells, the header has {len(header)}"
                table.refused[len(table.rows)] = _refuse("ragged_row", message)
            table.rows.append(cells)
    except csv.Error as exc:
        raise _refuse("invalid_csv", f"line {reader.line_num + 1} is not valid CSV ({exc})") from None
    if not table.rows:
        raise _refuse("invalid_csv", "the CSV has a header but no rows")
    return table


def _number(text: str) -> float | str | None:
    """A number cell as a float; a cell that is not a number stays text, for the validator to name."""
    stripped = text.strip()
    if stripped in MISSING_CELLS:
        return None
    try:
        return float(stripped)
    except ValueError:
        return stripped


def _label(text: str) -> str | None:
    return None if text.strip() in MISSING_CELLS else text  # labels as written


def _identifier(text: str) -> str | None:
    stripped = text.strip()
    return None if stripped in MISSING_CELLS else stripped  # never a number: `100002`, not `100002.0`


def cell_value(name: str, text: str) -> Any:
    """What a CSV cell stands for in a JSON application: None (missing), a number or a label/identifier."""
    spec = FIELDS.get(name)
    if spec is None:
        return _identifier(text)
    return (_label if spec.kind == "category" else _number)(text)


def table_payloads(table: CsvTable) -> list[dict[str, Any]]:
    """One application per row (missing cells left out, TARGET set aside); {} for a refused row."""
    columns = _converters(table.header)
    payloads: list[dict[str, Any]] = []
    for i, cells in enumerate(table.rows):
        payload: dict[str, Any] = {}
        if i not in table.refused:
            for j, name, convert in columns:
                text = cells[j]
                if text and (value := convert(text)) is not None:
                    payload[name] = value
        payloads.append(payload)
    return payloads


def _converters(header: Sequence[str]) -> list[tuple[int, str, Any]]:
    """(position, name, cell converter) of every column but TARGET."""
    out = []
    for j, name in enumerate(header):
        spec = FIELDS.get(name)
        if name != TARGET_COLUMN:
            out.append((j, name, _identifier if spec is None else _label if spec.kind == "category" else _number))
    return out


def _series(name: str, values: list[Any]) -> pd.Series:
    spec = FIELDS.get(name)
    if spec is None:
        return pd.Series(values, dtype=object)
    if spec.kind == "category":
        return pd.Series(values, dtype="string")
    if all(v is None or isinstance(v, float) for v in values):
        return pd.Series([math.nan if v is None else v for v in values], dtype="float64")
    return pd.Series(values, dtype=object)  # a word among the numbers: kept, for its row's problem


def table_frame(table: CsvTable, start: int = 0, stop: int | None = None) -> pd.DataFrame:
    """Rows [start, stop) as a table for the columnar validator: the same applications as `table_payloads`.

    Cells are converted as `table_payloads` converts them; a number column is float64 unless a cell is a
    word (then objects), labels are strings, identifiers trimmed strings, a missing cell is null, and a
    refused (ragged) row is all null, so it can never be scored.
    """
    stop = len(table.rows) if stop is None else min(stop, len(table.rows))
    rows = table.rows[start:stop]
    refused = {i - start for i in table.refused if start <= i < stop}
    columns = {}
    for j, name, convert in _converters(table.header):
        values = [None if i in refused or not cells[j] else convert(cells[j]) for i, cells in enumerate(rows)]
        columns[name] = _series(name, values)
    return pd.DataFrame(columns, index=pd.RangeIndex(len(rows)))


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def neutralise(value: Any) -> str:
    """A cell as text that a spreadsheet shows rather than evaluates (numbers are left alone)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not _is_number(text):
        return "'" + text
    return text


def write_scored_csv(target: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write the scored copy with every cell neutralised."""
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([neutralise(h) for h in header])
        writer.writerows([neutralise(c) for c in row] for row in rows)
