"""The report CLI on a log written by the real PredictionLog: both files, self-contained HTML, JSON keys."""

from __future__ import annotations

import json

import pandas as pd
from plotly.offline import get_plotlyjs

from monitoring import report
from monitoring.log.records import build_rejection_row
from monitoring.log.writer import PredictionLog
from tests.factories import scored_frame, write_log


def test_report_writes_html_and_json(tmp_path, model):
    log = PredictionLog(tmp_path / "predictions", replica_id="report-test")
    frame = scored_frame(model, 700, seed=5, scenario="new_category", start="2026-03-02")
    write_log(log, frame)
    rejections = PredictionLog(tmp_path / "predictions", replica_id="report-test-rej")
    for i in range(7):
        rejections.append(
            build_rejection_row(
                request_id=f"bad{i}",
                channel="rest",
                error_kind="out_of_range",
                field_name="AMT_CREDIT",
                http_status=422,
                started=0.0,
                now=pd.Timestamp("2026-03-02 00:10", tz="UTC").to_pydatetime(),
            )
        )
    rejections.close()
    out, summary_path = tmp_path / "report.html", tmp_path / "summary.json"

    code = report.main(
        [
            "--log-dir",
            str(tmp_path / "predictions"),
            "--history-dir",
            str(tmp_path / "none"),
            "--model-dir",
            str(model.path),
            "--out",
            str(out),
            "--json",
            str(summary_path),
            "--chunk-size",
            "350",
        ]
    )

    assert code == 0
    page = out.read_text(encoding="utf-8")
    bundle = get_plotlyjs()
    assert page.count(bundle) == 1  # plotly.js inlined once
    ours = page.replace(bundle, "")
    assert "<script src" not in ours and "cdn" not in ours  # nothing fetched: works offline
    assert page.count("Plotly.newPlot") >= 9
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    assert {"kpis", "features", "multivariate", "performance", "data_quality", "drift_alerts", "counts"} <= set(summary)
    assert summary["counts"] == {"predictions": 700, "rejections": 7, "chunks": 2, "chunks_with_enough_data": 2}
    assert summary["kpis"]["rejected_rate"] == round(7 / 707, 4)
    assert any(a["feature"] == "NAME_INCOME_TYPE" and a["kind"] == "unseen_values" for a in summary["drift_alerts"])


def test_report_refuses_a_missing_log_folder(tmp_path, capsys):
    code = report.main(
        ["--log-dir", str(tmp_path / "nothing"), "--out", str(tmp_path / "r.html"), "--json", str(tmp_path / "s.json")]
    )
    assert code == 2 and "no log folder" in capsys.readouterr().err
