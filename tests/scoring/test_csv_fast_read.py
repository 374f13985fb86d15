"""A CSV body read through Arrow's reader gives exactly the frame pandas' parser gives (or pandas reads it).

`frame_from_bytes` tries Arrow's C++ CSV reader first and keeps pandas' C parser for whatever the two
might read differently (scoring.tables). Generated bodies mix the cells where they are known to
differ -- signs, hex, spellings of NaN and infinity, integers beyond int64, booleans, dates, blanks,
quotes, whitespace, words among numbers -- with plain numbers and labels: the frames must be equal,
dtypes and every value included, or both readers must refuse the body with the same words.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

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
    pd.testing.assert_frame_equal(frame_from_bytes(body, CSV), expected, check_exact=True)


def test_a_plain_body_takes_the_fast_reader_and_a_doubtful_one_does_not():
    plain = b"SK_ID_CURR,CODE_GENDER,AMT_INCOME_TOTAL,CNT_CHILDREN\n100002,M,202500.0,0\n100003,,NA,\n"
    fast = _arrow_csv(plain)
    assert fast is not None
    pd.testing.assert_frame_equal(fast, _pandas_read(plain), check_exact=True)
    assert str(fast["CNT_CHILDREN"].dtype) == "Int64" and fast["SK_ID_CURR"].tolist() == ["100002", "100003"]
    for doubtful in (b"AMT_INCOME_TOTAL\n+5\n", b"AMT_INCOME_TOTAL\n0x10\n", b"\xef\xbb\xbfCNT_CHILDREN\n1\n"):
        assert _arrow_csv(doubtful) is None
        assert frame_from_bytes(doubtful, CSV).equals(_pandas_read(doubtful))


def test_a_word_in_a_number_column_is_its_own_rows_problem_on_the_fast_reader():
    body = b"AMT_INCOME_TOTAL,CNT_CHILDREN,CODE_GENDER\n100.5,1,M\nlots,2,F\nNAN,True,F\n"
    frame = _arrow_csv(body)
    assert frame is not None
    assert frame["AMT_INCOME_TOTAL"].tolist()[1:] == ["lots", "NAN"]
    pd.testing.assert_frame_equal(frame, _pandas_read(body), check_exact=True)
