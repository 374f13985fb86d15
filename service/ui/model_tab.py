"""Tab "Model": what the model is, how good it is, its threshold and its fairness table."""

from __future__ import annotations

import gradio as gr
import pandas as pd
import plotly.graph_objects as go

from scoring.model import ScoringModel
from service.ui.common import percent


def importance_figure(model: ScoringModel, top: int = 20) -> go.Figure:
    items = list(model.metadata.get("feature_importance", {}).items())[:top][::-1]
    fig = go.Figure(go.Bar(x=[v for _, v in items], y=[k for k, _ in items], orientation="h"))
    fig.update_layout(title="Feature importance (total gain)", height=520, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


def source_line(model: ScoringModel) -> str:
    """Where the served model came from: a registered version (name, version, alias) or a folder."""
    source = model.source
    if source.get("version"):
        alias = f" (alias `{source['alias']}`)" if source.get("alias") else ""
        return f"Served from the model registry: `{source['name']}` version {source['version']}{alias}.\n"
    return f"Served from the folder `{source.get('uri', model.path.name)}`.\n"


def build_model_tab(model: ScoringModel) -> None:
    meta = model.metadata
    holdout = meta["metrics"]["holdout"]
    data = meta.get("data", {})
    origin = source_line(model)
    gr.Markdown(
        f"""### LightGBM default-risk model `{model.version}`
{origin}Trained {meta.get("trained_at", "?")} on {data.get("rows", 0):,} applications ({data.get("source", "?")}).
The **training data are synthetic** (Home Credit schema and statistics, no real applicant).

**Decision rule**: refuse when the probability of default is at or above **{percent(model.threshold)}**, the threshold
that minimises the business cost 10 × missed defaulters + 1 × refused good clients.

| holdout metric | value |
|---|---|
| ROC AUC | {holdout["roc_auc"]:.4f} |
| business cost per 1,000 applications | {holdout["business_cost_per_1000"]:.1f} |
| accuracy | {holdout["accuracy"]:.4f} |
| precision (refusals that were defaults) | {holdout["precision"]:.4f} |
| recall (defaults caught) | {holdout["recall"]:.4f} |
| Brier score | {holdout["brier"]:.4f} |
| refusal rate | {percent(holdout["refusal_rate"])} |

`CODE_GENDER` is not a model input; the table below checks the outcome by gender and age band anyway."""
    )
    fairness = pd.DataFrame(meta.get("fairness", []))
    if not fairness.empty:
        gr.Dataframe(fairness.round(4), label="Fairness on the holdout", interactive=False)
    gr.Plot(importance_figure(model), label="Importance")
