"""The challenger in shadow, in process: scored after the champion's row is written, never in its way.

The real ScoringService, Scorer, PredictionLog and read_log; the challengers are the committed model
(the same model twice), the session registry's tiny v2 (a different model), and stand-ins whose
predict raises or blocks (what a broken or slow challenger does to the requests: nothing).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from monitoring.drift.pair import agreement, both_scored, swap_matrix
from monitoring.log.reader import CHALLENGER_COLUMNS, read_log
from scoring.model import load_model
from scoring.predict import Scorer
from scoring.registry import resolve_model
from service.metrics import Metrics
from service.scoring import ScoringService
from service.shadow import ShadowScorer
from tests.factories import MODEL_DIR, RegistryStore, log_writer


class ExplodingModel:
    """A challenger that loaded but cannot score (its predict raises)."""

    version, threshold, threads = "broken-1", 0.5, None

    def predict(self, features: np.ndarray) -> np.ndarray:
        raise RuntimeError("challenger exploded")


class GatedModel:
    """A challenger that blocks in predict until `release` is set (a slow or stuck model)."""

    version, threshold, threads = "gated-1", 0.5, None

    def __init__(self) -> None:
        self.entered, self.release = threading.Event(), threading.Event()

    def predict(self, features: np.ndarray) -> np.ndarray:
        self.entered.set()
        self.release.wait(30)
        return np.full(len(features), 0.25)


def _service(folder: Path, model: Any, challenger: Any, *, max_queue: int = 256) -> ScoringService:
    metrics = Metrics()
    sink = log_writer(folder)
    shadow = ShadowScorer(challenger, sink, metrics, max_queue=max_queue) if challenger is not None else None
    return ScoringService(Scorer(model), sink, metrics, shadow=shadow)


def _every_door(service: ScoringService, applications: list[dict[str, Any]]) -> list[str]:
    """Single requests, a JSON batch (with one bad row) and a table: the three ways into the service."""
    ids = [service.score(a, channel="rest")["request_id"] for a in applications[:20]]
    batch = service.score_batch([*applications[20:40], {"AMT_CREDIT": -1}], channel="rest_batch")
    ids += [r["request_id"] for r in batch["results"] if r["status"] == "ok"]
    table = service.score_table(pd.DataFrame(applications[40:70]), channel="gradio_batch")
    ids += [r["request_id"] for r in table["results"] if r["status"] == "ok"]
    return ids


def _shadow_count(service: ScoringService, outcome: str) -> float:
    for line in service.metrics.render().splitlines():
        if line.startswith(f'scoring_shadow_rows_total{{outcome="{outcome}"}}'):
            return float(line.split()[-1])
    return 0.0


def test_no_challenger_means_no_queue_no_thread(tmp_path: Path, model) -> None:
    from app import _scoring_service
    from service.settings import Settings

    before = {t.ident for t in threading.enumerate()}
    service = _scoring_service(Settings(), model, log_writer(tmp_path), challenger=None)
    service.score_batch([{"AMT_CREDIT": -1}], channel="rest")
    assert service.shadow is None
    assert {t.ident for t in threading.enumerate()} - before == set()
    assert "scoring_shadow_rows_total{" not in service.metrics.render()


def test_the_same_model_as_challenger_agrees_on_every_row(tmp_path: Path, model, applications) -> None:
    service = _service(tmp_path, model, load_model(MODEL_DIR))
    ids = _every_door(service, applications)
    assert service.shadow is not None and service.shadow.close() == 0
    frame = read_log([tmp_path]).predictions
    assert sorted(frame["request_id"]) == sorted(ids)  # each prediction logged exactly once
    assert frame["challenger_probability"].notna().all()
    assert (frame["challenger_probability"] == frame["probability"]).all()  # identical, not close
    assert (frame["challenger_decision"] == frame["decision"]).mean() == 1.0
    assert set(frame["challenger_version"]) == {model.version}
    assert _shadow_count(service, "scored") == len(ids)
    pair = agreement(both_scored(frame))  # what the Monitoring tab's pair section computes from this log
    assert pair["rows"] == len(ids) and pair["agreement"] == 1.0 and pair["pearson"] == pytest.approx(1.0)


def test_a_different_challengers_swap_matrix_is_the_offline_one(
    tmp_path: Path, model, applications, registry: RegistryStore
) -> None:
    resolved = resolve_model(
        "models:/credit-scoring@challenger", tracking_uri=registry.tracking_uri, cache_dir=registry.cache_dir
    )
    challenger = load_model(resolved.path)
    service = _service(tmp_path, model, challenger)
    ids = _every_door(service, applications)
    service.shadow.close()
    frame = read_log([tmp_path]).predictions.set_index("request_id").loc[ids]
    logged = pd.crosstab(frame["decision"].astype(str), frame["challenger_decision"].astype(str))

    payloads = applications[:40] + applications[40:70]  # the valid ones, in the order scored above
    champion = Scorer(model).score_batch(payloads).scores
    offline = Scorer(load_model(resolved.path)).score_batch(payloads).scores
    expected = pd.crosstab(
        pd.Series([champion[i].decision for i in range(len(payloads))], name="decision"),
        pd.Series([offline[i].decision for i in range(len(payloads))], name="challenger_decision"),
    )
    pd.testing.assert_frame_equal(logged, expected, check_names=False)
    from_pair = swap_matrix(both_scored(read_log([tmp_path]).predictions))  # the pair analysis, on the log
    np.testing.assert_array_equal(
        from_pair.to_numpy(),
        expected.reindex(index=from_pair.index, columns=from_pair.columns, fill_value=0).to_numpy(),
    )
    assert expected.to_numpy().trace() < len(payloads)  # the two models do disagree somewhere
    offline_p = np.array([offline[i].probability for i in range(len(payloads))])
    np.testing.assert_allclose(frame["challenger_probability"].to_numpy(), offline_p, rtol=0, atol=1e-12)
    assert set(frame["challenger_version"]) == {challenger.version} != {model.version}


def test_a_challenger_that_raises_fails_no_request(tmp_path: Path, model, applications) -> None:
    service = _service(tmp_path, model, ExplodingModel())
    ids = _every_door(service, applications)
    service.shadow.close()
    frame = read_log([tmp_path]).predictions
    assert sorted(frame["request_id"]) == sorted(ids)
    assert frame["challenger_probability"].isna().all() and frame["challenger_decision"].isna().all()
    assert _shadow_count(service, "failed") == len(ids) and _shadow_count(service, "scored") == 0


def test_a_full_queue_drops_shadow_work_never_the_answer(tmp_path: Path, model, applications) -> None:
    gated = GatedModel()
    service = _service(tmp_path, model, gated, max_queue=1)
    first = service.score(applications[0], channel="rest")  # taken by the worker, which then blocks
    assert gated.entered.wait(10)
    queued = service.score(applications[1], channel="rest")  # fills the queue
    dropped = service.score_batch(applications[2:7], channel="rest_batch")  # no room: dropped, answered
    assert all(r["status"] == "ok" for r in dropped["results"])
    assert _shadow_count(service, "dropped") == 5
    gated.release.set()
    assert service.shadow.close() == 0
    frame = read_log([tmp_path]).predictions.set_index("request_id")
    assert len(frame) == 7  # every prediction logged
    shadowed = frame["challenger_probability"].dropna()
    assert set(shadowed.index) == {first["request_id"], queued["request_id"]} and (shadowed == 0.25).all()
    assert _shadow_count(service, "scored") == 2


def test_shutdown_drops_only_what_is_still_queued(tmp_path: Path, model, applications) -> None:
    gated = GatedModel()
    service = _service(tmp_path, model, gated, max_queue=8)
    for application in applications[:4]:
        service.score(application, channel="rest")
    assert gated.entered.wait(10)
    assert service.shadow.close(timeout=0.2) == 3  # three left queued; one in the worker's hands
    assert _shadow_count(service, "dropped") == 3
    gated.release.set()
    service.shadow._thread.join(10)
    assert not service.shadow._thread.is_alive()  # the worker ended, its late result dropped too
    assert _shadow_count(service, "dropped") == 4 and _shadow_count(service, "scored") == 0
    after = service.score(applications[5], channel="rest")  # a late request is still answered and logged
    assert after["decision"] in ("approve", "refuse") and _shadow_count(service, "dropped") == 5
    frame = read_log([tmp_path]).predictions
    assert len(frame) == 5 and frame["challenger_probability"].isna().all()  # every champion row, no shadow


@pytest.mark.parametrize("column", CHALLENGER_COLUMNS)
def test_a_log_without_shadow_rows_has_the_columns_empty(tmp_path: Path, model, applications, column: str) -> None:
    service = _service(tmp_path, model, None)
    service.score(applications[0], channel="rest")
    frame = read_log([tmp_path]).predictions
    assert column in frame and frame[column].isna().all()
    assert frame["challenger_probability"].dtype == np.float64
