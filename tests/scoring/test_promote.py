"""`python -m scoring.promote`: the gate refuses a harmful candidate and changes nothing, passes a retrain,
promotes it into model/ keeping the previous bytes, and rolls back to exactly those bytes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from scoring.promote.cli import main
from scoring.promote.sides import folder_hashes
from tests.scoring.tiny_models import train_tiny

pytestmark = pytest.mark.slow  # trains three tiny models (a few seconds)
HOLDOUT = ["--holdout-rows", "4000"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, Path]:
    """A champion, a retrain of it on the same data, a candidate with 3 trees instead of 120, and one
    trained with the men who defaulted weighing three times as much (it treats men and women apart)."""
    root = tmp_path_factory.mktemp("tiny")
    return {
        "champion": train_tiny(root / "champion", rounds=120),
        "retrain": train_tiny(root / "retrain", rounds=120),
        "weak": train_tiny(root / "weak", rounds=3),
        "unfair": train_tiny(root / "unfair", rounds=120, male_default_weight=3.0),
    }


@pytest.fixture
def site(tmp_path, trained) -> Path:
    """A working copy: model/ holds the champion; candidates sit beside it."""
    shutil.copytree(trained["champion"], tmp_path / "model")
    for name in ("retrain", "weak", "unfair"):
        shutil.copytree(trained[name], tmp_path / name)
    return tmp_path


def gate(site: Path, *extra: str) -> int:
    return main(["--model-dir", str(site / "model"), "--records", str(site / "records"), *HOLDOUT, *extra])


def records(site: Path) -> list[dict]:
    """The decision records written so far, oldest first (two written in one second differ by a suffix)."""
    paths = sorted((site / "records").glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    return [json.loads(p.read_text()) for p in paths]


def test_harmful_candidate_is_refused_by_name_and_nothing_changes(site, capsys):
    before = folder_hashes(site / "model")
    assert gate(site, "--candidate", str(site / "weak")) == 1
    out = capsys.readouterr().out
    assert "gate FAILED" in out and "holdout:roc_auc" in out
    assert folder_hashes(site / "model") == before
    assert not (site / "models_history").exists()
    (record,) = records(site)
    assert record["decision"] == "fail" and "holdout:roc_auc" in record["failed_checks"]
    auc = next(c for c in record["checks"] if c["name"] == "holdout:roc_auc")
    assert auc["candidate"] < auc["champion"] - 0.005
    assert record["candidate"]["sha256_model_lgb"] == folder_hashes(site / "weak")["model.lgb"]
    assert record["changes"] == {}


def test_a_candidate_that_widens_the_gender_gap_is_refused_for_it(site, capsys):
    before = folder_hashes(site / "model")
    assert gate(site, "--candidate", str(site / "unfair")) == 1
    assert "holdout:gender_gap" in capsys.readouterr().out
    (record,) = records(site)
    gap = next(c for c in record["checks"] if c["name"] == "holdout:gender_gap")
    assert gap["status"] == "fail" and gap["candidate"] > gap["champion"] + gap["tolerance"]
    rates = record["measures"]["holdout"]["candidate"]["approval_by_group"]["gender"]
    assert gap["candidate"] == pytest.approx(max(rates.values()) - min(rates.values()))
    assert folder_hashes(site / "model") == before


def test_retrain_passes_promotes_and_rollback_restores_exact_bytes(site, capsys):
    champion_bytes = folder_hashes(site / "model")
    candidate_bytes = folder_hashes(site / "retrain")
    assert gate(site, "--candidate", str(site / "retrain")) == 0
    assert "gate PASSED" in capsys.readouterr().out
    assert folder_hashes(site / "model") == candidate_bytes
    (promoted,) = records(site)
    assert promoted["decision"] == "pass" and promoted["action"] == "promote"
    assert {c["status"] for c in promoted["checks"]} == {"pass"}
    assert promoted["parity"]["max_abs_difference"] <= 1e-9 and promoted["parity"]["rows"] == 4000
    kept = Path(promoted["changes"]["previous_kept_in"])
    assert folder_hashes(kept) == champion_bytes

    assert gate(site, "--rollback") == 0
    assert folder_hashes(site / "model") == champion_bytes
    rollback = next(r for r in records(site) if r["action"] == "rollback")
    assert rollback["restored"]["files"] == champion_bytes
    assert rollback["replaced"]["sha256_model_lgb"] == candidate_bytes["model.lgb"]

    capsys.readouterr()
    assert gate(site, "--rollback") == 2
    assert "nothing to roll back" in capsys.readouterr().err
    assert folder_hashes(site / "model") == champion_bytes


def test_dry_run_prints_the_record_and_writes_nothing(site, capsys):
    before = folder_hashes(site / "model")
    assert gate(site, "--candidate", str(site / "weak"), "--dry-run") == 1
    out = capsys.readouterr().out
    assert "# Promotion gate: FAIL" in out and "| holdout:roc_auc |" in out
    assert folder_hashes(site / "model") == before
    assert not (site / "records").exists() and not (site / "models_history").exists()


def test_unloadable_candidate_is_a_clear_error(site, capsys):
    (site / "broken").mkdir()
    assert gate(site, "--candidate", str(site / "broken")) == 2
    assert "candidate" in capsys.readouterr().err


def test_a_candidate_missing_a_release_file_is_refused_and_nothing_changes(site, capsys):
    before = folder_hashes(site / "model")
    (site / "retrain" / "reference.parquet").unlink()  # it loads and scores; the monitoring needs it
    assert gate(site, "--candidate", str(site / "retrain")) == 2
    assert "lacks reference.parquet" in capsys.readouterr().err
    assert folder_hashes(site / "model") == before and not (site / "models_history").exists()


def production_log(site: Path, folder: Path) -> tuple[list[int], str]:
    """1,500 applicants scored by the champion through the real log writer; outcomes of the approved ones."""
    from monitoring.outcomes.store import OutcomeStore
    from scoring.model import load_model
    from tests.factories import log_writer, scored_frame, write_log

    champion = load_model(site / "model")
    frame = scored_frame(champion, 1_500, seed=9)
    write_log(log_writer(folder), frame)
    approved = [i for i, d in enumerate(frame["decision"]) if d == "approve"]
    items = [{"request_id": f"r{i}", "defaulted": bool(frame["TARGET"].iloc[i])} for i in approved]
    writer = log_writer(folder, replica_id="outcomes")
    OutcomeStore(writer, dirs=[folder], salt=None).record(items, channel="rest")
    writer.close()
    return approved, champion.version


def test_production_rows_of_a_log_are_judged_too(site, tmp_path):
    """With --log, both models re-score every logged application: approval gaps on all rows, AUC, cost and
    Brier on the rows with an outcome (approved loans only); the champion's re-scoring matches the log."""
    approved, version = production_log(site, tmp_path / "log")
    assert gate(site, "--candidate", str(site / "weak"), "--log", str(tmp_path / "log")) == 1
    (record,) = records(site)
    production = next(d for d in record["data"] if d["name"] == "production")
    assert production["rows"] == 1_500 and production["labelled"] == len(approved)
    assert production["served_by"] == [version] and production["labels_dropped_candidate_trained_on"] == 0
    measured = record["measures"]["production"]["champion"]
    assert measured["approval_rate"] == pytest.approx(len(approved) / 1_500)
    names = {c["name"]: c["status"] for c in record["checks"]}
    assert names["production:roc_auc"] in {"pass", "fail"}  # judged, not skipped: enough labels
    assert names["production:gender_gap"] in {"pass", "fail"}

    # A candidate retrained on this log's labelled rows is not judged on them: their labels are dropped.
    metadata_file = site / "weak" / "metadata.json"
    metadata = json.loads(metadata_file.read_text())
    metadata["data"]["production"] = {"production_last_ts": "2099-01-01T00:00:00+00:00"}
    metadata_file.write_text(json.dumps(metadata))
    gate(site, "--candidate", str(site / "weak"), "--log", str(tmp_path / "log"))
    latest = records(site)[-1]
    production = next(d for d in latest["data"] if d["name"] == "production")
    assert production["labelled"] == 0 and production["labels_dropped_candidate_trained_on"] == len(approved)
    names = {c["name"]: c["status"] for c in latest["checks"]}
    assert names["production:roc_auc"] == "skipped" and names["production:gender_gap"] != "skipped"
