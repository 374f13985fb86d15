"""The column-wise batch validator gives exactly the verdicts of the per-row validator."""

from __future__ import annotations

import random

import numpy as np
import pytest

from scoring.errors import InvalidInput
from scoring.features import CATEGORY_CODES, encode_record
from scoring.schema import FIELDS, RAW_COLUMNS
from scoring.validation import NonFinite, validate_application, validate_many

BAD_VALUES = [
    "abc",
    "450000",
    True,
    None,
    [1],
    {"a": 1},
    float("nan"),
    float("inf"),
    10**400,
    -1,
    -1.5,
    2.5,
    1e12,
    0,
    1,
    3.0,
    NonFinite("NaN"),
    "Cash loans",
    "Mortgage",
    "",
    "é\x00",
    365243,
    -40000,
    2,
]


def _mutate(payload: dict, rng: random.Random) -> object:
    choice = rng.random()
    if choice < 0.03:
        return rng.choice([None, [], "text", 3])
    out = dict(payload)
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        if roll < 0.1:
            out[rng.choice(["UNKNOWN", "amt_credit", "SK_ID_CURR"])] = rng.choice(BAD_VALUES)
        elif roll < 0.2:
            out.pop(rng.choice(list(out)), None)
        else:
            out[rng.choice(RAW_COLUMNS)] = rng.choice(BAD_VALUES)
    return out


def _verdicts(payloads):
    verdicts = []
    for payload in payloads:
        try:
            verdicts.append(validate_application(payload))
        except InvalidInput as exc:
            verdicts.append(exc)
    return verdicts


@pytest.mark.parametrize("seed", range(4))
def test_same_verdicts_as_the_row_validator(applications, seed):
    rng = random.Random(seed)
    payloads = [a if rng.random() < 0.5 else _mutate(a, rng) for a in applications]
    batch = validate_many(payloads, CATEGORY_CODES)
    expected = _verdicts(payloads)
    expected_errors = {i: v for i, v in enumerate(expected) if isinstance(v, InvalidInput)}
    assert set(batch.errors) == set(expected_errors)
    for i, error in batch.errors.items():
        assert [p.as_dict() for p in error.problems] == [p.as_dict() for p in expected_errors[i].problems]
    assert batch.indices == [i for i in range(len(payloads)) if i not in expected_errors]
    for row, i in enumerate(batch.indices):
        clean, ref = expected[i]
        assert batch.clean[row] == clean
        assert batch.client_refs[row] == ref
        np.testing.assert_array_equal(batch.raw[row], np.array(encode_record(clean)))
    assert 0 < len(batch.errors) < len(payloads)


def test_every_field_kind_round_trips(applications):
    batch = validate_many(applications, CATEGORY_CODES)
    assert not batch.errors or all(e.field == "AMT_ANNUITY" for e in batch.errors.values())
    assert {k for c in batch.clean for k in c} <= set(FIELDS)
