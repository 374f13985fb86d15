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


def test_table_warnings_are_the_row_warnings_in_the_tables_column_order(scorer, stream):
    frame = stream.drop(columns=["TARGET"]).head(300).reset_index(drop=True)
    frame.loc[[5, 9], "AMT_INCOME_TOTAL"] = 9e8  # valid, far beyond the training range
    frame.loc[[9, 40], "AMT_CREDIT"] = 9.5e8
    frame.loc[40, "DAYS_EMPLOYED"] = 365243  # the placeholder is never an extrapolation
    frame.loc[77, "CNT_CHILDREN"] = 19
    frame.loc[120, "AMT_CREDIT"] = -1.0  # refused: no warning for a row that is not scored
    shuffled = frame[list(reversed(frame.columns.drop("AMT_GOODS_PRICE")))]
    scored = scorer.score_frame(shuffled)
    batch = scorer.score_batch(row_payloads(shuffled, range(len(shuffled))))
    want = {i: s.warnings for i, s in batch.scores.items() if s.warnings}
    assert scored.warnings == want
    assert {5, 9, 40, 77} <= set(want) and 120 not in want and len(want[9]) == 2
