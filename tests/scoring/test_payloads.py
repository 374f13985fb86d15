"""`scoring.payloads.frame_to_payloads`: what the batch tab, the simulator and the tests send."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from scoring.payloads import frame_to_payloads
from scoring.schema import ID_COLUMN, TARGET_COLUMN
from scoring.synth.generate import production_stream


def test_missing_cells_are_left_out_whatever_their_kind() -> None:
    frame = pd.DataFrame(
        {
            "AMT_CREDIT": [1.5, np.nan, 3.0],
            "NAME_CONTRACT_TYPE": pd.array(["Cash loans", None, pd.NA], dtype=object),
            "CNT_CHILDREN": [0, 1, 2],
        }
    )
    assert frame_to_payloads(frame) == [
        {"AMT_CREDIT": 1.5, "NAME_CONTRACT_TYPE": "Cash loans", "CNT_CHILDREN": 0},
        {"CNT_CHILDREN": 1},
        {"AMT_CREDIT": 3.0, "CNT_CHILDREN": 2},
    ]


def test_numpy_scalars_become_python_numbers() -> None:
    # object columns keep numpy scalars in their cells, as a CSV read with mixed dtypes does
    frame = pd.DataFrame({"A": [np.int64(1), np.int64(2)], "B": [np.float32(0.5), np.float32(1.0)]}, dtype=object)
    payloads = frame_to_payloads(frame)
    assert [type(v) for v in payloads[0].values()] == [int, float]
    json.dumps(payloads)  # the standard encoder accepts only Python numbers


def test_drop_ignores_absent_columns_and_keeps_the_order() -> None:
    frame = pd.DataFrame({"B": [1], ID_COLUMN: [7], "A": [2]})
    assert list(frame_to_payloads(frame, drop=(ID_COLUMN, TARGET_COLUMN))[0]) == ["B", "A"]


def test_a_generated_stream_round_trips_every_present_value() -> None:
    frame = production_stream(300, seed=5, scenario="bureau_outage")
    payloads = frame_to_payloads(frame, drop=(TARGET_COLUMN, ID_COLUMN))
    assert len(payloads) == len(frame)
    inputs = frame.drop(columns=[TARGET_COLUMN, ID_COLUMN])
    for payload, (_, row) in zip(payloads, inputs.iterrows(), strict=True):
        present = row[row.notna()]
        assert list(payload) == list(present.index)
        assert all(payload[k] == v for k, v in present.items())
        assert not any(isinstance(v, float) and math.isnan(v) for v in payload.values())
