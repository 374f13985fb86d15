"""The Batch tab's callback in process: a bad cell rejects its row, every reason lands in the file, one batch id.

The callback is called directly with a file placed in Gradio's upload folder (a temp folder here) and
recorded as the upload route records it; a path the upload route never stored is refused.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd
import pytest
from gradio.context import LocalContext

from scoring.predict import Scorer
from service.metrics import Metrics
from service.scoring import ScoringService
from service.ui.blocks import build_ui
from service.ui.uploads import BatchFiles
from tests.factories import log_writer

HEADER = ["SK_ID_CURR", "NAME_CONTRACT_TYPE", "AMT_INCOME_TOTAL", "AMT_CREDIT", "AMT_ANNUITY", "DAYS_BIRTH"]
GOOD = ["Cash loans", "150000", "500000", "25000", "-14000"]


class FakeRequest:
    session_hash = "session-1"


@pytest.fixture
def upload_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "gradio"
    folder.mkdir()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(folder))
    return folder


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path / "predictions"


@pytest.fixture
def blocks(model, log_dir: Path, upload_dir: Path) -> gr.Blocks:
    service = ScoringService(Scorer(model), log_writer(log_dir), Metrics())
    built = build_ui(service, max_rows=50, concurrency=2, max_upload_bytes=100_000)
    token = LocalContext.blocks.set(built)
    yield built
    LocalContext.blocks.reset(token)


def on_run(blocks: gr.Blocks) -> Any:
    return next(f.fn for f in blocks.fns.values() if f.name == "on_run")


def uploaded(blocks: gr.Blocks, upload_dir: Path, rows: list[list[str]], name: str = "apps.csv") -> str:
    """A CSV placed where the upload route stores files, and recorded as it records them."""
    folder = upload_dir / f"upload-{len(blocks.upload_file_set)}"
    folder.mkdir()
    path = folder / name
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    blocks.upload_file_set.add(str(path))
    return str(path)


def logged(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for path in sorted(folder.rglob("*.jsonl")) for line in path.read_text().splitlines()]


def run(blocks: gr.Blocks, path: str) -> tuple[str, list[dict[str, str]], Any]:
    text, scored, table = on_run(blocks)(path, FakeRequest(), progress=None)
    with open(scored, newline="") as handle:
        return text, list(csv.DictReader(handle)), table


def test_one_bad_cell_rejects_its_row_with_every_reason(blocks, upload_dir, log_dir):
    rows = [HEADER] + [[str(100_000 + i), *GOOD] for i in range(6)]
    rows[3][2] = "abc"  # AMT_INCOME_TOTAL of the third applicant
    rows[4][4], rows[4][5] = "", "5"  # AMT_ANNUITY missing and DAYS_BIRTH impossible
    rows[5][0] = ""  # a blank id: the other ids stay strings
    text, out, table = run(blocks, uploaded(blocks, upload_dir, rows))
    assert [r["status"] for r in out] == ["ok", "ok", "rejected", "rejected", "ok", "ok"]
    assert out[2]["errors"] == "AMT_INCOME_TOTAL: expected a number, got a string"
    assert (
        out[3]["errors"].startswith("DAYS_BIRTH: 5 is impossible") and "AMT_ANNUITY: required field" in out[3]["errors"]
    )
    assert out[4]["SK_ID_CURR"] == "" and out[4]["probability"]
    assert table.values.tolist()[0] == [3, "100002", "AMT_INCOME_TOTAL", "expected a number, got a string"]
    assert len(table) == 3 and set(table["SK_ID_CURR"]) == {"100002", "100003"}
    assert "**4** scored, **2** rejected" in text
    log = logged(log_dir)
    batch_ids = {r["batch_id"] for r in log if r["kind"] == "prediction"}
    assert len(batch_ids) == 1 and batch_ids.pop() in text
    assert sorted(r["batch_index"] for r in log if r["kind"] == "prediction") == [0, 1, 4, 5]
    assert sorted(r["request_id"].rsplit("-", 1)[1] for r in log if r["kind"] == "rejection") == ["2", "3"]


def _parquet(blocks: gr.Blocks, upload_dir: Path, frame: pd.DataFrame, name: str = "apps.parquet") -> str:
    folder = upload_dir / f"upload-{len(blocks.upload_file_set)}"
    folder.mkdir()
    path = folder / name
    frame.to_parquet(path, index=False)
    blocks.upload_file_set.add(str(path))
    return str(path)


def test_a_parquet_upload_is_scored_and_logged_as_the_same_csv(blocks, upload_dir, log_dir):
    rows = [HEADER] + [[str(100_000 + i), *GOOD] for i in range(5)]
    frame = pd.DataFrame(
        {
            "SK_ID_CURR": pd.array([100_000 + i for i in range(5)], dtype="Int64"),
            "NAME_CONTRACT_TYPE": ["Cash loans"] * 5,
            "AMT_INCOME_TOTAL": [150000.0] * 5,
            "AMT_CREDIT": [500000.0] * 5,
            "AMT_ANNUITY": [25000.0, 25000.0, None, 25000.0, 25000.0],
            "DAYS_BIRTH": [-14000, -14000, -14000, 5, -14000],  # an impossible age on the fourth row
            "TARGET": [0, 1, 0, 0, 1],  # set aside, as in a CSV
        }
    )
    rows[3][4], rows[4][5] = "", "5"
    _, by_csv, _ = run(blocks, uploaded(blocks, upload_dir, rows))
    text, by_parquet, table = run(blocks, _parquet(blocks, upload_dir, frame))
    assert [r["status"] for r in by_parquet] == ["ok", "ok", "rejected", "rejected", "ok"]
    for ours, theirs in zip(by_parquet, by_csv, strict=True):
        assert (ours["status"], ours["errors"], ours["decision"]) == (
            theirs["status"],
            theirs["errors"],
            theirs["decision"],
        )
        assert ours["probability"] == theirs["probability"] and ours["SK_ID_CURR"] == theirs["SK_ID_CURR"]
    assert by_parquet[2]["errors"] == "AMT_ANNUITY: required field is missing or null"
    assert sorted(table["row"].tolist()) == [3, 4] and "**3** scored, **2** rejected" in text
    batch_id = text.split("Batch id `")[1].split("`")[0]
    predictions = [r for r in logged(log_dir) if r["kind"] == "prediction" and r["batch_id"] == batch_id]
    assert sorted(r["batch_index"] for r in predictions) == [0, 1, 4]


def test_a_parquet_upload_over_the_row_limit_or_unreadable_is_refused(blocks, upload_dir):
    big = pd.DataFrame({"AMT_CREDIT": [1.0] * 51})
    with pytest.raises(gr.Error, match="at most 50 per file"):
        run(blocks, _parquet(blocks, upload_dir, big))
    folder = upload_dir / "fake"
    folder.mkdir()
    fake = folder / "fake.parquet"
    fake.write_bytes(b"PAR1 this is not parquet")
    blocks.upload_file_set.add(str(fake))
    with pytest.raises(gr.Error, match="not a readable Parquet table"):
        run(blocks, str(fake))


def test_a_small_parquet_upload_that_decodes_past_the_byte_limit_is_refused(blocks, upload_dir, log_dir):
    frame = pd.DataFrame([dict(zip(HEADER, ["1", *GOOD], strict=True))])
    frame["NAME_CONTRACT_TYPE"] = "A" * 3_000_000  # 3 MB of text in a few kB of Parquet; the limit is 100 kB
    folder = upload_dir / "bomb"
    folder.mkdir()
    path = folder / "bomb.parquet"
    frame.to_parquet(path, index=False, compression="zstd")
    assert path.stat().st_size < 100_000
    blocks.upload_file_set.add(str(path))
    with pytest.raises(gr.Error, match=r"decodes to 3,0[0-9,]+ bytes; the limit is 100,000"):
        run(blocks, str(path))
    assert not logged(log_dir)


def test_ragged_rows_and_formulas(blocks, upload_dir):
    rows = [HEADER, ["100001", *GOOD], ["100002", "Cash loans", "1"], ['=HYPERLINK("x")', *GOOD]]
    _, out, table = run(blocks, uploaded(blocks, upload_dir, rows))
    assert [r["status"] for r in out] == ["ok", "rejected", "ok"]
    assert table.values.tolist() == [[2, "100002", None, "row 2 has 3 cells, the header has 6"]]
    assert out[1]["errors"] == "row 2 has 3 cells, the header has 6"
    assert out[2]["SK_ID_CURR"] == '\'=HYPERLINK("x")' and out[0]["DAYS_BIRTH"] == "-14000"


def test_a_re_upload_is_flagged_with_the_earlier_batch(blocks, upload_dir):
    rows = [HEADER, ["100001", *GOOD]]
    first, _, _ = run(blocks, uploaded(blocks, upload_dir, rows))
    second, _, _ = run(blocks, uploaded(blocks, upload_dir, rows, name="copy.csv"))
    assert "Already scored" not in first
    earlier = first.split("Batch id `")[1].split("`")[0]
    assert "Already scored" in second and earlier in second


def test_a_path_never_uploaded_is_refused_without_its_content(blocks, upload_dir, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("SK_ID_CURR,PASSWORD_HASH\n1,hunter2\n")
    inside = upload_dir / "elsewhere" / "x.csv"  # in the upload folder, but not stored by the upload route
    inside.parent.mkdir()
    inside.write_text(secret.read_text())
    for path in (secret, inside):
        with pytest.raises(gr.Error) as info:
            on_run(blocks)(str(path), FakeRequest(), progress=None)
        assert "not uploaded" in info.value.message and "PASSWORD" not in info.value.message


def test_file_limits_refuse_with_the_limit(blocks, upload_dir):
    rows = [HEADER] + [["1", *GOOD]] * 51
    with pytest.raises(gr.Error, match="at most 50 per file"):
        run(blocks, uploaded(blocks, upload_dir, rows))


def test_session_end_deletes_the_upload_and_the_result(blocks, upload_dir):
    path = uploaded(blocks, upload_dir, [HEADER, ["1", *GOOD]])
    _, scored, _ = on_run(blocks)(path, FakeRequest(), progress=None)
    end = next(f.fn for f in blocks.fns.values() if f.name == "end_session")
    end(FakeRequest())
    assert not Path(path).exists() and not Path(scored).exists()


def test_scored_files_expire_after_the_ttl(blocks, tmp_path):
    assert blocks.delete_cache == (60, 900)  # Gradio's own sweep of uploads and outputs
    files = BatchFiles(ttl_s=60, root=tmp_path / "scored")
    old, fresh = files.scored_path("old", session=None), files.scored_path("fresh", session=None)
    old.write_text("x")
    fresh.write_text("y")
    os.utime(old.parent, (0, 0))
    files.sweep()
    assert not old.exists() and fresh.exists()
