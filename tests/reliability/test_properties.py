"""Property tests of the two pure gates every request passes: `decode_json` and `validate_application`.

Whatever they are given, they return or raise their own error (RequestRefused / InvalidInput), and the
error names a field, or has a kind that says why no field applies, plus a reason.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scoring.errors import InvalidInput
from scoring.features import encode_record
from scoring.schema import FIELDS, ID_COLUMN, REQUIRED
from scoring.validation import NonFinite, validate_application, validate_encoded
from service.api.body import decode_json
from service.api.problems import RequestRefused
from service.openapi import EXAMPLE_LOW_RISK
from tests.reliability.conftest import NO_FIELD_KINDS

PROPERTY_SETTINGS = settings(
    max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
PROBLEM_KINDS = {"unknown_field", "missing_field", "wrong_type", "unknown_category", "out_of_range", "not_an_object"}
DECODE_KINDS = {"empty_body", "invalid_json", "duplicate_key"}

names = st.sampled_from([*FIELDS, ID_COLUMN])
hostile_text = st.text(st.characters(codec="utf-8"), max_size=30) | st.sampled_from(
    ["", "\x00", "Cash loans\x00", "\u202eM", "M\u0301", "ＸＮＡ", "🙂", "a" * 10_000, " Cash loans"]
)
numbers = (
    st.integers()
    | st.integers(min_value=10**300, max_value=10**400)
    | st.floats()
    | st.sampled_from([NonFinite("NaN"), NonFinite("Infinity"), NonFinite("-Infinity"), 1e400, -0.0])
)
scalars = st.none() | st.booleans() | numbers | hostile_text
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3), max_leaves=8
)
category_values = st.sampled_from([c for spec in FIELDS.values() if spec.kind == "category" for c in spec.categories])


@st.composite
def applications(draw: st.DrawFn) -> dict:
    """Near-valid applications: a valid base with some fields replaced, removed or added."""
    payload = dict(EXAMPLE_LOW_RISK)
    for name in draw(st.lists(names, max_size=6)):
        payload[name] = draw(scalars | category_values | json_values)
    for name in draw(st.lists(st.sampled_from(REQUIRED), max_size=2)):
        payload.pop(name, None)
    for key in draw(st.lists(hostile_text, max_size=2)):
        payload[key] = draw(scalars)
    return payload


def _check_problems(error: InvalidInput) -> None:
    assert error.problems
    for problem in error.problems:
        assert problem.kind in PROBLEM_KINDS and problem.message
        assert problem.field is not None or problem.kind == "not_an_object"  # "" is a key someone sent


@PROPERTY_SETTINGS
@given(applications() | json_values)
def test_validation_raises_only_validation_error_naming_the_field(payload):
    try:
        clean, _ = validate_application(payload)
    except InvalidInput as exc:
        _check_problems(exc)
        return
    assert set(REQUIRED) <= set(clean)
    for name, value in clean.items():  # what passes is finite and inside the documented bounds
        spec = FIELDS[name]
        if spec.kind == "category":
            assert value in spec.categories
            continue
        assert not isinstance(value, bool) and math.isfinite(value)
        assert spec.minimum is None or value >= spec.minimum or value == 365243


@PROPERTY_SETTINGS
@given(applications() | json_values)
def test_the_fast_request_path_gives_the_same_verdict(payload):
    """`validate_encoded` (one pass, the request path) == `validate_application` + `encode_record`."""
    try:
        expected = validate_application(payload)
    except InvalidInput as exc:
        with pytest.raises(InvalidInput) as info:
            validate_encoded(payload)
        assert [p.as_dict() for p in info.value.problems] == [p.as_dict() for p in exc.problems]
        return
    clean, client_ref, row = validate_encoded(payload)
    assert (clean, client_ref) == expected
    assert [type(v) for v in clean.values()] == [type(v) for v in expected[0].values()]  # 2.0 -> 2 as before
    want = encode_record(expected[0])
    assert len(row) == len(want)
    assert all(a == b or (math.isnan(a) and math.isnan(b)) for a, b in zip(row, want, strict=True))


@PROPERTY_SETTINGS
@given(
    st.dictionaries(st.text(st.characters() | st.characters(categories=["Cs"]), max_size=5), st.integers(), max_size=3)
)
@example({"\ud800": 1})
def test_every_problem_can_be_sent_back_as_utf8_json(payload):
    try:
        validate_application({**EXAMPLE_LOW_RISK, **payload})
    except InvalidInput as exc:
        json.dumps([p.as_dict() for p in exc.problems], ensure_ascii=False).encode("utf-8")


def _mutations(text: str) -> st.SearchStrategy[bytes]:
    data = text.encode()
    cut = st.integers(min_value=0, max_value=len(data))
    return st.one_of(
        st.just(data),
        cut.map(lambda i: data[:i]),  # truncated
        st.tuples(cut, st.binary(min_size=1, max_size=4)).map(lambda t: data[: t[0]] + t[1] + data[t[0] :]),
        st.tuples(cut, cut).map(lambda t: data[: min(t)] + data[max(t) :]),  # a slice removed
    )


json_texts = json_values.map(lambda v: json.dumps(v, default=lambda o: o.literal))
bodies = (
    st.binary(max_size=200)
    | json_texts.flatmap(_mutations)
    | st.just(json.dumps(EXAMPLE_LOW_RISK)).flatmap(_mutations)
    | st.sampled_from(
        [
            b"",
            b" \n\t",
            b"1e400",
            b"-1e400",
            b"1" + b"0" * 5000,
            b"NaN",
            b"[" * 5000 + b"]" * 5000,
            b'{"a": 1, "a": 2}',
            b'{"\\ud800": 1}',
            b"\xef\xbb\xbf{}",
            b'"\\u0000"',
            b"\x00",
        ]
    )
)


@PROPERTY_SETTINGS
@given(bodies)
def test_decode_json_raises_only_request_refused_with_a_reason(body):
    try:
        value = decode_json(body)
    except RequestRefused as exc:
        assert exc.status == 400 and exc.kind in DECODE_KINDS and exc.message
        assert exc.field or exc.kind in NO_FIELD_KINDS
        return
    try:  # and whatever decodes, validation still answers with its own error only
        validate_application(value)
    except InvalidInput as exc:
        _check_problems(exc)


@PROPERTY_SETTINGS
@given(st.dictionaries(names, scalars, max_size=4), names)
def test_duplicate_keys_name_the_key(payload, name):
    text = json.dumps({**payload, name: 1}, default=lambda o: o.literal)
    doubled = text[:-1] + (", " if len(text) > 2 else "") + json.dumps(name) + ": 2}"
    with pytest.raises(RequestRefused) as info:
        decode_json(doubled.encode())
    assert info.value.kind == "duplicate_key" and info.value.field == name
