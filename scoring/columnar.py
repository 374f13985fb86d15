"""Validation of a whole table of applications at once, on its columns.

A table (a pandas DataFrame: from Parquet, CSV, Arrow or a Spark task) holds one application per
row and Home Credit field names as columns. Each column is checked with a handful of numpy
operations on its native dtype -- types, labels, bounds, whole numbers, required fields -- instead
of 120 Python checks per row. The verdicts are, by construction, those of the per-row validator:

- a row is read as the JSON object `row_payload` gives: every column is a key, a missing cell
  (null, NA, NaN) is a null value, numpy scalars are plain Python numbers;
- a row that every vectorised check clears is exactly a row `validate_application` accepts;
- any other row (a suspect) is handed to `validate_application`, still the one place that words a
  problem, so a refused row carries the same problems, in the same order, as the REST answer.

A bad cell refuses its row only; only a table that cannot be read as rows at all (a column name
given twice) is refused as a whole.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from scoring.errors import InvalidInput, Problem
from scoring.features import CATEGORY_CODES, encode_record
from scoring.schema import DAYS_EMPLOYED_PENSIONER, FIELDS, ID_COLUMN, RAW_COLUMNS, Field
from scoring.validation import column_suspects, validate_application

_ID_TYPES = frozenset({int, str, type(None)})


@dataclass(slots=True)
class ValidatedFrame:
    """The rows of a table that passed, in order, their raw matrix, and the problems of the others."""

    n_rows: int
    indices: np.ndarray  # positions (0-based) of the valid rows
    raw: np.ndarray  # n_valid x 120, see scoring.features
    client_refs: list[str | None]  # SK_ID_CURR of each valid row, as the service logs it
    errors: dict[int, InvalidInput]  # position -> every problem of that row


def cell_value(value: Any) -> Any:
    """A table cell as the JSON value it stands for: missing -> None, numpy scalars -> Python ones."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None  # NaN is how pandas and Arrow-to-pandas spell a missing number
    return value


def row_payloads(frame: pd.DataFrame, rows: Any, *, columns: list[int] | None = None) -> list[dict[Any, Any]]:
    """The JSON objects that rows (positions) of `frame` stand for, keys in column order (only the
    columns at positions `columns`, in their order, when given)."""
    at = np.asarray(rows, dtype=np.intp)
    positions = range(frame.shape[1]) if columns is None else columns
    cells = [_python_cells(frame.iloc[:, j].iloc[at]) for j in positions]
    names = [frame.columns[j] for j in positions]
    return [dict(zip(names, values, strict=True)) for values in zip(*cells, strict=True)] if names else [{} for _ in at]


_PLAIN = frozenset({int, str, bool})  # what `cell_value` returns as it is


def _python_cells(series: pd.Series) -> list[Any]:
    """`cell_value` of every cell of a column, without a call per cell for the usual dtypes."""
    if _kind_of(series.dtype) == "float":
        return [None if v != v else v for v in _numbers(series).tolist()]  # v != v: NaN, a missing cell
    return [v if type(v) in _PLAIN else cell_value(v) for v in series.tolist()]


def _is_string(dtype: Any) -> bool:
    if isinstance(dtype, pd.StringDtype):
        return True
    return isinstance(dtype, pd.ArrowDtype) and pd.api.types.is_string_dtype(dtype)


_KINDS: dict[Any, str] = {}


def _kind_of(dtype: Any) -> str:
    """'bool', 'int', 'float', 'text' for a dtype checked natively; 'other' for cell-by-cell."""
    if isinstance(dtype, pd.CategoricalDtype):  # one dtype per set of categories: not worth keeping
        return "other"
    kind = _KINDS.get(dtype)
    if kind is None:
        kind = _KINDS[dtype] = _dtype_kind(dtype)
    return kind


def _dtype_kind(dtype: Any) -> str:
    if pd.api.types.is_object_dtype(dtype):
        return "other"
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    return "text" if _is_string(dtype) else "other"


def _numbers(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def _number_column(spec: Field, values: np.ndarray, *, whole: bool) -> tuple[np.ndarray, np.ndarray]:
    """(raw column, suspects) for a numeric field given numbers; NaN is a missing cell."""
    high = 0.0 if spec.name == "DAYS_EMPLOYED" else spec.maximum
    with np.errstate(invalid="ignore"):
        bad = np.isinf(values) | (values < spec.minimum) | (values > high)
        if spec.name == "DAYS_EMPLOYED":
            bad &= values != DAYS_EMPLOYED_PENSIONER
        if spec.kind in ("int", "flag") and not whole:
            bad |= np.isfinite(values) & (values != np.floor(values))
    return values, bad


_LABELS = {name: pa.array(FIELDS[name].categories, type=pa.large_string()) for name in CATEGORY_CODES}


def _label_column(spec: Field, series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Labels to their codes in Arrow's C++ hash look-up (pandas' Index look-up on strings is 10x slower)."""
    cells = series.array.__arrow_array__()  # zero-copy for Arrow-backed text; converts Python-backed text
    labels = _LABELS[spec.name]
    codes = pc.index_in(cells, value_set=labels if cells.type == labels.type else labels.cast(cells.type))
    column = codes.to_numpy(zero_copy_only=False).astype(np.float64)  # null (missing or unknown) -> NaN
    present = pc.is_valid(cells).to_numpy(zero_copy_only=False)
    return column, present & np.isnan(column)


def field_column(spec: Field, series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(raw column, boolean mask of rows the per-row validator must look at) for one field."""
    kind = _kind_of(series.dtype)
    n = len(series)
    if kind == "other":
        cells = _python_cells(series)
        if spec.kind in ("int", "flag"):  # a whole float is that integer to the per-row validator
            cells = [int(v) if type(v) is float and v.is_integer() else v for v in cells]
        return column_suspects(spec.name, spec, cells, CATEGORY_CODES.get(spec.name))
    wanted = "text" if spec.kind == "category" else ("int", "float")
    if kind not in wanted:  # a boolean anywhere, a number for a label, a text for a number
        return np.full(n, np.nan), series.notna().to_numpy()
    if kind == "text":
        return _label_column(spec, series)
    return _number_column(spec, _numbers(series), whole=kind == "int")


def _id_suspects(series: pd.Series) -> np.ndarray:
    kind = _kind_of(series.dtype)
    if kind == "int":
        return np.zeros(len(series), dtype=bool)
    if kind in ("bool", "float"):
        return series.notna().to_numpy()
    if kind == "text" and getattr(series.dtype, "storage", None) == "pyarrow":
        return np.zeros(len(series), dtype=bool)  # Arrow text is valid UTF-8: every identifier is fine
    return np.array([not _fine_id(v) for v in _python_cells(series)], dtype=bool)


def _fine_id(value: Any) -> bool:
    if type(value) not in _ID_TYPES:
        return False
    if isinstance(value, str):
        short = value[:64]
        return short.encode("utf-8", "replace").decode("utf-8") == short
    return True


def _refs(series: pd.Series | None, rows: np.ndarray) -> list[str | None]:
    if series is None:
        return [None] * len(rows)
    return [None if v is None else str(v)[:64] for v in _python_cells(series.iloc[rows])]


def _check_names(frame: pd.DataFrame) -> None:
    seen: set[Any] = set()
    for name in frame.columns:
        if name in seen:
            shown = str(name)[:100].encode("utf-8", "replace").decode("utf-8")
            raise InvalidInput([Problem(shown, "duplicate_key", "column given twice")])
        seen.add(name)


def validate_frame(frame: pd.DataFrame) -> ValidatedFrame:
    """Validate every row of `frame` on its columns; same verdicts and problems as `validate_application`."""
    _check_names(frame)
    n = len(frame)
    suspect = np.zeros(n, dtype=bool)
    raw = np.full((n, len(RAW_COLUMNS)), np.nan)
    position = {name: j for j, name in enumerate(RAW_COLUMNS)}
    worded = []  # positions of the columns that can give a suspect row a problem (see _settle)
    for at, name in enumerate(frame.columns):
        spec = FIELDS.get(name) if isinstance(name, str) else None
        if name == ID_COLUMN:
            suspect |= _id_suspects(frame[name])
        elif spec is None:
            suspect[:] = True  # an unknown column: every row names it (as an unknown key would)
        else:
            j = position[name]
            raw[:, j], bad = field_column(spec, frame[name])
            suspect |= bad
            if not spec.required and not bad.any():
                continue
        worded.append(at)
    for name in (n for n, f in FIELDS.items() if f.required):
        suspect |= np.isnan(raw[:, position[name]])
    return _settle(frame, raw, suspect, worded=worded)


def _settle(frame: pd.DataFrame, raw: np.ndarray, suspect: np.ndarray, *, worded: list[int]) -> ValidatedFrame:
    """Hand the suspects to the per-row validator; keep the rows it clears, re-encoded from their fields.

    A suspect is first validated on the `worded` columns alone: the identifier, unknown columns, the
    required fields and every column with a flagged cell. A cell of any other column passed every
    check of its column, so it adds no problem and takes none away (the required fields are all
    there): the row gets the problems, in the order, its whole payload would give, for a tenth of
    the work. Only the rows that this clears are validated (and encoded) whole.
    """
    errors: dict[int, InvalidInput] = {}
    cleared: list[int] = []
    rows = np.flatnonzero(suspect)
    for i, payload in zip(rows.tolist(), row_payloads(frame, rows, columns=worded) if len(rows) else [], strict=True):
        try:
            validate_application(payload)
        except InvalidInput as exc:
            errors[i] = exc
        else:
            cleared.append(i)
    for i, payload in zip(cleared, row_payloads(frame, cleared) if cleared else [], strict=True):
        raw[i] = encode_record(validate_application(payload)[0])
    keep = np.ones(len(frame), dtype=bool)
    keep[list(errors)] = False
    indices = np.flatnonzero(keep)
    ids = frame[ID_COLUMN] if ID_COLUMN in frame.columns else None
    return ValidatedFrame(len(frame), indices, raw[indices] if errors else raw, _refs(ids, indices), errors)


def _clean_cells(spec: Field, series: pd.Series, rows: np.ndarray) -> list[Any]:
    """One column's values at `rows` as `validate_application` keeps them (None for missing), for accepted rows."""
    kind = _kind_of(series.dtype)
    whole = spec.kind in ("int", "flag")
    if kind in ("int", "float") and spec.kind != "category":
        numbers = _numbers(series)[rows]
        missing = np.isnan(numbers)
        if whole or kind == "int":  # accepted cells of these are whole numbers within the schema's bounds
            cells = np.where(missing, 0, numbers).astype(np.int64).astype(object)
        else:  # a float field given floats keeps them as floats
            cells = numbers.astype(object)
        cells[missing] = None
        return cells.tolist()
    values = [cell_value(v) for v in series.iloc[rows].tolist()]
    return [None if v is None else int(v) for v in values] if whole else values


def clean_fields(frame: pd.DataFrame, rows: np.ndarray, *, keep_missing: bool = False) -> list[dict[str, Any]]:
    """The clean fields `validate_application` returns, for rows (positions) that `validate_frame` accepted.

    The given, non-null Home Credit fields, whole numbers of integer fields as int, in column order;
    with `keep_missing`, the given fields that are null stay as None (cheaper: what the log fills in anyway).
    """
    rows = np.asarray(rows, dtype=np.intp)
    names = [n for n in frame.columns if isinstance(n, str) and n in FIELDS]
    columns = [_clean_cells(FIELDS[name], frame[name], rows) for name in names]
    if keep_missing:
        return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    return [
        {n: v for n, v in zip(names, values, strict=True) if v is not None} for values in zip(*columns, strict=True)
    ]
