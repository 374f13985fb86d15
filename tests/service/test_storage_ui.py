"""The two UI lines of the storage work: history still loading (Monitoring tab), the officer decides (score card)."""

from __future__ import annotations

import gradio as gr

from monitoring.runner import AnalysisJob, AnalysisRunner
from service.ui.monitoring_tab import build_monitoring_tab, history_line
from service.ui.score_tab import result_card
from tests.factories import MODEL_DIR


def test_history_line_says_loading_failed_done_or_nothing() -> None:
    assert "still loading" in history_line({"state": "loading", "since": "2026-11-03"})
    assert "2026-11-03" in history_line({"state": "loading", "since": "2026-11-03"})
    assert "failed" in history_line({"state": "failed", "error": "ConnectionError"})
    assert "29 file(s)" in history_line({"state": "done", "files": 29, "since": "2026-11-03"})
    assert history_line({"state": "off"}) == ""


def test_the_tab_shows_the_history_line_only_with_a_sync() -> None:
    runner = AnalysisRunner(AnalysisJob(log_dirs=(), model_dir=str(MODEL_DIR)), isolation="thread")
    for history, expected in ((lambda: {"state": "loading", "since": "2026-11-03"}, 1), (None, 0)):
        with gr.Blocks() as blocks, gr.Tab("Monitoring") as tab:
            build_monitoring_tab(tab, runner, history=history)
        ids = [b.elem_id for b in blocks.blocks.values()]
        assert ids.count("mon-history") == expected


def test_the_result_card_says_the_officer_decides() -> None:
    card = result_card(
        {
            "probability": 0.7,
            "threshold": 0.5,
            "decision": "refuse",
            "warnings": [],
            "model_version": "3",
            "request_id": "r1",
            "inference_ms": 1.0,
        }
    )
    assert 'id="human-review"' in card and "credit officer decides" in " ".join(card.split())
