"""Tab "Score an application": the most important fields in human units, an advanced JSON box,
a result card and the reasons behind the decision.

The form's translation (empty = missing, typed text -> numbers, errors in form words) is the pure
`service.ui.form`; the reasons are `scoring.reasons`; this module only lays them out.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import gradio as gr
import plotly.graph_objects as go

from scoring.errors import InvalidInput, ServiceUnavailable
from scoring.reasons import reasons
from scoring.schema import FIELDS
from service.openapi import EXAMPLE_HIGH_RISK, EXAMPLE_LOW_RISK
from service.scoring import ScoringService
from service.ui.common import html_escape, percent
from service.ui.form import FORM, NOT_EMPLOYED, NUMERIC_KINDS, FormField, from_payload, messages, to_payload

log = logging.getLogger("service.ui.form")
REFUSE, APPROVE = "#b42318", "#067647"


def _component(field: FormField) -> gr.components.Component:
    spec = FIELDS[field.name]
    if field.kind == "category":
        return gr.Dropdown(
            choices=list(spec.categories),
            value=None,
            label=field.label,
            info=field.info or None,
            allow_custom_value=False,
        )
    if field.kind == "rating":
        return gr.Dropdown(choices=[1, 2, 3], value=None, label=field.label)
    # text, not gr.Number: an empty box must stay missing (not 0) and "abc12k" must be refused, not read as 12
    assert field.kind in NUMERIC_KINDS
    return gr.Textbox(value="", label=field.label, info=field.info or None, max_lines=1, elem_classes="num-field")


def result_card(result: dict[str, Any]) -> str:
    p, t = result["probability"], result["threshold"]
    refuse = result["decision"] == "refuse"
    colour = REFUSE if refuse else APPROVE
    warnings = "".join(f"<li>{html_escape(w)}</li>" for w in result["warnings"])
    return f"""
<div class="result-card" style="border:2px solid {colour};border-radius:10px;padding:14px">
  <div style="font-size:1.6em;font-weight:700;color:{colour}" id="decision">{result["decision"].upper()}</div>
  <div>Probability of default <b id="probability">{percent(p)}</b> — refused at
       <span id="threshold">{percent(t)}</span> or more</div>
  <div style="position:relative;height:14px;background:#eee;border-radius:7px;margin:8px 0 2px"
       role="img" aria-label="probability {percent(p)} on a 0 to 100 % scale, threshold {percent(t)}">
    <div id="probability-bar" style="width:{min(max(p, 0), 1) * 100:.1f}%;height:14px;background:{colour};
         border-radius:7px"></div>
    <div style="position:absolute;left:{t * 100:.1f}%;top:-4px;height:22px;border-left:2px dashed #333"
         title="threshold {percent(t)}"></div>
  </div>
  <div style="position:relative;height:1.2em;font-size:0.8em;color:#555">
    <span style="position:absolute;left:0">0 %</span>
    <span style="position:absolute;left:{t * 100:.1f}%;transform:translateX(-50%)">▲ threshold {percent(t)}</span>
    <span style="position:absolute;right:0">100 %</span>
  </div>
  <div style="font-size:0.85em;color:#555">model {html_escape(result["model_version"])} ·
       request {html_escape(result["request_id"])} · inference {result["inference_ms"]:.2f} ms</div>
  <div style="font-size:0.85em;color:#555" id="human-review">A recommendation, not a decision: the credit
       officer decides, and can override it (docs/privacy.md).</div>
  {f'<ul style="color:#b54708">{warnings}</ul>' if warnings else ""}
</div>"""


def error_card(problems: list[str]) -> str:
    """What replaces the decision when the form cannot be scored: every problem, in the form's words."""
    items = "".join(f"<li>{html_escape(m)}</li>" for m in problems)
    return f"""
<div class="result-card" id="form-error" style="border:2px solid #b54708;border-radius:10px;padding:14px">
  <div style="font-size:1.3em;font-weight:700;color:#b54708">Cannot score this application</div>
  <ul>{items}</ul>
</div>"""


def factors_figure(factors: list[dict[str, Any]]) -> go.Figure:
    """The reasons as bars: red raises the risk, green lowers it; the length is relative, so no axis numbers."""
    shown = reasons(factors)[::-1]
    fig = go.Figure(
        go.Bar(
            x=[r.weight for r in shown],
            y=[r.text for r in shown],
            orientation="h",
            marker_color=[REFUSE if r.raises_risk else APPROVE for r in shown],
            customdata=[r.code for r in shown],
            hovertemplate="%{y}<br>reason code %{customdata}<extra></extra>",
        )
    )
    fig.update_layout(
        title="Main reasons (red raises the risk, green lowers it)",
        height=300,
        margin={"l": 10, "r": 10, "t": 40, "b": 30},
        xaxis={"showticklabels": False, "title": "← lowers the risk · raises the risk →", "zeroline": True},
    )
    return fig


def reasons_list(factors: list[dict[str, Any]]) -> str:
    """The reasons as text with their codes, for a letter or an audit."""
    items = "".join(
        f"<li>{html_escape(r.text)} — {'raises' if r.raises_risk else 'lowers'} the risk <code>{r.code}</code></li>"
        for r in reasons(factors)
    )
    return f'<ul id="reasons" style="font-size:0.9em">{items}</ul>' if items else ""


def build_score_tab(service: ScoringService) -> None:
    gr.Markdown(
        "Fill what you know: an empty field is missing, which the model handles. "
        "Amounts in currency units, durations in years."
    )
    with gr.Row():
        low = gr.Button("Example: low risk", size="sm")
        high = gr.Button("Example: high risk", size="sm")
    components: list[gr.components.Component] = []
    with gr.Row():
        for chunk in (FORM[:7], FORM[7:13], FORM[13:]):
            with gr.Column():
                components += [_component(f) for f in chunk]
    not_employed = gr.Checkbox(label=f"Applicant is {NOT_EMPLOYED}")
    with gr.Accordion("Advanced: any other field as JSON", open=False):
        advanced = gr.Code(language="json", label='Other Home Credit fields, e.g. {"CNT_CHILDREN": 1}')
    explain = gr.Checkbox(value=True, label="Explain the decision (top 5 reasons)")
    submit = gr.Button("Score", variant="primary", elem_id="score-button")
    card = gr.HTML(elem_id="result-card")
    chart = gr.Plot(label="Main reasons")

    def on_score(*values: Any) -> tuple[str, go.Figure | None]:
        started = time.perf_counter()
        *fields, unemployed, extra, want_explain = values
        try:
            payload = to_payload(
                dict(zip([f.name for f in FORM], fields, strict=True)), not_employed=unemployed, advanced=extra
            )
        except InvalidInput as exc:
            service.reject(exc, channel="gradio_form", started=started, http_status=422)
            return _refused(exc), None
        try:
            result = service.score(payload, channel="gradio_form", explain=want_explain, started=started)
        except InvalidInput as exc:
            return _refused(exc), None
        except ServiceUnavailable as exc:
            return error_card([str(exc)]), None
        if not want_explain:
            return result_card(result), None
        return result_card(result) + reasons_list(result["factors"]), factors_figure(result["factors"])

    submit.click(on_score, [*components, not_employed, advanced, explain], [card, chart], api_visibility="private")
    form_outputs = [*components, not_employed, advanced]
    low.click(lambda: from_payload(EXAMPLE_LOW_RISK), None, form_outputs, api_visibility="private")
    high.click(lambda: from_payload(EXAMPLE_HIGH_RISK), None, form_outputs, api_visibility="private")


def _refused(exc: InvalidInput) -> str:
    """The error card, and one log line naming the fields and reasons (no traceback: bad input is not a fault)."""
    worded = messages(exc.problems)
    log.info(
        "form input refused",
        extra={"fields": [p.field for p in exc.problems], "kinds": [p.kind for p in exc.problems], "reasons": worded},
    )
    return error_card(worded)
