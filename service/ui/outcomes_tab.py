"""Tab "Outcomes": upload a CSV of what happened to scored loans, download the per-row answers; and the
Gradio API `/record_outcomes` (same store, same answers as `POST /api/v1/outcomes`)."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from monitoring.outcomes.store import ANSWERS, FIELDS, OutcomeStore
from scoring.errors import ServiceUnavailable
from service.api.outcomes_routes import record_or_503
from service.ui.common import as_gradio_error
from service.ui.uploads import require_uploaded, uploads_only


def read_outcome_csv(path: str, *, max_rows: int) -> list[dict[str, Any]]:
    """The CSV's rows as outcome objects (text kept as text, blanks dropped); bad files named, never fatal."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, nrows=max_rows + 1)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise gr.Error(f"Could not read the CSV: {exc}", print_exception=False) from exc
    if frame.empty:
        raise gr.Error("The CSV has no rows", print_exception=False)
    if len(frame) > max_rows:
        raise gr.Error(f"Too many rows: at most {max_rows:,} per file", print_exception=False)
    unknown = [c for c in frame.columns if c not in FIELDS]
    if unknown:
        raise gr.Error(f"Unknown columns {unknown[:5]}; expected {', '.join(FIELDS)}", print_exception=False)
    return [{k: v for k, v in row.items() if v.strip()} for row in frame.to_dict("records")]


def make_record_outcomes(store: OutcomeStore, *, max_rows: int) -> Any:
    def record_outcomes(outcomes: list[dict]) -> dict:
        """Record what happened to scored loans: per row a request_id (or client_id) and defaulted.

        Args:
            outcomes: a list of {"request_id": "...", "defaulted": true, "observed_at": "2027-03-01"} objects.

        Returns:
            counts per answer and one result per row (recorded, duplicate, conflict, unknown_request, invalid).
        """
        if not isinstance(outcomes, list) or not outcomes:
            raise gr.Error("outcomes: expected a non-empty list of outcome objects", print_exception=False)
        if len(outcomes) > max_rows:
            raise gr.Error(f"outcomes: {len(outcomes)} rows; at most {max_rows} per call", print_exception=False)
        try:
            return record_or_503(store, outcomes, channel="gradio_api")
        except ServiceUnavailable as exc:
            raise as_gradio_error(exc) from None

    return record_outcomes


def build_outcomes_tab(store: OutcomeStore, *, max_rows: int) -> None:
    gr.Markdown(
        "Record what happened to approved loans, so the Monitoring tab shows **realized** performance beside "
        "the estimate. Upload a CSV with a `request_id` (or `client_id`) column, `defaulted` (true/false or "
        "1/0) and optionally `observed_at` (YYYY-MM-DD). Each row is answered: recorded, duplicate (already "
        "known), conflict (a different outcome is already recorded; refused, kept for audit), unknown_request "
        "or invalid. Same as `POST /api/v1/outcomes`."
    )
    upload = uploads_only(gr.File(label="Outcomes (CSV)", file_types=[".csv"], elem_id="outcomes-upload"))
    run = gr.Button("Record the outcomes", variant="primary", elem_id="outcomes-run")
    summary = gr.Markdown(elem_id="outcomes-summary")
    answers = gr.File(label="Per-row answers (CSV)", elem_id="outcomes-answers")
    problems = gr.Dataframe(label="Rows not recorded", headers=["row", "status", "field", "reason"], interactive=False)

    def on_run(path: str | None) -> tuple[str, str, pd.DataFrame]:
        if not path:
            raise gr.Error("Choose a CSV file first", print_exception=False)
        source = require_uploaded(path)  # the Batch tab's rule: only a file uploaded here is read
        rows = read_outcome_csv(str(source), max_rows=max_rows)
        try:
            answer = record_or_503(store, rows, channel="gradio_batch")
        except ServiceUnavailable as exc:
            raise as_gradio_error(exc) from None
        table = pd.DataFrame(answer["results"]).reindex(columns=["index", "status", "request_id", "field", "reason"])
        table.insert(0, "row", table.pop("index") + 1)
        # beside the upload, in Gradio's cache: swept with it
        target = source.parent / f"answers-{source.stem}.csv"
        table.to_csv(target, index=False)
        counts = answer["counts"]
        text = ", ".join(f"**{counts[k]:,}** {k.replace('_', ' ')}" for k in ANSWERS)
        bad = table[~table["status"].isin(["recorded", "duplicate"])][["row", "status", "field", "reason"]]
        return text, str(target), bad.fillna("")

    run.click(on_run, [upload], [summary, answers, problems], api_visibility="private")
    gr.api(make_record_outcomes(store, max_rows=max_rows), api_name="record_outcomes", queue=False)
