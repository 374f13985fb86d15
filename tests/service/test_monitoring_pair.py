"""The Monitoring tab's "Champion vs challenger" section, in process: one line without a pair, cards and charts with."""

from __future__ import annotations

import gradio as gr
import numpy as np

from monitoring.drift.chunking import Chunking
from monitoring.drift.monitor import fitted_monitor
from monitoring.drift.pair import analyse_pair
from monitoring.pair_plots import PAIR_CHARTS
from monitoring.runner import AnalysisJob, AnalysisRunner, RunnerState
from service.ui.monitoring_pair import NO_CHALLENGER, render_pair
from service.ui.monitoring_tab import build_monitoring_tab
from tests.factories import MODEL_DIR, scored_frame, with_challenger


def test_the_tab_has_the_section_and_says_when_there_is_no_challenger() -> None:
    runner = AnalysisRunner(AnalysisJob(log_dirs=(), model_dir=str(MODEL_DIR)), isolation="thread")
    with gr.Blocks() as blocks, gr.Tab("Monitoring") as tab:
        build_monitoring_tab(tab, runner)
    ids = [b.elem_id for b in blocks.blocks.values()]
    assert "mon-pair-status" in ids and all(f"mon-{n.replace('_', '-')}" in ids for n in PAIR_CHARTS)
    status, body, cards, *_ = render_pair(RunnerState(), configured=False)
    assert status == NO_CHALLENGER and body["visible"] is False and cards == ""
    assert "configured" in render_pair(RunnerState(), configured=True)[0]


def test_with_a_pair_the_cards_and_every_chart_render(model) -> None:
    frame = scored_frame(model, 600, seed=8)
    rng = np.random.default_rng(1)
    frame = with_challenger(frame, frame["probability"] * rng.uniform(0.7, 1.3, len(frame)), threshold=0.1)
    result = fitted_monitor(str(MODEL_DIR)).calculate(frame, chunking=Chunking(size=300))
    result.pair = analyse_pair(frame, chunking=result.chunking)
    status, body, cards, *figures = render_pair(RunnerState(result=result), configured=True)
    agreement = result.pair.overall["agreement"]
    assert body["visible"] is True and f"{agreement:.1%}" in cards and "600 rows scored by both" in status
    assert "no CBPE for it" in status  # no challenger folder given to this analysis
    assert len(figures) == len(PAIR_CHARTS) and all(f.data for f in figures[:3])
