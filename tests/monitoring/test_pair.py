"""Champion vs challenger: agreement, swaps, correlations, CBPE of both and realized figures (no server)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from monitoring.drift.chunking import Chunking
from monitoring.drift.monitor import fitted_monitor
from monitoring.drift.pair import agreement, analyse_pair, swap_matrix
from monitoring.drift.pair_reference import challenger_estimator, champion_estimator
from monitoring.pair_plots import NO_PAIR, PAIR_CHARTS
from monitoring.report import render_html
from scoring.costs import cost_per_1000
from tests.factories import MODEL_DIR, challenger_model_dir, scored_frame, with_challenger

CHALLENGER_THRESHOLD = 0.12


@pytest.fixture(scope="module")
def frame(model) -> pd.DataFrame:
    """3,000 scored rows; a challenger with its own noisy score and threshold that scored 90 % of them."""
    base = scored_frame(model, 3_000, seed=11)
    base["request_id"] = [f"r{i}" for i in range(len(base))]
    rng = np.random.default_rng(4)
    noisy = np.clip(base["probability"].to_numpy() * np.exp(rng.normal(0, 0.4, len(base))), 0, 1)
    return with_challenger(base, noisy, threshold=CHALLENGER_THRESHOLD, scored=rng.random(len(base)) < 0.9)


@pytest.fixture(scope="module")
def estimators(tmp_path_factory):
    folder = challenger_model_dir(tmp_path_factory.mktemp("pair"), threshold=CHALLENGER_THRESHOLD)
    return champion_estimator(str(MODEL_DIR)), challenger_estimator(str(MODEL_DIR), str(folder))


def _offline(frame: pd.DataFrame) -> dict[str, float]:
    """The same figures with numpy/scipy only, from the raw columns."""
    keep = frame["challenger_probability"].notna().to_numpy()
    champion = frame["decision"].to_numpy()[keep] == "refuse"
    challenger = frame["challenger_decision"].to_numpy()[keep] == "refuse"
    a, b = frame["probability"].to_numpy()[keep], frame["challenger_probability"].to_numpy()[keep]
    return {
        "rows": keep.sum(),
        "agreement": np.mean(champion == challenger),
        "approve_to_refuse": np.sum(~champion & challenger),
        "refuse_to_approve": np.sum(champion & ~challenger),
        "pearson": np.corrcoef(a, b)[0, 1],
        "spearman": spearmanr(a, b).statistic,
    }


def test_swap_matrix_and_agreement_equal_an_offline_computation(frame) -> None:
    result = analyse_pair(frame, chunking=Chunking(size=1_000))
    expected = _offline(frame)
    overall = result.overall
    assert overall["rows"] == expected["rows"]
    assert overall["agreement"] == pytest.approx(expected["agreement"], abs=1e-12)
    assert overall["approve_to_refuse"] == expected["approve_to_refuse"] > 0
    assert overall["refuse_to_approve"] == expected["refuse_to_approve"] > 0
    assert overall["approve_to_refuse_rate"] == pytest.approx(expected["approve_to_refuse"] / expected["rows"])
    assert overall["pearson"] == pytest.approx(expected["pearson"], abs=1e-9)
    assert overall["spearman"] == pytest.approx(expected["spearman"], abs=1e-9)
    assert result.matrix.loc["approve", "refuse"] == expected["approve_to_refuse"]
    assert result.matrix.to_numpy().sum() == expected["rows"]
    # per chunk: the chunks of 1,000 rows in time order, each against its own offline figures
    ordered = frame.sort_values("ts", kind="stable").reset_index(drop=True)
    table = result.by_chunk
    assert len(table) == 3 and table["rows"].tolist() == [1_000] * 3
    for chunk, part in ordered.groupby(np.arange(len(ordered)) // 1_000):
        offline = _offline(part)
        row = table.loc[table["chunk"] == chunk].iloc[0]
        assert row["both"] == offline["rows"] and row["agreement"] == pytest.approx(offline["agreement"])
        assert row["approve_to_refuse"] == pytest.approx(offline["approve_to_refuse"] / offline["rows"])
    assert result.versions["challenger"] == ["challenger-1"]
    # the pair alert: a warning naming every chunk of enough rows agreeing below the floor
    worst = table["agreement"].min()
    (alert,) = analyse_pair(frame, chunking=Chunking(size=1_000), floor=worst + 1e-9).alerts
    assert alert["severity"] == "warning" and alert["kind"] == "pair_agreement"
    assert alert["chunks"] == table.loc[table["agreement"] < worst + 1e-9, "key"].tolist()
    assert analyse_pair(frame, chunking=Chunking(size=1_000), floor=worst).alerts == []
    summary = result.summary()
    assert summary["swap_matrix"]["approve"]["refuse"] == expected["approve_to_refuse"]


def test_identical_challenger_agrees_everywhere_with_correlation_one(model) -> None:
    same = with_challenger(scored_frame(model, 1_200, seed=3), threshold=model.threshold)
    result = analyse_pair(same, chunking=Chunking(size=400))
    overall = result.overall
    assert overall["agreement"] == 1.0 and overall["rows"] == 1_200
    assert overall["approve_to_refuse"] == overall["refuse_to_approve"] == 0
    assert overall["pearson"] == pytest.approx(1.0) and overall["spearman"] == pytest.approx(1.0)
    assert (result.by_chunk["agreement"] == 1.0).all() and result.alerts == []
    assert np.trace(swap_matrix(same).to_numpy()) == 1_200


def test_no_challenger_column_or_score_gives_no_pair(model) -> None:
    plain = scored_frame(model, 300, seed=2)
    assert analyse_pair(plain, chunking=Chunking()) is None
    unscored = with_challenger(plain, threshold=0.1, scored=np.zeros(len(plain), bool))
    assert analyse_pair(unscored, chunking=Chunking()) is None
    assert agreement(unscored.iloc[:0])["rows"] == 0


def test_cbpe_of_both_when_a_challenger_reference_exists(frame, estimators) -> None:
    champion, challenger = estimators
    result = analyse_pair(frame, chunking=Chunking(size=1_000), champion=champion, challenger=challenger)
    estimated = result.estimated
    for model in ("champion", "challenger"):
        assert 0.5 < estimated[f"{model}_estimated_roc_auc"] < 1.0
        assert estimated[f"{model}_estimated_cost_per_1000"] > 0
        assert result.by_chunk[f"{model}_estimated_roc_auc"].notna().all()
    # a higher threshold approves more: CBPE sees fewer refused good clients and more missed defaults
    assert estimated["challenger_estimated_cost_per_1000"] != estimated["champion_estimated_cost_per_1000"]
    assert result.challenger_reference
    without = analyse_pair(frame, chunking=Chunking(size=1_000), champion=champion)
    assert np.isnan(without.estimated["challenger_estimated_roc_auc"]) and not without.challenger_reference
    assert without.estimated["champion_estimated_roc_auc"] == estimated["champion_estimated_roc_auc"]


def test_realized_figures_of_both_on_the_same_labelled_rows(frame) -> None:
    approved = frame[frame["decision"] == "approve"]
    outcomes = pd.DataFrame(
        {"request_id": approved["request_id"], "defaulted": approved["TARGET"].astype(bool), "status": "recorded"}
    )
    result = analyse_pair(frame, chunking=Chunking(), outcomes=outcomes, min_labels=200)
    rows = approved[approved["challenger_probability"].notna()]
    y = rows["TARGET"].to_numpy(int)
    realized = result.realized
    assert realized["labelled"] == len(rows) and realized["enough_labels"]
    assert realized["champion_roc_auc"] == pytest.approx(roc_auc_score(y, rows["probability"]))
    assert realized["challenger_roc_auc"] == pytest.approx(roc_auc_score(y, rows["challenger_probability"]))
    assert realized["champion_cost_per_1000"] == pytest.approx(cost_per_1000(y, np.zeros_like(y)))
    refused = (rows["challenger_decision"] == "refuse").to_numpy(int)
    assert realized["challenger_cost_per_1000"] == pytest.approx(cost_per_1000(y, refused))
    few = analyse_pair(frame, chunking=Chunking(), outcomes=outcomes.head(50), min_labels=200)
    assert not few.realized["enough_labels"] and np.isnan(few.realized["challenger_roc_auc"])


def test_summary_report_and_charts_show_the_pair(frame, estimators) -> None:
    champion, challenger = estimators
    result = fitted_monitor(str(MODEL_DIR)).calculate(frame, chunking=Chunking(size=1_000))
    result.pair = analyse_pair(frame, chunking=result.chunking, champion=champion, challenger=challenger)
    summary = json.loads(json.dumps(result.summary()))["pair"]
    expected = _offline(frame)
    assert summary["overall"]["agreement"] == pytest.approx(expected["agreement"], abs=1e-6)
    assert summary["swap_matrix"]["refuse"]["approve"] == expected["refuse_to_approve"]
    assert [c["key"] for c in summary["chunks"]] == result.chunks["key"].tolist()  # the drift result's chunks
    for name, chart in PAIR_CHARTS.items():
        fig = chart(result)
        assert fig.data, name
        assert not any("failed" in (a.text or "") for a in fig.layout.annotations), name
    page = render_html(result)
    assert "Champion vs challenger" in page and f"{expected['approve_to_refuse']:,}" in page
    assert f"{expected['agreement']:.1%}" in page
    result.pair = None
    assert "Champion vs challenger" not in render_html(result)
    assert PAIR_CHARTS["pair_swaps"](result).layout.annotations[0].text == NO_PAIR
    assert "failed" in PAIR_CHARTS["pair_scores"](object()).layout.annotations[0].text
