"""How file cells become values: CSV text, Arrow and Parquet types, the same for every reader."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from scoring.columnar import validate_frame
from scoring.errors import UnreadableTable
from scoring.schema import TARGET_COLUMN
from scoring.tables import ARROW, CSV, PARQUET, arrow_to_frame, frame_from_bytes, type_csv_text


@pytest.fixture
def messy_csv(stream) -> bytes:
    frame = stream.drop(columns=[TARGET_COLUMN]).head(300).astype(object)
    frame.loc[5, "AMT_CREDIT"] = "lots"  # a word among numbers
    frame.loc[6, "FLAG_MOBIL"] = "True"  # a boolean spelling is text, not a number
    frame.loc[7, "CNT_CHILDREN"] = None  # a blank in an integer column keeps the others integers
    frame.loc[8, "AMT_ANNUITY"] = "NA"  # a missing spelling: the required field is missing
    frame.loc[9, "DAYS_BIRTH"] = "-12000.5"  # not a whole number
    frame.loc[10, "NAME_CONTRACT_TYPE"] = "123"  # a number where a label goes is an unknown label
    frame["FLAG_PHONE"] = ["True" if i % 2 else "False" for i in range(len(frame))]
    return frame.to_csv(index=False).encode()


def _problems(frame: pd.DataFrame) -> dict[int, list[dict]]:
    return {i: [p.as_dict() for p in e.problems] for i, e in validate_frame(frame).errors.items()}


def test_the_file_reader_and_the_cell_typer_read_csv_alike(messy_csv):
    parsed = frame_from_bytes(messy_csv, CSV)
    typed = type_csv_text(pd.read_csv(io.BytesIO(messy_csv), dtype=str, keep_default_na=False))
    assert _problems(parsed) == _problems(typed)
    np.testing.assert_array_equal(validate_frame(parsed).raw, validate_frame(typed).raw)
    problems = _problems(parsed)
    assert problems[5][0] == {"field": "AMT_CREDIT", "kind": "wrong_type", "message": "expected a number, got a string"}
    assert problems[6][0]["field"] == "FLAG_MOBIL" and problems[8][-1]["kind"] == "missing_field"
    assert problems[9][0]["message"] == "expected a whole number, got -12000.5"
    assert problems[10][0]["kind"] == "unknown_category"
    assert pd.api.types.is_integer_dtype(parsed["CNT_CHILDREN"].dtype)  # Int64 (pandas) or int64[pyarrow] (Arrow)


def test_arrow_keeps_integers_with_nulls_integers():
    table = pa.table({"CNT_CHILDREN": pa.array([1, None, 3]), "AMT_CREDIT": pa.array([-1, 5, None])})
    frame = arrow_to_frame(table)
    assert [v for v in frame["CNT_CHILDREN"].tolist() if v is not pd.NA] == [1, 3]
    first = validate_frame(frame).errors[0].problems
    assert [p.message for p in first if p.field == "AMT_CREDIT"] == ["-1 is impossible: allowed between 0 and 1e+09"]


@pytest.mark.parametrize("kind", [CSV, PARQUET, ARROW])
def test_bytes_that_are_no_table_are_unreadable_not_a_crash(kind):
    with pytest.raises(UnreadableTable, match=kind):
        frame_from_bytes(b"\x00\xffPAR1\x00", kind)
