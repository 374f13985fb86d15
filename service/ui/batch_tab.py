"""Tab "Batch": upload a CSV or Parquet file of applications, download it scored (CSV); a bad cell rejects
its row, never the file.

The file is read within limits (bytes, header, columns, rows: scoring.csv_table), every cell is converted
for the per-row validator, and the rows are scored in chunks under one batch id (logged with each row), so
a run stopped half-way can be told apart in the log. A re-upload of the same bytes is flagged. The scored
CSV carries `status` and an `errors` column with every reason; the table lists every problem with the
row's client reference.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from scoring.csv_table import CsvLimits, CsvTable, read_csv_table, read_parquet_table, table_frame, write_scored_csv
from scoring.errors import InvalidInput, ServiceUnavailable
from scoring.schema import ID_COLUMN
from service.scoring import ScoringService
from service.ui.common import as_gradio_error
from service.ui.uploads import BatchFiles, require_uploaded, uploads_only

log = logging.getLogger(__name__)

CHUNK_ROWS = 500
MAX_SHOWN_PROBLEMS = 10_000  # the table's lines; the file's `errors` column always has them all
OUTPUT_COLUMNS = ["probability", "decision", "status", "errors", "request_id"]
TABLE_COLUMNS = ["row", ID_COLUMN, "field", "reason"]
BATCH_CONCURRENCY = 2  # big files are queued rather than scored side by side


def _problem_text(problem: dict[str, Any]) -> str:
    return f"{problem['field']}: {problem['message']}" if problem.get("field") else str(problem["message"])


def _file_error(exc: InvalidInput) -> gr.Error:
    reasons = "; ".join(_problem_text(p.as_dict()) for p in exc.problems)
    return gr.Error(f"The file was not scored: {reasons}", print_exception=False)


Chunks = Callable[[int, int], pd.DataFrame]


def read_upload(source: Path, limits: CsvLimits) -> tuple[CsvTable, Chunks]:
    """An uploaded CSV or Parquet file within `limits`: its cells as text, and its rows [start, stop) as a frame."""
    if source.suffix.lower() == ".parquet":
        table, frame = read_parquet_table(source, limits)
        return table, lambda start, stop: frame.iloc[start:stop].reset_index(drop=True)
    table = read_csv_table(source, limits)
    return table, lambda start, stop: table_frame(table, start, stop)


def score_table(
    service: ScoringService,
    table: CsvTable,
    *,
    batch_id: str,
    progress: gr.Progress | None = None,
    chunks: Chunks | None = None,
) -> list[dict[str, Any]]:
    """Every row's outcome, in file order, scored in chunks logged under one batch id.

    Each chunk is validated on its columns (scoring.columnar: the per-row validator's verdicts and words);
    `chunks` gives a chunk's frame (a CSV's cells converted by default).
    """
    chunks = chunks or (lambda start, stop: table_frame(table, start, stop))
    starts = range(0, len(table.rows), CHUNK_ROWS)
    outcomes: list[dict[str, Any]] = []
    for start in progress.tqdm(starts, desc="scoring") if progress else starts:
        stop = start + CHUNK_ROWS
        refused = {i - start: e for i, e in table.refused.items() if start <= i < stop}
        frame = chunks(start, stop)
        try:
            part = service.score_table(
                frame, channel="gradio_batch", batch_id=batch_id, first_index=start, refused=refused
            )
        except ServiceUnavailable as exc:
            raise as_gradio_error(exc) from None
        outcomes.extend({**item, "index": start + item["index"]} for item in part["results"])
    return outcomes


def scored_rows(table: CsvTable, outcomes: list[dict[str, Any]]) -> list[list[Any]]:
    """The uploaded cells (as written, ragged rows padded or cut to the header) plus the outcome columns."""
    width = len(table.header)
    out = []
    for cells, outcome in zip(table.rows, outcomes, strict=True):
        reasons = "; ".join(_problem_text(p) for p in outcome.get("errors", []))
        fixed = (cells + [""] * width)[:width]
        extra = [outcome.get("probability"), outcome.get("decision"), outcome["status"], reasons]
        out.append(fixed + extra + [outcome["request_id"]])
    return out


def problem_lines(table: CsvTable, outcomes: list[dict[str, Any]]) -> list[tuple[int, str, str | None, str]]:
    """One line per problem of every rejected row: row number (1 = first data row), client ref, field, reason."""
    id_at = table.header.index(ID_COLUMN) if ID_COLUMN in table.header else None
    lines = []
    for outcome in outcomes:
        if outcome["status"] == "ok":
            continue
        cells = table.rows[outcome["index"]]
        ref = cells[id_at] if id_at is not None and id_at < len(cells) else ""
        lines.extend((outcome["index"] + 1, ref, p.get("field"), p["message"]) for p in outcome["errors"])
    return lines


def _summary(outcomes: list[dict[str, Any]], *, batch_id: str, seconds: float, earlier: dict | None) -> str:
    n_ok = sum(o["status"] == "ok" for o in outcomes)
    refused = sum(o.get("decision") == "refuse" for o in outcomes)
    text = (
        f"**{n_ok:,}** scored, **{len(outcomes) - n_ok:,}** rejected, **{refused:,}** refusals, in "
        f"{seconds:.2f} s. Batch id `{batch_id}`."
    )
    if earlier:
        text += (
            f"\n\n**Already scored:** the same file was scored at {earlier['at']} UTC (batch "
            f"`{earlier['batch_id']}`, {earlier['rows']:,} rows); its rows are now logged a second time "
            "under this batch id."
        )
    return text


def build_batch_tab(service: ScoringService, *, max_rows: int, max_bytes: int, files: BatchFiles) -> None:
    limits = CsvLimits(max_bytes=max_bytes, max_rows=max_rows)
    gr.Markdown(
        f"Upload a CSV or Parquet file whose columns are Home Credit application fields (up to {max_rows:,} "
        f"rows, {max_bytes / 1e6:.0f} MB). You get the rows back as a CSV with `probability`, `decision`, `status` and "
        "`errors` columns: a row with a bad cell is rejected with every reason, the others are still scored. "
        "Uploaded and scored files are deleted when you close the page, or after "
        f"{files.ttl_s / 60:.0f} minutes."
    )
    upload = uploads_only(
        gr.File(label="Applications (CSV or Parquet)", file_types=[".csv", ".parquet"], elem_id="batch-upload")
    )
    run = gr.Button("Score the file", variant="primary")
    summary = gr.Markdown(elem_id="batch-summary")
    scored = gr.File(label="Scored CSV", elem_id="batch-scored")
    errors = gr.Dataframe(label="Rejected rows", headers=TABLE_COLUMNS, interactive=False, elem_id="batch-errors")

    def on_run(
        path: str | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio injects progress through this default
    ) -> tuple[str, str, pd.DataFrame]:
        if not path:
            raise gr.Error("Choose a CSV or Parquet file first", print_exception=False)
        session = getattr(request, "session_hash", None)
        source = require_uploaded(path)
        files.own(source, session=session)
        started = time.perf_counter()
        try:
            table, chunks = read_upload(source, limits)
        except InvalidInput as exc:
            raise _file_error(exc) from None
        batch_id = uuid.uuid4().hex
        earlier = files.seen_before(table.sha256, batch_id=batch_id, rows=len(table.rows))
        log.info(
            "batch upload",
            extra={"batch_id": batch_id, "sha256": table.sha256, "rows": len(table.rows), "repeat": bool(earlier)},
        )
        outcomes = score_table(service, table, batch_id=batch_id, progress=progress, chunks=chunks)
        target = files.scored_path(Path(source).stem, session=session)
        write_scored_csv(target, table.header + OUTPUT_COLUMNS, scored_rows(table, outcomes))
        lines = problem_lines(table, outcomes)
        text = _summary(outcomes, batch_id=batch_id, seconds=time.perf_counter() - started, earlier=earlier)
        if len(lines) > MAX_SHOWN_PROBLEMS:
            text += f"\n\nThe table shows {MAX_SHOWN_PROBLEMS:,} of {len(lines):,} problems; the file has them all."
        return text, str(target), pd.DataFrame(lines[:MAX_SHOWN_PROBLEMS], columns=TABLE_COLUMNS)

    run.click(
        on_run, [upload], [summary, scored, errors], api_visibility="private", concurrency_limit=BATCH_CONCURRENCY
    )
