"""The columnar validator gives, row by row, exactly the verdicts and problems of `validate_application`.

Tables are generated from the synthetic population, then damaged the ways files and engines damage
them: a whole column of another dtype (numbers as text, labels as numbers, booleans, nullable and
Arrow dtypes, floats that are not whole, NaN and infinities), single hostile cells (which turn a
column into Python objects), unknown, missing and reordered columns, odd SK_ID_CURR values.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring.columnar import cell_value, clean_fields, row_payloads, validate_frame
from scoring.errors import InvalidInput
from scoring.features import encode_record
from scoring.schema import FIELDS, ID_COLUMN, REQUIRED, TARGET_COLUMN
from scoring.validation import validate_application

PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
MAX_ROWS = 6


@cache
def base_frame() -> pd.DataFrame:
    from scoring.synth.generate import production_stream

    return production_stream(MAX_ROWS, seed=11).drop(columns=[TARGET_COLUMN])


labels = st.sampled_from([c for spec in FIELDS.values() for c in spec.categories])
texts = (
    labels
    | st.text(st.characters(codec="utf-8"), max_size=12)
    | st.sampled_from(["", " Cash loans", "Cash loans\x00", "\ud800", "a" * 150, "450000", "1e3", "NaN"])
)
edge_ints = st.sampled_from([0, 1, 2, -1, 23, 24, 30, 31, 10**9, 10**9 + 1, -36525, -36526, -6574, -6575, 365243])
ints = st.integers(min_value=-(2**63), max_value=2**63 - 1) | edge_ints
floats = st.floats() | edge_ints.map(float) | st.sampled_from([2.5, -0.0, 0.5, 365243.5, math.inf, -math.inf])
cells = (
    st.none()
    | st.booleans()
    | ints
    | st.integers(min_value=10**20, max_value=10**400)
    | floats
    | texts
    | st.sampled_from([[1], {"a": 1}, np.int64(3), np.float32(0.5), pd.NA, b"x"])
)


def _typed(values: list, dtype: object) -> pd.Series:
    try:
        return pd.Series(values, dtype=dtype)
    except (TypeError, ValueError, OverflowError, pa.ArrowException, UnicodeError):
        return pd.Series(values, dtype=object)


def _near(original: object, kind: str) -> st.SearchStrategy:
    """Values close to a real cell: the cell itself, just off it, or anything of the column's kind."""
    if kind == "text":
        return st.sampled_from([original if isinstance(original, str) else "Cash loans"]) | texts
    number = float(original) if isinstance(original, int | float) and not isinstance(original, bool) else 1.0
    if kind == "int":
        return st.sampled_from([int(number), int(number) + 1]) | ints
    return st.sampled_from([number, number + 0.5, number - 1e-6]) | floats


@st.composite
def typed_columns(draw: st.DrawFn, original: pd.Series) -> pd.Series:
    """A whole column of one dtype, in any of the ways pandas, Arrow or Spark may hand it over."""
    kind = draw(st.sampled_from(["int", "float", "bool", "text"]))
    cells = [cell_value(v) for v in original.tolist()]
    if kind == "bool":
        values = draw(st.lists(st.booleans() | st.none(), min_size=len(cells), max_size=len(cells)))
    else:
        values = [draw(_near(cell, kind) | st.none()) for cell in cells]
    dtypes = {
        "int": ["Int64", pd.ArrowDtype(pa.int64())] + ([] if None in values else ["int64"]),
        "float": ["float64", "Float64", "float32"],
        "bool": ["boolean"] + ([] if None in values else ["bool"]),
        "text": ["str", "string", pd.ArrowDtype(pa.string()), "category", object],
    }[kind]
    return _typed(values, draw(st.sampled_from(dtypes)))


@st.composite
def tables(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(min_value=1, max_value=MAX_ROWS))
    frame = base_frame().iloc[:n].reset_index(drop=True)
    columns = {name: frame[name] for name in frame.columns}
    for name in draw(st.lists(st.sampled_from(list(columns)), max_size=4, unique=True)):
        if draw(st.booleans()):
            columns[name] = draw(typed_columns(columns[name]))
        else:
            column = columns[name].astype(object)
            for row in draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n)):
                column.iat[row] = draw(cells)
            columns[name] = column
    for name in draw(st.lists(st.sampled_from([*REQUIRED, ID_COLUMN, *FIELDS]), max_size=3)):
        columns.pop(name, None)
    for name in draw(st.lists(st.sampled_from([TARGET_COLUMN, "amt_credit", "", 0, "\ud800"]), max_size=1)):
        columns[name] = pd.Series([1] * n)
    order = draw(st.permutations(list(columns))) if draw(st.booleans()) else list(columns)
    frame = pd.DataFrame({j: columns[name].reset_index(drop=True) for j, name in enumerate(order)})
    frame.columns = pd.Index(order, dtype=object)  # a name may be no valid text at all
    return frame


def _expected(frame: pd.DataFrame) -> list[tuple[dict, str | None] | InvalidInput]:
    out = []
    for payload in row_payloads(frame, range(len(frame))):
        try:
            out.append(validate_application(payload))
        except InvalidInput as exc:
            out.append(exc)
    return out


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")  # huge floats made float32
@PROPERTY_SETTINGS
@given(tables())
def test_same_verdicts_and_problems_as_the_row_validator(frame):
    checked = validate_frame(frame)
    expected = _expected(frame)
    refused = {i for i, v in enumerate(expected) if isinstance(v, InvalidInput)}
    assert set(checked.errors) == refused
    for i in refused:
        assert [p.as_dict() for p in checked.errors[i].problems] == [p.as_dict() for p in expected[i].problems]
    assert checked.indices.tolist() == [i for i in range(len(frame)) if i not in refused]
    cleaned = clean_fields(frame, checked.indices)
    with_missing = clean_fields(frame, checked.indices, keep_missing=True)
    assert [{k: v for k, v in c.items() if v is not None} for c in with_missing] == cleaned
    for row, i in enumerate(checked.indices.tolist()):
        clean, client_ref = expected[i]
        assert checked.client_refs[row] == client_ref
        np.testing.assert_array_equal(checked.raw[row], np.array(encode_record(clean)))
        assert cleaned[row] == clean and [type(v) for v in cleaned[row].values()] == [type(v) for v in clean.values()]


def test_cells_read_as_the_json_values_they_stand_for():
    frame = pd.DataFrame(
        {
            "CNT_CHILDREN": pd.Series([2, None], dtype="Int64"),
            "AMT_CREDIT": [float("nan"), float("inf")],
            "NAME_CONTRACT_TYPE": pd.Series(["Cash loans", None], dtype="str"),
            "FLAG_MOBIL": np.array([True, False]),
        }
    )
    assert row_payloads(frame, [0, 1]) == [
        {"CNT_CHILDREN": 2, "AMT_CREDIT": None, "NAME_CONTRACT_TYPE": "Cash loans", "FLAG_MOBIL": True},
        {"CNT_CHILDREN": None, "AMT_CREDIT": math.inf, "NAME_CONTRACT_TYPE": None, "FLAG_MOBIL": False},
    ]
    assert type(cell_value(np.int64(3))) is int and cell_value(pd.NA) is None and cell_value(pd.NaT) is None


def test_a_bad_cell_refuses_its_row_only_with_every_problem():
    frame = base_frame().copy()
    frame["AMT_CREDIT"] = frame["AMT_CREDIT"].astype(object)
    frame.loc[1, "AMT_CREDIT"] = "450000"
    frame["CNT_CHILDREN"] = frame["CNT_CHILDREN"].astype(float)
    frame.loc[1, "CNT_CHILDREN"] = 1.5
    frame.loc[3, "CNT_CHILDREN"] = 2.0  # a whole number in a float column is a whole number
    frame.loc[4, "DAYS_EMPLOYED"] = 365243  # the 'not employed' placeholder is allowed
    frame.loc[5, "DAYS_EMPLOYED"] = 5
    checked = validate_frame(frame)
    assert sorted(checked.errors) == [1, 5]
    assert [(p.field, p.kind, p.message) for p in checked.errors[1].problems] == [
        ("CNT_CHILDREN", "wrong_type", "expected a whole number, got 1.5"),
        ("AMT_CREDIT", "wrong_type", "expected a number, got a string"),
    ]
    assert str(checked.errors[5]) == (
        "DAYS_EMPLOYED: 5 is impossible: allowed between -36525 and 0 days, or 365243 for 'not employed'"
    )
    assert checked.indices.tolist() == [0, 2, 3, 4]
    assert checked.client_refs == [str(v) for v in frame[ID_COLUMN].iloc[[0, 2, 3, 4]]]


def test_an_unknown_column_is_named_on_every_row_and_a_duplicate_refuses_the_table():
    frame = base_frame().assign(TARGET=0)
    checked = validate_frame(frame)
    assert len(checked.errors) == len(frame) and not len(checked.indices)
    for error in checked.errors.values():
        assert any(p.field == "TARGET" and p.kind == "unknown_field" for p in error.problems)
    doubled = pd.concat([base_frame(), base_frame()[["AMT_CREDIT"]]], axis=1)
    with pytest.raises(InvalidInput) as info:
        validate_frame(doubled)
    assert info.value.field == "AMT_CREDIT" and info.value.kind == "duplicate_key"


def test_score_frame_is_score_batch_on_the_rows_as_json(scorer, stream):
    frame = stream.drop(columns=[TARGET_COLUMN]).head(1_000).copy()
    frame["AMT_CREDIT"] = frame["AMT_CREDIT"].astype(object)
    frame.loc[[3, 30, 300], "AMT_CREDIT"] = ["a lot", -5.0, None]
    frame.loc[7, "AMT_INCOME_TOTAL"] = 9e8  # valid, far outside the training range: warned
    scored = scorer.score_frame(frame)
    batch = scorer.score_batch(row_payloads(frame, range(len(frame))))
    assert {3, 30, 300} <= set(scored.errors) and set(scored.errors) == set(batch.errors)
    for i, error in scored.errors.items():
        assert [p.as_dict() for p in error.problems] == [p.as_dict() for p in batch.errors[i].problems]
    assert scored.indices.tolist() == sorted(batch.scores)
    for row, i in enumerate(scored.indices.tolist()):
        want = batch.scores[i]
        assert scored.probabilities[row] == want.probability and scored.decisions[row] == want.decision
        assert scored.warnings.get(i, []) == want.warnings and scored.client_refs[row] == want.client_ref
    assert scored.warnings[7] and scored.model_version == scorer.model.version
