"""The model card (`model/README.md`): what the model is, how it was trained, how well it does."""

from __future__ import annotations

from typing import Any

import pandas as pd

from scoring.features import ENGINEERED
from scoring.schema import RAW_COLUMNS
from scoring.train.config import REGISTERED_NAME


def model_card(metadata: dict[str, Any], fairness: pd.DataFrame) -> str:
    m = metadata["metrics"]["holdout"]
    lines = [
        "# Model card: credit-scoring (LightGBM default-risk model)",
        "",
        f"- **Version**: `{metadata['model_version']}` (MLflow run `{metadata['mlflow']['run_id']}`, "
        f"registered as `{REGISTERED_NAME}` v{metadata['mlflow']['registered_version']}, "
        f"alias `{metadata['mlflow'].get('alias', 'champion')}` at registration; a promotion moves `champion`)",
        f"- **Trained**: {metadata['trained_at']} on {metadata['data']['rows']:,} rows of {metadata['data']['source']}"
        f" (fingerprint `{metadata['data']['fingerprint']}`)",
        *production_lines(metadata["data"].get("production")),
        f"- **Decision rule**: refuse when the probability of default is ≥ **{metadata['threshold']:.3f}**, the "
        "threshold minimising the business cost 10·FN + 1·FP on out-of-fold predictions.",
        "",
        "> **The training data are synthetic.** They follow the schema and the published statistics of the Home",
        "> Credit `application_train` table, but no real applicant is in them. Numbers below describe the model",
        "> on that synthetic population and say nothing about a real portfolio.",
        "",
        "## Holdout metrics",
        "",
        "| metric | value |",
        "|---|---|",
        *[f"| {k} | {v:.4f} |" for k, v in m.items()],
        "",
        f"Cross-validation ({metadata['search']['folds']}-fold) ROC AUC: {metadata['metrics']['cv_auc']:.4f}.",
        "",
        "## Inputs",
        "",
        f"{len(RAW_COLUMNS)} raw application fields (Home Credit names); `CODE_GENDER` is accepted for the fairness "
        "report but is **not** a model input. Engineered features: "
        + ", ".join(f"`{k}` ({v})" for k, v in ENGINEERED.items())
        + ".",
        "",
        "Most important inputs: " + ", ".join(f"`{c}`" for c in metadata["input_importance"][:10]) + ".",
        "",
        "## Fairness (holdout)",
        "",
        markdown_table(fairness),
        "",
        "## Intended use and limits",
        "",
        "Scores consumer-credit applications of Prêt à Dépenser's Crédit Express desk as decision support; a credit",
        "officer stays accountable for the decision. Not validated on real data; monitor drift (see the",
        "Monitoring tab) and retrain on real outcomes before any production use.",
        "",
    ]
    return "\n".join(lines)


def production_lines(production: dict[str, Any] | None) -> list[str]:
    """A retrain from the log says how many production rows it added, and their bias."""
    if not production:
        return []
    return [
        f"- **Plus production rows**: {production['production_rows']:,} labelled loans from the prediction log "
        f"({production['production_first_ts'][:10]} to {production['production_last_ts'][:10]}, label coverage "
        f"{production['production_label_coverage']:.0%} of {production['production_predictions']:,} predictions, "
        f"weight {production['production_weight']:g}). Approved applicants only: the refused ones never get an "
        "outcome, so the original data stay in the training set and carry the rest of the population.",
    ]


def markdown_table(frame: pd.DataFrame) -> str:
    def cell(value: Any) -> str:
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)
