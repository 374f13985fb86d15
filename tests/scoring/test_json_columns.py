"""scoring.json_columns: a table's JSON built column by column parses to what a dict per row gives."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest

from scoring.json_columns import join_columns, json_key, number_items, text_items


def test_rows_joined_from_columns_are_the_dicts_orjson_writes():
    ids = np.array([3, 10, -7], dtype=np.int64)
    scores = np.array([0.1 + 0.2, np.nan, 1e-9])
    labels = ["a,b", 'say "hi"', "é"]  # commas and quotes: one orjson call per text
    parts = [json_key("id", first=True), number_items(ids), json_key("score"), number_items(scores)]
    parts += [json_key("label"), text_items(labels), json_key("rate") + b'"5%"', b"}", b"\n"]
    text = join_columns(3, parts)
    rows = [
        {"id": int(i), "score": None if np.isnan(s) else float(s), "label": t, "rate": "5%"}
        for i, s, t in zip(ids, scores, labels, strict=True)
    ]
    assert text == b"".join(orjson.dumps(row) + b"\n" for row in rows)
    assert [json.loads(line) for line in text.splitlines()] == rows


def test_text_items_take_one_call_without_commas_and_stay_right_with_them():
    assert text_items(["approve", "refuse", None]) == [b'"approve"', b'"refuse"', b"null"]
    assert text_items(["x,y", "z"]) == [b'"x,y"', b'"z"']
    assert text_items([]) == [] and number_items(np.array([], dtype=np.int64)) == []


def test_a_column_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="2 items for 3 rows"):
        join_columns(3, [b"{", [b"1", b"2"], b"}"])
    assert join_columns(2, [b"{}", b","]) == b"{},{},"
