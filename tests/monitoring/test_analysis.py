"""The drift monitor on simulated streams: each scenario flags its shifted features, the no-drift
stream stays (almost) quiet, CBPE tracks the realised AUC, small chunks get no verdict.

Frames are built straight from `production_stream` + the model's probabilities with synthetic
timestamps (1,000 rows an hour), not through a server. The reference is drawn from the same
generator (8,000 rows, its own seed), as the retrained model's holdout will be.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from monitoring.drift.chunking import MIN_CHUNK_ROWS, NOT_ENOUGH_DATA, Chunking, calibration_size
from monitoring.drift.monitor import DriftMonitor
from monitoring.plots import CHARTS, figure, message_figure
from monitoring.runner import AnalysisJob, AnalysisRunner
from tests.factories import log_writer, scored_frame, write_log


@pytest.fixture(scope="module")
def monitor(model) -> DriftMonitor:
    return DriftMonitor.for_model(model).fit(scored_frame(model, 8_000, seed=1_000))


@pytest.fixture(scope="module")
def results(model, monitor) -> dict:
    out = {}
    for scenario, n in (
        ("none", 8_000),
        ("income_inflation", 3_000),
        ("younger_applicants", 3_000),
        ("bureau_outage", 3_000),
        ("new_category", 3_000),
    ):
        out[scenario] = monitor.calculate(
            scored_frame(model, n, seed=7, scenario=scenario), chunking=Chunking(period="h")
        )
    return out


def _flagged(result, kind: str) -> set[str]:
    return {a["feature"] for a in result.alerts if a["kind"] == kind}


def test_income_inflation_flags_income(results):
    result = results["income_inflation"]
    assert "AMT_INCOME_TOTAL" in _flagged(result, "univariate")
    income = result.univariate.query("feature == 'AMT_INCOME_TOTAL'")
    assert income["alert"].all()  # every chunk, both methods


def test_younger_applicants_flags_age(results):
    result = results["younger_applicants"]
    assert "DAYS_BIRTH" in _flagged(result, "univariate")
    assert result.univariate.query("feature == 'DAYS_BIRTH'")["alert"].all()


def test_bureau_outage_flags_missing_ext_source_3_and_the_score(results):
    result = results["bureau_outage"]
    assert "EXT_SOURCE_3" in _flagged(result, "missing_values")
    missing = result.missing.query("feature == 'EXT_SOURCE_3'")
    assert (missing["rate"] > 0.6).all() and missing["alert"].all()
    assert "probability" in _flagged(result, "univariate")


def test_new_category_flags_unseen_income_type(results):
    result = results["new_category"]
    assert "NAME_INCOME_TYPE" in _flagged(result, "unseen_values")
    summary = result.summary()
    assert summary["data_quality"]["unseen"]["NAME_INCOME_TYPE"]["values"] == ["Businessman"]


def test_no_drift_stays_within_the_false_alarm_bound(results):
    """NannyML alerts when a statistic leaves mean + 3 sd of its values over reference chunks:
    about 0.1% of (feature, method, chunk) cells for a normal statistic with a known sd. The sd is
    estimated from 20 reference chunks and the distances are skewed, so we allow 1% of the cells,
    no alert in the score, no data-quality or performance alert, and no feature in alert in more than
    one chunk out of eight (a real drift persists)."""
    result = results["none"]
    cells = result.univariate[result.univariate["alert"].notna()]
    assert len(cells) >= 21 * 2 * 8
    assert cells["alert"].mean() <= 0.01
    assert not cells.query("feature == 'probability'")["alert"].any()
    assert all(len(a["chunks"]) <= 1 for a in result.alerts if a["kind"] == "univariate")
    assert not [a for a in result.alerts if a["kind"] in {"missing_values", "unseen_values", "performance"}]


def test_cbpe_auc_estimate_is_within_003_of_the_realised_auc(model, monitor):
    frame = scored_frame(model, 6_000, seed=21)
    result = monitor.calculate(frame, chunking=Chunking(size=6_000))
    auc = result.performance.query("metric == 'roc_auc'").iloc[0]
    assert abs(auc["estimate"] - auc["realized"]) <= 0.03
    assert auc["lower_band"] < auc["estimate"] < auc["upper_band"]
    cost = result.performance.query("metric == 'business_cost_per_1000'").iloc[0]
    assert cost["estimate"] == pytest.approx(cost["realized"], rel=0.2)


def test_chunks_under_200_rows_give_not_enough_data(model, monitor):
    # 3 hours: 1,000 rows, then 150 (too few), then 1,000.
    frame = scored_frame(model, 2_150, seed=3)
    frame["ts"] = pd.Timestamp("2026-03-02", tz="UTC") + pd.to_timedelta(
        np.r_[np.linspace(0, 3599, 1000), np.linspace(3600, 7199, 150), np.linspace(7200, 10799, 1000)], unit="s"
    )
    result = monitor.calculate(frame, chunking=Chunking(period="h"))
    assert result.chunks["rows"].tolist() == [1000, 150, 1000]
    assert result.chunks["enough"].tolist() == [True, False, True]
    small = result.chunks.loc[1, "key"]
    for table in (result.univariate, result.multivariate, result.performance, result.missing, result.unseen):
        part = table[table["key"] == small]
        assert len(part) and part["alert"].isna().all()
    summary = result.summary()
    assert all(f["chunks"][small] is None for f in summary["features"].values())
    assert all(small not in a["chunks"] for a in result.alerts)
    assert NOT_ENOUGH_DATA == "not enough data"


def test_all_chunks_too_small_gives_no_verdict_and_charts_still_render(model, monitor):
    frame = scored_frame(model, MIN_CHUNK_ROWS - 1, seed=4)
    result = monitor.calculate(frame, chunking=Chunking(period="D"))
    assert not result.chunks["enough"].any()
    assert result.alerts == [] and result.univariate.empty
    assert result.kpis["predictions"] == MIN_CHUNK_ROWS - 1
    for name in CHARTS:
        assert figure(name, result).to_dict()  # message figures, no exception


def test_summary_is_json_and_has_the_consumed_keys(results):
    summary = json.loads(json.dumps(results["income_inflation"].summary()))
    assert {
        "kpis",
        "features",
        "multivariate",
        "performance",
        "data_quality",
        "drift_alerts",
        "counts",
        "chunks",
    } <= set(summary)
    assert {"latency_ms_p99", "inference_ms_p50", "approval_rate", "rejected_rate", "model_versions"} <= set(
        summary["kpis"]
    )
    alert = next(a for a in summary["drift_alerts"] if a["feature"] == "AMT_INCOME_TOTAL")
    assert {"feature", "method", "threshold", "chunks", "severity", "message"} <= set(alert)
    assert summary["features"]["AMT_INCOME_TOTAL"]["alert"] is True


def test_every_chart_renders_and_a_failing_chart_reports_in_place(results):
    result = results["bureau_outage"]
    for name, chart in CHARTS.items():
        fig = chart(result)
        assert fig.data or fig.layout.annotations, name
    broken = CHARTS["performance"](object())  # not a result: the chart says so instead of raising
    assert "failed" in broken.layout.annotations[0].text
    assert message_figure("x").layout.annotations[0].text == "x"


@pytest.mark.parametrize(
    ("rows", "reference", "expected"),
    [
        (150, 4_000, 200),
        (1_000, 4_000, 200),
        (1_000, 8_000, 400),
        (50_000, 100_000, 3_200),
        (450, 100_000, 400),
    ],
)
def test_calibration_size(rows, reference, expected):
    assert calibration_size(rows, reference) == expected


def test_chunking_parse_and_validation():
    assert Chunking.parse("h") == Chunking(period="h")
    assert Chunking.parse("size:500") == Chunking(size=500) == Chunking.parse("500")
    assert Chunking() == Chunking(period="D")
    with pytest.raises(ValueError):
        Chunking(size=50)
    with pytest.raises(ValueError):
        Chunking(period="D", size=500)


@pytest.mark.slow
def test_runner_refreshes_in_the_background(tmp_path, model):
    """Thread isolation with the committed model: refresh returns at once, latest() then holds the result."""
    frame = scored_frame(model, 500, seed=9, start=pd.Timestamp.now(tz="UTC").floor("D").isoformat())
    write_log(log_writer(tmp_path / "log", replica_id="t"), frame)
    runner = AnalysisRunner(
        AnalysisJob(log_dirs=(str(tmp_path / "log"),), model_dir=str(model.path)), isolation="thread"
    )
    try:
        assert runner.refresh("all", Chunking(size=500)) is True
        assert runner.refresh("all", Chunking(size=300)) is False  # one at a time: queued, not dropped
        assert runner.refresh("all", Chunking(size=250)) is False  # the latest request wins the queue
        assert runner.latest().queued == ("all", "250 rows")
        state = runner.wait(timeout=240)
        assert state.requested == ("all", "250 rows") and state.queued is None
        assert state.error is None and not state.running
        assert state.result.kpis["predictions"] == 500 and state.result.compute_seconds > 0
        # the rows the app's writer logged, read back by the worker: 500 rows in two 250-row chunks
        assert list(state.result.chunks["rows"]) == [250, 250] and state.result.chunks["enough"].all()
        assert state.result.kpis["model_versions"] == sorted(set(map(str, frame["model_version"])))
    finally:
        runner.close()


def test_missing_values_are_not_unseen_labels(model, monitor):
    """Blanks the API allows (a null label) are missing values, never "labels never seen []"."""
    frame = scored_frame(model, 1_000, seed=31)
    column = "WEEKDAY_APPR_PROCESS_START"
    assert column in monitor.unseen_columns
    frame[column] = frame[column].astype(object)
    frame.loc[frame.index[:60], column] = None  # 6 % nulls, far above the 1 % unseen threshold
    result = monitor.calculate(frame, chunking=Chunking(size=1_000))
    assert not [a for a in result.alerts if a["kind"] == "unseen_values" and a["feature"] == column]
    assert result.unseen.query("feature == @column")["rate"].iloc[0] == 0


def test_one_alert_per_feature_with_its_methods_merged(results):
    result = results["income_inflation"]
    income = [a for a in result.alerts if a["kind"] == "univariate" and a["feature"] == "AMT_INCOME_TOTAL"]
    assert len(income) == 1 and income[0]["method"] == "jensen_shannon+kolmogorov_smirnov"
    keys = [(a["kind"], a["feature"]) for a in result.alerts]
    assert len(keys) == len(set(keys))
    assert all(a["check"] and "Monitoring tab" not in a["check"] for a in result.alerts)


def test_missing_value_alerts_speak_in_percent(results):
    from monitoring.alerts.drift import drift_alert

    outage = [a for a in results["bureau_outage"].alerts if a["kind"] == "missing_values"]
    assert outage and all(a["unit"] == "%" for a in outage)
    message = drift_alert(outage[0]).message
    assert "% missing" in message and "limit " in message and "limit 0." not in message


def test_threshold_lines_show_with_a_single_chunk(model, monitor):
    from monitoring.plots import multivariate, performance

    result = monitor.calculate(scored_frame(model, 600, seed=41), chunking=Chunking(size=600))
    assert len(result.chunks) == 1
    for fig in (multivariate(result), performance(result)):
        lines = [t for t in fig.data if t.name in {"upper threshold", "lower threshold"}]
        assert lines and all("markers" in t.mode for t in lines)  # a one-point line would be invisible


def test_a_sampled_chunk_keeps_its_drift_verdict_and_the_kpis_count_every_row(model, monitor):
    """3,000-row chunks analysed on 1,000 rows each: income inflation still alerts in every chunk, the
    undrifted twin stays quiet on income, and the volume, approval rate and timeline count all rows."""
    verdicts = {}
    for scenario in ("none", "income_inflation"):
        frame = scored_frame(model, 6_000, seed=21, scenario=scenario)
        result = monitor.calculate(frame, chunking=Chunking(size=3_000), sample_rows=1_000)
        assert result.chunks["rows"].tolist() == [3_000, 3_000] and result.chunks["analysed"].tolist() == [1_000] * 2
        assert result.kpis["predictions"] == 6_000 and int(result.timeline["rows"].sum()) == 6_000
        assert result.kpis["approval_rate"] == round(float((frame["decision"] == "approve").mean()), 4)
        verdicts[scenario] = result.univariate.query("feature == 'AMT_INCOME_TOTAL'")["alert"]
    assert verdicts["income_inflation"].all() and not verdicts["none"].any()
