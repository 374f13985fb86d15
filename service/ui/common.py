"""Helpers shared by the tabs: error translation and fail-safe plots."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec

import gradio as gr
import plotly.graph_objects as go

from scoring.validation import ValidationError
from service.scoring import ServiceUnavailable

log = logging.getLogger(__name__)
P = ParamSpec("P")


def as_gradio_error(exc: ValidationError | ServiceUnavailable) -> gr.Error:
    if isinstance(exc, ValidationError):
        lines = [f"{p.field}: {p.message}" if p.field else p.message for p in exc.problems[:10]]
        return gr.Error("Invalid application — " + " | ".join(lines), print_exception=False)
    return gr.Error(str(exc), print_exception=False)


def message_figure(text: str) -> go.Figure:
    """An empty figure that says why there is nothing to draw."""
    fig = go.Figure()
    fig.add_annotation(
        text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper", font={"size": 14, "color": "#a33"}
    )
    fig.update_layout(
        xaxis={"visible": False}, yaxis={"visible": False}, height=260, margin={"l": 10, "r": 10, "t": 10, "b": 10}
    )
    return fig


def failsafe_plot(fn: Callable[P, go.Figure]) -> Callable[P, go.Figure]:
    """A plot callback that fails shows its error in place instead of breaking the page."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> go.Figure:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # any plotting failure becomes a message, never a dead callback
            log.exception("plot failed", extra={"plot": fn.__name__})
            return message_figure(f"{fn.__name__}: {type(exc).__name__}: {exc}"[:300])

    return wrapper


def html_escape(value: Any) -> str:
    import html

    return html.escape(str(value))
