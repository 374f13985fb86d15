"""Reading an uploaded CSV within limits, cell by cell, and writing the scored copy without formulas."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from scoring.columnar import validate_frame
from scoring.csv_table import (
    MAX_COLUMNS,
    CsvLimits,
    neutralise,
    read_csv_table,
    table_frame,
    table_payloads,
    write_scored_csv,
)
from scoring.errors import InvalidInput
from scoring.schema import FIELDS
from scoring.validation import validate_application

LIMITS = CsvLimits(max_bytes=1_000_000, max_rows=100)
HEADER = "SK_ID_CURR,NAME_CONTRACT_TYPE,AMT_INCOME_TOTAL,AMT_CREDIT,AMT_ANNUITY,DAYS_BIRTH"
GOOD = "100002,Cash loans,150000,500000,25000,-14000"


def write(tmp_path: Path, text: str | bytes, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def refusal(path: Path, limits: CsvLimits = LIMITS) -> tuple[str | None, str, str]:
    with pytest.raises(InvalidInput) as info:
        read_csv_table(path, limits)
    problem = info.value.problems[0]
    return problem.field, problem.kind, problem.message


def test_a_text_cell_in_a_number_column_stays_text_for_its_row_only(tmp_path):
    table = read_csv_table(write(tmp_path, f"{HEADER}\n{GOOD}\n100003,Cash loans,abc,500000,25000,-14000\n"), LIMITS)
    first, second = table_payloads(table)
    assert validate_application(first)[1] == "100002"
    assert second["AMT_INCOME_TOTAL"] == "abc"
    with pytest.raises(InvalidInput, match="AMT_INCOME_TOTAL: expected a number, got a string"):
        validate_application(second)


def test_a_blank_id_does_not_turn_the_others_into_floats(tmp_path):
    table = read_csv_table(write(tmp_path, f"{HEADER}\n{GOOD}\n,Cash loans,150000,500000,25000,-14000\n"), LIMITS)
    first, second = table_payloads(table)
    assert first["SK_ID_CURR"] == "100002" and "SK_ID_CURR" not in second
    assert validate_application(first)[1] == "100002" and validate_application(second)[1] is None


def test_ragged_rows_are_refused_as_such_and_do_not_shift_columns(tmp_path):
    text = f"{HEADER}\n{GOOD}\n100003,Cash loans,150000,500000\n{GOOD},extra\n{GOOD}\n"
    table = read_csv_table(write(tmp_path, text), LIMITS)
    assert sorted(table.refused) == [1, 2]
    assert table.refused[1].problems[0].message == "row 2 has 4 cells, the header has 6"
    assert table.refused[2].problems[0].kind == "ragged_row"
    assert table_payloads(table)[3] == table_payloads(table)[0]


def test_the_header_is_bounded_before_the_rows_are_read(tmp_path):
    wide = ",".join(f"c{i}" for i in range(MAX_COLUMNS + 1)) + "\n" + "1," * 10
    assert refusal(write(tmp_path, wide))[1:] == (
        "too_large",
        f"the header has more than {MAX_COLUMNS} columns (the limit)",
    )
    long_name = "A" * 70_000 + "\n1\n"
    assert refusal(write(tmp_path, long_name))[1] == "too_large"


def test_bytes_and_rows_are_limited_with_the_limit_named(tmp_path):
    path = write(tmp_path, f"{HEADER}\n" + f"{GOOD}\n" * 101)
    assert refusal(path) == (None, "batch_too_large", "too many rows: at most 100 per file")
    small = CsvLimits(max_bytes=100, max_rows=100)
    assert refusal(path, small)[1:] == ("too_large", f"the file is {path.stat().st_size:,} bytes; the limit is 100")


def test_file_level_refusals_name_no_cell_content(tmp_path):
    _, kind, message = refusal(write(tmp_path, b"AMT_CREDIT\n\xff\xfe secret\n"))
    assert kind == "invalid_csv" and "secret" not in message
    assert refusal(write(tmp_path, "AMT_CREDIT,AMT_CREDIT\n1,2\n"))[:2] == ("AMT_CREDIT", "duplicate_key")
    assert refusal(write(tmp_path, "AMT_CREDIT\n"))[2] == "the CSV has a header but no rows"
    assert refusal(write(tmp_path, "password,AMT_CREDIT\n1,2\n"))[1] == "unknown_field"


def test_formula_cells_are_neutralised_numbers_are_not(tmp_path):
    assert [neutralise(v) for v in ("=cmd|'/c calc'!A1", "+1+1", "-1+cmd", "@SUM(A1)", "\tx", "\rx")] == [
        "'=cmd|'/c calc'!A1",
        "'+1+1",
        "'-1+cmd",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
    ]
    assert [neutralise(v) for v in ("-14000", "-0.5", 1.5, None, "Cash loans")] == [
        "-14000",
        "-0.5",
        "1.5",
        "",
        "Cash loans",
    ]
    target = tmp_path / "out.csv"
    write_scored_csv(target, ["SK_ID_CURR", "errors"], [["=HYPERLINK(1)", "NAME: unknown label '=1+1'"]])
    rows = list(csv.reader(target.open()))
    assert rows[1] == ["'=HYPERLINK(1)", "NAME: unknown label '=1+1'"]


def test_the_table_and_the_json_rows_get_the_same_verdicts_and_words(tmp_path):
    """`table_frame` (columnar validator) and `table_payloads` (per-row validator) read a file alike."""
    rng = random.Random(5)
    header = ["SK_ID_CURR", *list(FIELDS)[:40]]
    odd = ["", "abc", "=1+1", " 12 ", "1.5", "-3", "inf", "1e400", "NaN", "Cash loans", " Cash loans", "0x10"]
    lines = [",".join(header)]
    for i in range(300):
        cells = []
        for name in header:
            spec = FIELDS.get(name)
            if rng.random() < 0.1:
                cells.append(rng.choice(odd))
            elif name == "SK_ID_CURR":
                cells.append(str(100_000 + i))
            elif spec.kind == "category":
                cells.append(rng.choice(spec.categories))
            else:
                low, high = spec.minimum or 0, min(spec.maximum or 1, (spec.minimum or 0) + 1e5)
                cells.append(str(rng.randint(int(low), int(high)) if spec.kind != "float" else rng.uniform(low, high)))
        lines.append(",".join(f'"{c}"' if "," in c else c for c in cells))
    lines.append("1,2")  # ragged
    table = read_csv_table(write(tmp_path, "\n".join(lines) + "\n"), CsvLimits(max_bytes=10**7, max_rows=1000))
    checked = validate_frame(table_frame(table))
    verdicts = {}
    for i, payload in enumerate(table_payloads(table)):
        try:
            validate_application(payload)
            verdicts[i] = None
        except InvalidInput as exc:
            verdicts[i] = [p.as_dict() for p in exc.problems]
    assert {i: [p.as_dict() for p in e.problems] for i, e in checked.errors.items()} == {
        i: v for i, v in verdicts.items() if v is not None
    }
    assert 300 in checked.errors and 0 < len(checked.errors) < 300
