"""Helpers shared by the tabs: error translation and escaping (fail-safe plots: monitoring.plots)."""

from __future__ import annotations

from typing import Any

import gradio as gr

from scoring.errors import InvalidInput, ServiceUnavailable
from service.ui.api_guard import record_problems


def as_gradio_error(exc: InvalidInput | ServiceUnavailable) -> gr.Error:
    """The error a handler raises; on /gradio_api/run the guard answers it as a 422 with the problems."""
    if isinstance(exc, InvalidInput):
        record_problems(exc.problems)
        lines = [f"{p.field}: {p.message}" if p.field else p.message for p in exc.problems[:10]]
        return gr.Error("Invalid application — " + " | ".join(lines), print_exception=False)
    return gr.Error(str(exc), print_exception=False)


def percent(share: float) -> str:
    """A probability or rate as people read it, the one notation of the UI: 0.09 -> "9.0 %"."""
    return f"{share * 100:.1f} %"


def html_escape(value: Any) -> str:
    import html

    return html.escape(str(value))
