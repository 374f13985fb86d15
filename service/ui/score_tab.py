"""Tab "Score an application": the most important fields in human units, an advanced JSON box,
a result card and the top factors."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import gradio as gr
import plotly.graph_objects as go

from scoring.errors import InvalidInput, ServiceUnavailable
from scoring.schema import DAYS_EMPLOYED_PENSIONER, DAYS_PER_YEAR, FIELDS
from service.openapi import EXAMPLE_HIGH_RISK, EXAMPLE_LOW_RISK
from service.scoring import ScoringService
from service.ui.common import as_gradio_error, html_escape

NOT_EMPLOYED = "not employed / pensioner"


@dataclass(frozen=True)
class FormField:
    name: str  # Home Credit field
    label: str
    kind: str  # amount | years_ago | share | category | count | rating | years_employed
    info: str = ""


FORM: tuple[FormField, ...] = (
    FormField("NAME_CONTRACT_TYPE", "Contract type", "category"),
    FormField("AMT_INCOME_TOTAL", "Annual income", "amount", "currency units"),
    FormField("AMT_CREDIT", "Credit amount", "amount", "currency units"),
    FormField("AMT_ANNUITY", "Annuity (yearly repayment)", "amount", "currency units"),
    FormField("AMT_GOODS_PRICE", "Price of the goods", "amount", "currency units, empty if none"),
    FormField("DAYS_BIRTH", "Age", "years_ago", "years"),
    FormField("DAYS_EMPLOYED", "Years in current job", "years_employed", "years; tick 'not employed' if none"),
    FormField("EXT_SOURCE_1", "External score 1", "share", "0 (bad) to 1 (good); empty if unknown"),
    FormField("EXT_SOURCE_2", "External score 2", "share", "0 to 1; empty if unknown"),
    FormField("EXT_SOURCE_3", "External score 3", "share", "0 to 1; empty if unknown"),
    FormField("NAME_EDUCATION_TYPE", "Education", "category"),
    FormField("NAME_INCOME_TYPE", "Income type", "category"),
    FormField("ORGANIZATION_TYPE", "Employer sector", "category"),
    FormField("OCCUPATION_TYPE", "Occupation", "category"),
    FormField("NAME_FAMILY_STATUS", "Family status", "category"),
    FormField("CODE_GENDER", "Gender (not used by the model)", "category"),
    FormField("FLAG_OWN_CAR", "Owns a car", "category"),
    FormField("DAYS_ID_PUBLISH", "Years since the ID document was issued", "years_ago", "years"),
    FormField("REGION_RATING_CLIENT_W_CITY", "Region rating (1 best, 3 worst)", "rating"),
)


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
    if field.kind == "share":
        return gr.Number(label=field.label, info=field.info, minimum=0, maximum=1, step=0.01)
    return gr.Number(label=field.label, info=field.info or None, minimum=0)


def _to_payload(values: dict[str, Any], not_employed: bool, advanced: str) -> dict[str, Any]:
    """Form values (human units) -> API payload (Home Credit units)."""
    payload: dict[str, Any] = {}
    if advanced and advanced.strip():
        try:
            extra = json.loads(advanced)
        except json.JSONDecodeError as exc:
            raise gr.Error(
                f"Advanced fields: not valid JSON ({exc.msg} at line {exc.lineno})", print_exception=False
            ) from exc
        if not isinstance(extra, dict):
            raise gr.Error("Advanced fields: expected a JSON object of field: value", print_exception=False)
        payload.update(extra)
    for field in FORM:
        value = values.get(field.name)
        if field.kind == "years_employed" and not_employed:
            payload[field.name] = DAYS_EMPLOYED_PENSIONER
            continue
        if value is None or value == "":
            continue
        if field.kind in ("years_ago", "years_employed"):
            payload[field.name] = -round(float(value) * DAYS_PER_YEAR)
        else:
            payload[field.name] = value
    return payload


def _from_payload(example: dict[str, Any]) -> list[Any]:
    """API payload -> form values, for the example buttons."""
    out: list[Any] = []
    for field in FORM:
        value = example.get(field.name)
        if value is not None and field.kind in ("years_ago", "years_employed"):
            value = None if value == DAYS_EMPLOYED_PENSIONER else round(-value / DAYS_PER_YEAR, 1)
        out.append(value)
    out.append(example.get("DAYS_EMPLOYED") == DAYS_EMPLOYED_PENSIONER)
    shown = {f.name for f in FORM}
    rest = {k: v for k, v in example.items() if k not in shown}
    out.append(json.dumps(rest, indent=1) if rest else "")
    return out


def result_card(result: dict[str, Any]) -> str:
    p, t = result["probability"], result["threshold"]
    refuse = result["decision"] == "refuse"
    colour = "#b42318" if refuse else "#067647"
    width = min(p / max(2 * t, 1e-9), 1.0) * 100
    warnings = "".join(f"<li>{html_escape(w)}</li>" for w in result["warnings"])
    return f"""
<div class="result-card" style="border:2px solid {colour};border-radius:10px;padding:14px">
  <div style="font-size:1.6em;font-weight:700;color:{colour}" id="decision">{result["decision"].upper()}</div>
  <div>Probability of default <b id="probability">{p:.1%}</b> — threshold {t:.1%}
       (refuse at or above)</div>
  <div style="position:relative;height:14px;background:#eee;border-radius:7px;margin:8px 0">
    <div style="width:{width:.1f}%;height:14px;background:{colour};border-radius:7px"></div>
    <div style="position:absolute;left:50%;top:-3px;height:20px;border-left:2px dashed #333"
         title="threshold"></div>
  </div>
  <div style="font-size:0.85em;color:#555">model {html_escape(result["model_version"])} ·
       request {html_escape(result["request_id"])} · inference {result["inference_ms"]:.2f} ms</div>
  {f'<ul style="color:#b54708">{warnings}</ul>' if warnings else ""}
</div>"""


def factors_figure(factors: list[dict[str, Any]]) -> go.Figure:
    factors = factors[::-1]
    labels = [f"{f['feature']} = {_short(f['value'])}" for f in factors]
    values = [f["contribution"] for f in factors]
    fig = go.Figure(
        go.Bar(x=values, y=labels, orientation="h", marker_color=["#b42318" if v > 0 else "#067647" for v in values])
    )
    fig.update_layout(
        title="Top factors (red raises the risk, green lowers it; log-odds)",
        height=300,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return fig


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def build_score_tab(service: ScoringService) -> None:
    gr.Markdown(
        "Fill what you know: empty fields count as missing, which the model handles. "
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
    explain = gr.Checkbox(value=True, label="Explain the decision (top 5 factors)")
    submit = gr.Button("Score", variant="primary", elem_id="score-button")
    card = gr.HTML(elem_id="result-card")
    chart = gr.Plot(label="Top factors")

    def on_score(*values: Any) -> tuple[str, go.Figure | None]:
        started = time.perf_counter()
        *fields, unemployed, extra, want_explain = values
        payload = _to_payload(dict(zip([f.name for f in FORM], fields, strict=True)), unemployed, extra)
        try:
            result = service.score(payload, channel="gradio_form", explain=want_explain, started=started)
        except (InvalidInput, ServiceUnavailable) as exc:
            raise as_gradio_error(exc) from None
        return result_card(result), factors_figure(result["factors"]) if want_explain else None

    submit.click(on_score, [*components, not_employed, advanced, explain], [card, chart], api_visibility="private")
    form_outputs = [*components, not_employed, advanced]
    low.click(lambda: _from_payload(EXAMPLE_LOW_RISK), None, form_outputs, api_visibility="private")
    high.click(lambda: _from_payload(EXAMPLE_HIGH_RISK), None, form_outputs, api_visibility="private")
