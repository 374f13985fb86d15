"""The scoring service every channel calls: score, log exactly once, count, answer.

REST, the Gradio form, the Gradio API, batch uploads and MCP all go through `ScoringService`,
so a prediction is validated, scored, logged and measured the same way whatever the door.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from monitoring.log.bulk import ScoredTable
from monitoring.log.records import build_prediction_row, build_rejection_row
from scoring.errors import InvalidInput, Problem, ServiceUnavailable
from scoring.model import ScoringModel
from scoring.predict import Score, Scorer
from service.metrics import Metrics
from service.shadow import ShadowJob, ShadowScorer
from service.table_result import TableResult

log = logging.getLogger(__name__)


class RowSink(Protocol):
    def append(self, row: dict[str, Any]) -> None: ...
    def append_many(self, rows: Sequence[dict[str, Any]]) -> None: ...
    def append_table(self, table: ScoredTable, *, started: float, salt: str | None = None) -> str | None: ...


@dataclass
class ScoringService:
    scorer: Scorer
    sink: RowSink
    metrics: Metrics
    id_salt: str | None = None
    refuse_when_unlogged: bool = True
    extra_latency_s: float = 0.0  # DEBUG_EXTRA_LATENCY_MS: the alerting drill's injected slowness
    # CHALLENGER_URI: every logged prediction is queued for it after its row is written (service/shadow.py)
    shadow: ShadowScorer | None = None
    log_failures: int = 0

    @property
    def model(self) -> ScoringModel:
        """The loaded model, for the Model tab and /api/v1/model."""
        return self.scorer.model

    def _row(
        self,
        score: Score,
        *,
        request_id: str,
        channel: str,
        started: float,
        batch_id: str | None = None,
        batch_index: int | None = None,
    ) -> dict[str, Any]:
        return build_prediction_row(
            score.inputs,
            request_id=request_id,
            channel=channel,
            model_version=score.model_version,
            probability=score.probability,
            decision=score.decision,
            threshold=score.threshold,
            inference_ms=score.inference_ms,
            started=started,
            warnings=score.warnings,
            client_id=score.client_ref,
            salt=self.id_salt,
            batch_id=batch_id,
            batch_index=batch_index,
            validated=True,
        )

    def _write(self, rows: list[dict[str, Any]], channel: str) -> None:
        if rows:
            self._guarded(lambda: self.sink.append_many(rows), channel)

    def _guarded(self, write: Callable[[], None], channel: str) -> None:
        """Run a log write; a failure is counted, and refuses the answer when `refuse_when_unlogged`."""
        try:
            write()
        except Exception as exc:  # any storage failure is the same fact for the caller
            self.log_failures += 1
            self.metrics.count_error(channel, "log_write_failed")
            log.error("prediction log write failed", extra={"error": str(exc), "channel": channel})
            if self.refuse_when_unlogged:
                raise ServiceUnavailable("the prediction log cannot be written; no decision is given") from exc

    def score(
        self, payload: Any, *, channel: str, explain: bool = False, started: float | None = None
    ) -> dict[str, Any]:
        """Score one application; raise InvalidInput (logged as a rejection) on bad input."""
        started = time.perf_counter() if started is None else started
        request_id = uuid.uuid4().hex
        try:
            score = self.scorer.score(payload, explain=explain)
        except InvalidInput as exc:
            self.reject(exc, channel=channel, started=started, request_id=request_id, http_status=422)
            raise
        if self.extra_latency_s:
            time.sleep(self.extra_latency_s)
        row = self._row(score, request_id=request_id, channel=channel, started=started)
        self._write([row], channel)
        if self.shadow is not None and score.features is not None:
            self.shadow.submit(ShadowJob([request_id], [row["ts"]], channel, [score.features]))
        self.metrics.observe_latency(channel, row["latency_ms"])
        self.metrics.count_prediction(channel, score.decision)
        return {"request_id": request_id, **score.public()}

    def score_batch(
        self,
        payloads: Sequence[Any],
        *,
        channel: str,
        explain: bool = False,
        started: float | None = None,
        batch_id: str | None = None,
        first_index: int = 0,
        refused: Mapping[int, InvalidInput] | None = None,
    ) -> dict[str, Any]:
        """Score a batch, logged in one write; one bad row never fails the others.

        A file scored in chunks passes its own `batch_id` and each chunk's `first_index`, so every row of
        the file is logged under one batch id at its position in the file; `refused` holds rows the
        reader already refused (a ragged CSV row), reported and logged like invalid ones.
        """
        started = time.perf_counter() if started is None else started
        batch_id = batch_id or uuid.uuid4().hex
        result = self.scorer.score_batch(payloads, explain=explain)
        for index, error in (refused or {}).items():
            result.scores.pop(index, None)
            result.errors[index] = error
        results: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        rejections: list[dict[str, Any]] = []
        for index in range(len(payloads)):
            request_id = f"{batch_id}-{first_index + index}"
            if index in result.errors:
                error = result.errors[index]
                rejections.append(self._rejection_row(error, channel=channel, started=started, request_id=request_id))
                results.append(
                    {
                        "index": index,
                        "status": "rejected",
                        "request_id": request_id,
                        "errors": [p.as_dict() for p in error.problems],
                    }
                )
                continue
            score = result.scores[index]
            rows.append(
                self._row(
                    score,
                    request_id=request_id,
                    channel=channel,
                    started=started,
                    batch_id=batch_id,
                    batch_index=first_index + index,
                )
            )
            results.append({"index": index, "status": "ok", "request_id": request_id, **score.public()})
        self._write_rejections(rejections, channel)  # one write for the batch's refused rows too
        self._write(rows, channel)  # one write: the whole batch is logged or none of it is acknowledged
        if self.shadow is not None and rows:
            features = [result.scores[i].features for i in range(len(payloads)) if i in result.scores]
            self._shadow(rows, channel, features)
        for row in rows:
            self.metrics.count_prediction(channel, row["decision"])
        self.metrics.observe_latency(channel, (time.perf_counter() - started) * 1000)
        return {
            "batch_id": batch_id,
            "model_version": self.scorer.model.version,
            "n_rows": len(payloads),
            "n_scored": len(result.scores),
            "n_rejected": len(result.errors),
            "inference_ms": result.inference_ms,
            "results": results,
        }

    def score_table(
        self,
        frame: pd.DataFrame,
        *,
        channel: str,
        started: float | None = None,
        batch_id: str | None = None,
        first_index: int = 0,
        refused: Mapping[int, InvalidInput] | None = None,
    ) -> dict[str, Any]:
        """`score_columns`' answer in the shape of `score_batch`'s (a dict per row), for the Batch tab."""
        return self.score_columns(
            frame, channel=channel, started=started, batch_id=batch_id, first_index=first_index, refused=refused
        ).as_dict()

    def score_columns(
        self,
        frame: pd.DataFrame,
        *,
        channel: str,
        started: float | None = None,
        batch_id: str | None = None,
        first_index: int = 0,
        refused: Mapping[int, InvalidInput] | None = None,
    ) -> TableResult:
        """Score a table (a CSV, Parquet or Arrow body) on its columns; log it in one write; answer as columns.

        The table is validated on its columns (scoring.columnar) and scored in one model call; the
        log rows are encoded column by column (monitoring.log.bulk), the same rows `score_batch`
        logs. `batch_id`, `first_index` and `refused` are those of `score_batch` (a file scored in
        chunks; a refused row's cells must all be missing, so it is never scored).
        """
        started = time.perf_counter() if started is None else started
        batch_id = batch_id or uuid.uuid4().hex
        scores = self.scorer.score_frame(frame)
        scores.errors.update(refused or {})
        per_row_ms = scores.inference_ms / max(len(scores.indices), 1)
        result = TableResult(
            batch_id=batch_id,
            model_version=scores.model_version,
            threshold=scores.threshold,
            n_rows=scores.n_rows,
            first_index=first_index,
            inference_ms=scores.inference_ms,
            per_row_ms=per_row_ms,
            indices=scores.indices,
            probabilities=scores.probabilities,
            decisions=scores.decisions,
            warnings=scores.warnings,
            errors=scores.errors,
        )
        rejections = [
            self._rejection_row(error, channel=channel, started=started, request_id=result.request_id(index))
            for index, error in sorted(scores.errors.items())
        ]
        self._write_rejections(rejections, channel)
        table = ScoredTable(
            raw=scores.raw,
            positions=scores.indices + first_index,
            client_refs=scores.client_refs,
            probabilities=scores.probabilities,
            decisions=scores.decisions,
            batch_id=batch_id,
            channel=channel,  # type: ignore[arg-type]  # the doors pass one of CHANNELS
            model_version=scores.model_version,
            threshold=scores.threshold,
            inference_ms=per_row_ms,
            warnings={int(np.searchsorted(scores.indices, i)): texts for i, texts in scores.warnings.items()},
        )
        stamp: list[str | None] = []  # the rows' one ts, for their shadow rows
        self._guarded(lambda: stamp.append(self.sink.append_table(table, started=started, salt=self.id_salt)), channel)
        if self.shadow is not None and stamp and stamp[0] and scores.features is not None:
            ids = [result.request_id(i) for i in scores.indices.tolist()]
            self.shadow.submit(ShadowJob(ids, [stamp[0]] * len(ids), channel, scores.features))
        refusals = int(np.count_nonzero(scores.decisions == "refuse"))
        self.metrics.count_prediction(channel, "refuse", refusals)
        self.metrics.count_prediction(channel, "approve", len(table) - refusals)
        self.metrics.observe_latency(channel, (time.perf_counter() - started) * 1000)
        return result

    def _shadow(self, rows: list[dict[str, Any]], channel: str, features: Any) -> None:
        """Queue logged rows for the challenger (never blocks; a full queue drops them, counted)."""
        if self.shadow is None:
            return
        ids, stamps = [r["request_id"] for r in rows], [r["ts"] for r in rows]
        self.shadow.submit(ShadowJob(ids, stamps, channel, features))

    def reject(
        self,
        error: InvalidInput | Problem | str,
        *,
        channel: str,
        started: float,
        request_id: str | None = None,
        http_status: int | None = None,
        kind: str | None = None,
        field: str | None = None,
    ) -> None:
        """Record a refused request as an event: its kind and field, never its payload."""
        row = self._rejection_row(
            error,
            channel=channel,
            started=started,
            request_id=request_id,
            http_status=http_status,
            kind=kind,
            field=field,
        )
        self._write_rejections([row], channel)

    def _rejection_row(
        self,
        error: InvalidInput | Problem | str,
        *,
        channel: str,
        started: float,
        request_id: str | None = None,
        http_status: int | None = None,
        kind: str | None = None,
        field: str | None = None,
    ) -> dict[str, Any]:
        if isinstance(error, InvalidInput | Problem):
            kind, field = kind or error.kind, field or error.field
        kind = kind or "invalid_request"
        self.metrics.count_error(channel, kind)
        return build_rejection_row(
            request_id=request_id or uuid.uuid4().hex,
            channel=channel,
            error_kind=kind,
            field_name=field,
            http_status=http_status,
            started=started,
        )

    def _write_rejections(self, rows: list[dict[str, Any]], channel: str) -> None:
        if not rows:
            return
        try:
            self.sink.append_many(rows)
        except Exception as exc:  # a lost rejection event must not turn a 4xx into a 5xx
            self.log_failures += 1
            log.error("rejection event not logged", extra={"error": str(exc), "channel": channel})
