"""Tab "Batch": upload a CSV of applications, download it scored; bad rows are listed, not fatal."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from scoring.errors import ServiceUnavailable
from scoring.payloads import frame_to_payloads
from scoring.schema import FIELDS, ID_COLUMN, TARGET_COLUMN
from service.scoring import ScoringService
from service.ui.common import as_gradio_error

CHUNK_ROWS = 500


def read_upload(path: str, *, max_rows: int) -> pd.DataFrame:
    try:
        frame = pd.read_csv(
            path, nrows=max_rows + 1, dtype={c: "string" for c, f in FIELDS.items() if f.kind == "category"}
        )
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise gr.Error(f"Could not read the CSV: {exc}", print_exception=False) from exc
    if len(frame) > max_rows:
        raise gr.Error(f"Too many rows: at most {max_rows:,} per file", print_exception=False)
    if frame.empty:
        raise gr.Error("The CSV has no rows", print_exception=False)
    # application_train extracts carry TARGET: it is the answer, not an input, so it is set aside.
    frame = frame.drop(columns=[TARGET_COLUMN], errors="ignore")
    unknown = [c for c in frame.columns if c not in FIELDS and c != ID_COLUMN]
    if unknown:
        raise gr.Error(f"Unknown columns (not Home Credit application fields): {unknown[:10]}", print_exception=False)
    frame = frame.astype({c: object for c in frame.columns if str(frame[c].dtype) == "string"})
    return frame.where(frame.notna(), None)


def build_batch_tab(service: ScoringService, *, max_rows: int) -> None:
    gr.Markdown(
        f"Upload a CSV whose columns are Home Credit application fields (up to {max_rows:,} rows). "
        "You get the same file back with `probability`, `decision` and `status` columns; rows that "
        "fail validation are listed below with the reason and the others are still scored."
    )
    upload = gr.File(label="Applications (CSV)", file_types=[".csv"], elem_id="batch-upload")
    run = gr.Button("Score the file", variant="primary")
    summary = gr.Markdown()
    scored = gr.File(label="Scored CSV")
    errors = gr.Dataframe(label="Rejected rows", headers=["row", "field", "reason"], interactive=False)

    def on_run(path: str | None, progress: gr.Progress = gr.Progress()) -> tuple[str, str, pd.DataFrame]:  # noqa: B008 - Gradio injects progress through this default
        if not path:
            raise gr.Error("Choose a CSV file first", print_exception=False)
        frame = read_upload(path, max_rows=max_rows)
        payloads = frame_to_payloads(frame)
        outcomes: list[dict[str, Any]] = []
        started = time.perf_counter()
        for start in progress.tqdm(range(0, len(payloads), CHUNK_ROWS), desc="scoring"):
            try:
                part = service.score_batch(payloads[start : start + CHUNK_ROWS], channel="gradio_batch")
            except ServiceUnavailable as exc:
                raise as_gradio_error(exc) from None
            for item in part["results"]:
                outcomes.append({**item, "index": start + item["index"]})
        out = frame.copy()
        out["probability"] = [o.get("probability") for o in outcomes]
        out["decision"] = [o.get("decision") for o in outcomes]
        out["status"] = [o["status"] for o in outcomes]
        out["request_id"] = [o["request_id"] for o in outcomes]
        bad = [
            (o["index"] + 1, e["field"], e["message"]) for o in outcomes if o["status"] != "ok" for e in o["errors"][:1]
        ]
        target = Path(tempfile.mkdtemp(prefix="scored-")) / f"scored-{Path(path).stem}.csv"
        out.to_csv(target, index=False)
        n_ok = sum(o["status"] == "ok" for o in outcomes)
        refused = sum(o.get("decision") == "refuse" for o in outcomes)
        text = (
            f"**{n_ok:,}** scored, **{len(bad):,}** rejected, **{refused:,}** refusals, in "
            f"{time.perf_counter() - started:.2f} s."
        )
        return text, str(target), pd.DataFrame(bad, columns=["row", "field", "reason"])

    run.click(on_run, [upload], [summary, scored, errors], api_visibility="private")
