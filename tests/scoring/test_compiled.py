"""BATCH_RUNTIME (scoring/compiled.py): big batches through the trees compiled to C, in process.

A tiny model (40 trees, compiled by gcc in about a second) stands in for the committed one (~10 s).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from scoring.compiled import MIN_ROWS, TOLERANCE, BatchRuntime, check_rows, library_path
from scoring.compiled_exact import ThresholdIndex, on_a_threshold, split_thresholds, threshold_rows
from scoring.features import FEATURE_NAMES, build_features, encode_frame
from scoring.model import ScoringModel, load_model
from scoring.synth.generate import production_stream
from tests.scoring.tiny_models import train_tiny


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("compiled") / "tiny", rounds=40, rows=3_000)


def _rows(model: ScoringModel) -> np.ndarray:
    """300 applicants of the training population, 100 of them with 70 % of their features missing, and
    100 rows of check_rows's kind (values past the training ranges, category codes the model never saw)."""
    real = build_features(encode_frame(production_stream(300, seed=41)))
    real[200:][np.random.default_rng(3).random(real[200:].shape) < 0.7] = np.nan
    odd = check_rows(FEATURE_NAMES, ranges=model.metadata["ranges"], categories=model.metadata["categories"], seed=9)
    return np.vstack([real, odd[:100]])


def test_compiled_batches_give_the_boosters_probabilities_and_a_cached_library_is_reused(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = load_model(tiny)
    rows = _rows(model)
    runtime = model.batch_runtime(mode="tl2cgen", folder=tmp_path / "compiled")
    assert runtime.in_use == "booster" and model.batch_status()["state"] == "pending"
    assert runtime.build() and runtime.compiled_now
    assert model.batch_status() == {"in_use": "tl2cgen", "setting": "tl2cgen", "state": "ready", "reason": None}

    want = model.booster.predict(rows, num_threads=1)
    compiled = runtime.predictor(rows)
    assert len(rows) >= MIN_ROWS and np.max(np.abs(model.predict(rows) - want)) <= TOLERANCE
    assert np.max(np.abs(compiled - want)) <= TOLERANCE
    assert np.isnan(rows[200:300]).mean() > 0.6 and np.all((compiled >= 0) & (compiled <= 1))
    assert np.array_equal(model.predict(rows[:3]), model.booster.predict(rows[:3]))  # small calls: the Booster

    library = library_path(model.booster, tmp_path / "compiled")
    built_at = library.stat().st_mtime_ns
    assert [p.name for p in library.parent.iterdir()] == [library.name]  # no temporary file left behind
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))  # a second start without any compiler
    again = load_model(tiny).batch_runtime(mode="auto", folder=tmp_path / "compiled")
    assert again.build() and not again.compiled_now and again.in_use == "tl2cgen"
    assert library.stat().st_mtime_ns == built_at
    assert np.max(np.abs(again.predictor(rows) - want)) <= TOLERANCE


@pytest.mark.parametrize(("mode", "level"), [("auto", logging.INFO), ("tl2cgen", logging.WARNING)])
def test_without_a_compiler_batches_stay_on_the_booster_and_say_why(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, mode: str, level: int
) -> None:
    model = load_model(tiny)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    runtime = model.batch_runtime(mode=mode, folder=tmp_path / "compiled")
    with caplog.at_level(logging.INFO, logger="scoring.compiled"):
        runtime.start()
        assert runtime.wait(timeout=30) is False
    status = model.batch_status()
    assert status["in_use"] == "booster" and status["state"] == "unavailable"
    assert "no C compiler (gcc) on PATH" in status["reason"]
    said = [r for r in caplog.records if r.getMessage() == "batch runtime stays on the booster"]
    assert [r.levelno for r in said] == [level] and said[0].reason == status["reason"]
    assert not (tmp_path / "compiled").exists() or not any((tmp_path / "compiled").iterdir())
    rows = _rows(model)
    assert np.array_equal(model.predict(rows), model.booster.predict(rows, num_threads=0))


def test_a_library_that_disagrees_with_the_booster_is_not_used(tiny: Path, tmp_path: Path) -> None:
    """Another model's library under this model's name (a corrupt cache): the check rows catch it."""
    other = train_tiny(tmp_path / "other", rounds=5, rows=1_000, seed=8)
    donor = BatchRuntime(load_model(other).booster, mode="tl2cgen", folder=tmp_path / "donor")
    assert donor.build()
    model = load_model(tiny)
    target = library_path(model.booster, tmp_path / "compiled")
    target.parent.mkdir()
    target.write_bytes(library_path(donor.booster, tmp_path / "donor").read_bytes())
    runtime = model.batch_runtime(mode="auto", folder=tmp_path / "compiled")
    assert runtime.build() is False and runtime.in_use == "booster"
    assert "differs from booster.predict" in runtime.reason


def test_mode_booster_never_builds(tiny: Path, tmp_path: Path) -> None:
    model = load_model(tiny)
    runtime = model.batch_runtime(mode="booster", folder=tmp_path / "compiled")
    assert runtime.start() is None and runtime.build() is False
    assert model.batch_status() == {"in_use": "booster", "setting": "booster", "state": "off", "reason": None}
    assert not (tmp_path / "compiled").exists()
    with pytest.raises(ValueError, match="unknown batch runtime"):
        BatchRuntime(model.booster, mode="onnx", folder=tmp_path)


def test_the_image_builds_the_library_ahead_of_time(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python -m scoring.compile_model` (the Dockerfile's builder stage): exit 0 and the checked library
    where the service looks; exit 1 with the reason where nothing can compile it."""
    from scoring.compile_model import main

    assert main([str(tiny), str(tmp_path / "compiled")]) == 0
    assert library_path(load_model(tiny).booster, tmp_path / "compiled").is_file()
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    assert main([str(tiny), str(tmp_path / "elsewhere")]) == 1


def test_inputs_on_a_split_threshold_take_the_boosters_branch(tiny: Path, tmp_path: Path) -> None:
    """A value exactly on a split threshold, or one float step either side of it, must go where LightGBM
    sends it: the compiled trees alone send some "on" values the other way, so those rows are found and
    given to the Booster (`exact_at_thresholds`)."""
    model = load_model(tiny)
    runtime = model.batch_runtime(mode="tl2cgen", folder=tmp_path / "compiled")
    assert runtime.build()
    base = build_features(encode_frame(production_stream(4, seed=5)))
    thresholds = split_thresholds(model.booster)
    matrix = threshold_rows(thresholds, base)
    assert len(matrix) >= MIN_ROWS  # a batch: the compiled library answers it
    hits = on_a_threshold(matrix, thresholds)
    assert hits[1::3].all() and not hits[0::3].any() and not hits[2::3].any()  # exactly the "on" rows
    assert np.array_equal(ThresholdIndex(thresholds).rows(matrix), hits)  # the hashed lookup the batches use
    want = model.booster.predict(matrix, num_threads=1)
    assert np.max(np.abs(model.predict(matrix) - want)) <= TOLERANCE
    assert np.max(np.abs(runtime.predictor(matrix) - want)) <= TOLERANCE


def test_an_openmp_limit_set_earlier_in_the_process_does_not_stop_the_build(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Something else in the process (a thread-isolated analysis worker used to) left OpenMP at one
    thread: tl2cgen refuses nthread=2 under that limit unless the build lifts it for the Predictor."""
    from threadpoolctl import threadpool_limits

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    model = load_model(tiny)
    runtime = BatchRuntime(model.booster, mode="tl2cgen", folder=tmp_path / "compiled", threads=2)
    with threadpool_limits(1, user_api="openmp"):
        assert runtime.build(), runtime.reason
    rows = _rows(model)
    assert np.max(np.abs(runtime.predictor(rows) - model.booster.predict(rows, num_threads=1))) <= TOLERANCE
