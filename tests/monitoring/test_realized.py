"""Realized performance, calibration, fairness and PSI on scored frames with outcomes (no server)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from monitoring.alerts.outcomes import OutcomeRules
from monitoring.drift.calibration import calibration_table, hosmer_lemeshow
from monitoring.drift.chunking import Chunking
from monitoring.drift.monitor import fitted_monitor
from monitoring.drift.realized import calculate_with_outcomes
from monitoring.drift.stability import psi
from monitoring.outcome_plots import OUTCOME_CHARTS
from monitoring.report import render_html
from scoring.costs import cost_per_1000
from tests.factories import MODEL_DIR, scored_frame


def with_outcomes(model, scenario: str, *, n: int = 2_000, seed: int = 5, share: float = 1.0):
    frame = scored_frame(model, n, seed=seed, scenario=scenario)
    frame["request_id"] = [f"r{i}" for i in range(n)]
    approved = frame[frame["decision"] == "approve"]
    approved = approved.iloc[: int(len(approved) * share)]
    outcomes = pd.DataFrame(
        {"request_id": approved["request_id"], "defaulted": approved["TARGET"].astype(bool), "status": "recorded"}
    )
    return frame, approved, outcomes


@pytest.fixture(scope="module")
def monitor():
    return fitted_monitor(str(MODEL_DIR))


def test_realized_metrics_are_sklearns_on_the_joined_rows(model, monitor) -> None:
    frame, approved, outcomes = with_outcomes(model, "none")
    # a conflict row in the audit trail must not count
    audit = pd.DataFrame({"request_id": [approved["request_id"].iloc[0]], "defaulted": [True], "status": ["conflict"]})
    result = calculate_with_outcomes(
        monitor, frame, outcomes=pd.concat([outcomes, audit]), rules=OutcomeRules(), chunking=Chunking(size=1_000)
    )
    realized = result.outcomes.realized
    assert realized["labelled"].sum() == len(approved)
    for chunk, part in frame.assign(_c=np.arange(len(frame)) // 1_000).groupby("_c"):
        rows = part[part["decision"] == "approve"]
        y = rows["TARGET"].to_numpy(int)
        assert realized.loc[chunk, "roc_auc"] == pytest.approx(roc_auc_score(y, rows["probability"]), abs=1e-6)
        assert realized.loc[chunk, "cost_per_1000"] == pytest.approx(cost_per_1000(y, np.zeros_like(y)), abs=1e-6)
        assert realized.loc[chunk, "coverage"] == pytest.approx(len(rows) / len(part))
    overall = result.outcomes.overall
    y_all = approved["TARGET"].to_numpy(int)
    assert overall["roc_auc"] == pytest.approx(roc_auc_score(y_all, approved["probability"]), abs=1e-6)
    assert overall["default_rate"] == pytest.approx(y_all.mean())
    assert np.isfinite(overall["estimated_roc_auc"]) and np.isfinite(overall["estimated_cost_per_1000"])
    kinds = {a["kind"] for a in result.alerts}
    assert not kinds & {"realized_cost", "realized_auc", "calibration", "score_psi"}, result.outcomes.alerts
    summary = result.summary()["outcomes"]
    assert summary["overall"]["labelled"] == len(approved) and "approved loans only" in summary["note"]


def test_degrading_model_raises_cost_calibration_and_psi_alerts(model, monitor) -> None:
    frame, _, outcomes = with_outcomes(model, "bureau_inflation")
    result = calculate_with_outcomes(monitor, frame, outcomes=outcomes, rules=OutcomeRules(), chunking=Chunking())
    by_kind = {a["kind"]: a for a in result.alerts}
    assert {"realized_cost", "calibration", "score_psi"} <= set(by_kind)
    assert by_kind["realized_cost"]["severity"] == "critical" and "retrain" in by_kind["realized_cost"]["check"]
    assert "upstream" in by_kind["calibration"]["check"]
    realized = result.outcomes.realized.iloc[0]
    assert realized["cost_per_1000"] > 1.25 * result.outcomes.reference["cost_per_1000"]
    assert realized["estimated_cost_per_1000"] < realized["cost_per_1000"] / 2  # CBPE did not see it coming


def test_not_enough_labels_gives_no_realized_figure_and_no_alert(model, monitor) -> None:
    frame, approved, outcomes = with_outcomes(model, "bureau_inflation", share=0.1)
    rules = OutcomeRules(min_labels=500)
    result = calculate_with_outcomes(monitor, frame, outcomes=outcomes, rules=rules, chunking=Chunking(size=1_000))
    realized = result.outcomes.realized
    assert not realized["enough_labels"].any() and realized["roc_auc"].isna().all()
    assert realized["labelled"].sum() == len(approved)
    assert not {"realized_cost", "realized_auc"} & {a["kind"] for a in result.alerts}
    assert result.outcomes.overall["enough_labels"] is False
    html = render_html(result)
    assert "Not enough labels" in html and "approved loans only" in html
    for chart in OUTCOME_CHARTS.values():
        assert chart(result).to_dict()["data"] is not None  # every chart draws, none raises


def test_calibration_test_and_psi_on_known_inputs() -> None:
    rng = np.random.default_rng(0)
    score = rng.uniform(0.01, 0.2, 20_000)
    fair = calibration_table(score, rng.random(20_000) < score)
    assert fair["off"].sum() <= 1 and hosmer_lemeshow(fair)["p_value"] > 0.001
    doubled = calibration_table(score, rng.random(20_000) < 2 * score)
    assert doubled["off"].sum() >= 8 and (doubled["observed"] > doubled["predicted"]).all()
    assert psi(np.full(10, 0.1), np.full(10, 0.1)) == pytest.approx(0.0)
    assert psi(np.array([0.5] + [0.5 / 9] * 9), np.full(10, 0.1)) > 0.25


def test_cost_alert_needs_the_excess_beyond_chance() -> None:
    from monitoring.alerts.outcomes import outcome_alerts

    reference = {"cost_per_1000": 390.0, "default_rate": 0.039, "roc_auc": 0.67}
    empty = pd.DataFrame(columns=["off"])
    gaps = pd.DataFrame(columns=["attribute", "moved", "key", "gap", "reference_gap"])
    stability = pd.DataFrame({"key": ["#1"], "psi": [0.01]})

    def alerts(defaults: int, approved: int) -> set[str]:
        realized = pd.DataFrame(
            {
                "key": ["#1"],
                "enough_labels": [True],
                "cost_per_1000": [10_000 * defaults / approved],
                "roc_auc": [0.7],
                "defaults": [defaults],
                "approved_labelled": [approved],
            }
        )
        found = outcome_alerts(
            realized, reference=reference, calibration=empty, gaps=gaps, stability=stability, rules=OutcomeRules()
        )
        return {a["kind"] for a in found}

    assert alerts(21, 293) == set()  # 717 per 1,000 on 293 loans: above the limit, within chance
    assert alerts(210, 2_930) == {"realized_cost"}  # the same rate on ten times the loans is real


def test_fairness_gap_compares_the_same_groups_as_the_reference() -> None:
    from monitoring.drift.fairness import gap_table

    reference = {"age_band": pd.Series({"18-29": 0.55, "30-44": 0.70, "45-59": 0.80, "60+": 0.89})}
    groups = pd.DataFrame(
        {
            "chunk": [0] * 4,
            "key": ["#1"] * 4,
            "attribute": ["age_band"] * 4,
            "group": ["18-29", "30-44", "45-59", "60+"],
            "rows": [40, 200, 200, 30],  # the extreme bands too small in this chunk
            "approval_rate": [0.2, 0.71, 0.79, 1.0],
        }
    )
    (row,) = gap_table(groups, reference, min_rows=100).to_dict("records")
    assert row["groups"] == 2
    assert row["gap"] == pytest.approx(0.08) and row["reference_gap"] == pytest.approx(0.10)
    assert row["moved"] == pytest.approx(0.02)  # not 0.34 - 0.08: the bands left out are left out on both sides
