"""The columnar validator's shortcuts read cells as `cell_value` reads them, one by one.

`row_payloads` converts whole columns at once for the usual dtypes; these tests hold it to a call of
`cell_value` per cell on the generated tables of test_columnar (every dtype, hostile cells included),
and check that a column of whole floats with a word among them refuses the word's row only.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given

from scoring.columnar import cell_value, row_payloads, validate_frame
from scoring.tables import CSV, frame_from_bytes

from .test_columnar import PROPERTY_SETTINGS, tables


def _one_by_one(frame: pd.DataFrame, rows: list[int]) -> list[dict]:
    names = list(frame.columns)
    return [{name: cell_value(frame.iat[i, j]) for j, name in enumerate(names)} for i in rows]


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
@PROPERTY_SETTINGS
@given(tables())
def test_row_payloads_read_every_cell_as_cell_value_does(frame):
    rows = list(range(len(frame)))[::-1]  # any order, not only ascending
    got, want = row_payloads(frame, rows), _one_by_one(frame, rows)
    assert got == want
    for g, w in zip(got, want, strict=True):
        assert [type(v) for v in g.values()] == [type(v) for v in w.values()]


def test_a_word_among_whole_floats_refuses_its_own_row_only():
    body = (
        b"NAME_CONTRACT_TYPE,AMT_INCOME_TOTAL,AMT_CREDIT,AMT_ANNUITY,DAYS_BIRTH,CNT_CHILDREN\n"
        b"Cash loans,100000,200000,10000,-12000,1.0\n"
        b"Cash loans,100000,200000,10000,-12000,abc\n"
        b"Cash loans,100000,200000,10000,-12000,2.5\n"
        b"Cash loans,100000,200000,10000,-12000,\n"
    )
    frame = frame_from_bytes(body, CSV)
    assert frame["CNT_CHILDREN"].dtype == object  # numbers and a word: the cells are kept as they are
    checked = validate_frame(frame)
    assert checked.indices.tolist() == [0, 3]
    assert [str(checked.errors[i]) for i in (1, 2)] == [
        "CNT_CHILDREN: expected a number, got a string",
        "CNT_CHILDREN: expected a whole number, got 2.5",
    ]
