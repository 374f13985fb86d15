"""A CSV body read through Arrow's reader is read as pandas' parser reads it (or pandas reads it).

`frame_from_bytes` tries Arrow's C++ CSV reader first and keeps pandas' C parser for whatever the two
might read differently (scoring.tables). Generated bodies mix the cells where they are known to
differ -- signs, hex, spellings of NaN and infinity, integers beyond int64, booleans, dates, blanks,
quotes, whitespace, words among numbers -- with plain numbers and labels. The two frames must
stand for the same rows (every cell the same JSON value, of the same Python type), have the same
kind of column (integers, floats, text, cells) everywhere, and get the same verdicts, problems and raw
matrix from the validator; or both readers must refuse the body with the same words.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scoring.columnar import _kind_of, row_payloads, validate_frame
from scoring.errors import UnreadableTable
from scoring.tables import CSV, _arrow_csv, _read_csv, _typed_csv, frame_from_bytes

TRICKY = [
    "+5", "-5", "-0", "007", "1_000", "0x10", "0X1F", " 5", "5 ", "\t5", "1e3", "1E3", "1e+30", "1e-05", ".5",
    "5.", "inf", "-inf", "+inf", "Infinity", "INF", "NAN", "Nan", "nan", "NaN", "NA", "N/A", "null", "NULL",
    "None", "", " ", "1,5", "9223372036854775807", "9223372036854775808", "18446744073709551615",
    "18446744073709551616", "-9223372036854775809", "1e400", "1e-400", "4.9e-324", "1.7976931348623157e308",
    "True", "False", "true", "TRUE", "1", "0", "-", "abc", "é", "2020-01-01", "12:30:00", "0.30000000000000004",
    "Cash loans", "cash loans", "M", "XNA", 'say "hi"', "two\nlines", "  \t",
]  # fmt: skip
NUMBERS = st.integers(-(10**12), 10**12).map(str) | st.floats(allow_nan=False, width=64).map(repr)
CELLS = st.sampled_from(TRICKY) | NUMBERS | st.text(st.characters(codec="utf-8"), max_size=6)
COLUMNS = ["SK_ID_CURR", "CODE_GENDER", "NAME_CONTRACT_TYPE", "AMT_INCOME_TOTAL", "CNT_CHILDREN", "EXT_SOURCE_2"]


def _cell(text: str, quoted: bool) -> str:
    if quoted or any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    names = draw(st.lists(st.sampled_from([*COLUMNS, "UNKNOWN"]), min_size=1, max_size=5, unique=True))
    names += draw(st.lists(st.sampled_from(names), max_size=1 if draw(st.integers(0, 9)) == 0 else 0))  # twice
    plain = draw(st.sampled_from([NUMBERS, st.sampled_from(["M", "F", "Cash loans"])]))
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        cells = [draw(CELLS if draw(st.booleans()) else plain) for _ in names]
        rows.append(",".join(_cell(c, draw(st.booleans())) for c in cells))
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    return (",".join(names) + ending + ending.join(rows) + draw(st.sampled_from(["", ending]))).encode()


def _pandas_read(body: bytes) -> pd.DataFrame:
    return _typed_csv(_read_csv(io.BytesIO(body)))


def assert_read_alike(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """The same rows to the validator: cells, column kinds, verdicts, problems and raw matrix."""
    assert list(got.columns) == list(want.columns) and len(got) == len(want)
    assert [_kind_of(t) for t in got.dtypes] == [_kind_of(t) for t in want.dtypes]
    rows = range(len(want))
    got_rows, want_rows = row_payloads(got, rows), row_payloads(want, rows)
    assert got_rows == want_rows
    assert [[type(v) for v in r.values()] for r in got_rows] == [[type(v) for v in r.values()] for r in want_rows]
    checked, expected = validate_frame(got), validate_frame(want)
    assert {i: str(e) for i, e in checked.errors.items()} == {i: str(e) for i, e in expected.errors.items()}
    assert checked.indices.tolist() == expected.indices.tolist() and checked.client_refs == expected.client_refs
    np.testing.assert_array_equal(checked.raw, expected.raw)


@settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies())
@example(b"SK_ID_CURR,AMT_INCOME_TOTAL,CODE_GENDER\nM,18446744073709551616,M\nM,M,M\nM,nan,M")  # pandas keeps 'nan'
@example(b"AMT_INCOME_TOTAL,CODE_GENDER\n 1.5,M\n1.5 ,F\n")
def test_arrow_and_pandas_read_a_csv_body_alike(body):
    try:
        expected = _pandas_read(body)
    except Exception:  # pandas refuses it: so must the door, with pandas' words
        with pytest.raises(UnreadableTable) as refused:
            frame_from_bytes(body, CSV)
        with pytest.raises(UnreadableTable) as again:
            frame_from_bytes(body, CSV)  # the same words every time
        assert str(refused.value) == str(again.value)
        return
    assert_read_alike(frame_from_bytes(body, CSV), expected)


def test_a_plain_body_takes_the_fast_reader_and_a_doubtful_one_does_not():
    plain = b"SK_ID_CURR,CODE_GENDER,AMT_INCOME_TOTAL,CNT_CHILDREN\n100002,M,202500.0,0\n100003,,NA,\n"
    fast = _arrow_csv(plain)
    assert fast is not None
    assert_read_alike(fast, _pandas_read(plain))
    assert fast["CNT_CHILDREN"].tolist()[0] == 0 and pd.api.types.is_integer_dtype(fast["CNT_CHILDREN"].dtype)
    assert fast["SK_ID_CURR"].tolist() == ["100002", "100003"]
    for doubtful in (b"AMT_INCOME_TOTAL\n+5\n", b"AMT_INCOME_TOTAL\n0x10\n", b"\xef\xbb\xbfCNT_CHILDREN\n1\n"):
        assert _arrow_csv(doubtful) is None
        assert frame_from_bytes(doubtful, CSV).equals(_pandas_read(doubtful))


def test_a_word_in_a_number_column_is_its_own_rows_problem_on_the_fast_reader():
    body = b"AMT_INCOME_TOTAL,CNT_CHILDREN,CODE_GENDER\n100.5,1,M\nlots,2,F\nNAN,True,F\n"
    frame = _arrow_csv(body)
    assert frame is not None
    assert frame["AMT_INCOME_TOTAL"].tolist()[1:] == ["lots", "NAN"]
    assert_read_alike(frame, _pandas_read(body))
