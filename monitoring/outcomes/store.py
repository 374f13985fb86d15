"""`OutcomeStore`: take in outcomes of scored loans, answer per row, append them to the log as "outcome" rows.

An outcome names its loan by `request_id` (what the scoring answer returned) or by `client_id`
(hashed with the log's salt and matched to the client's latest prediction; the raw id is never
stored). Each row gets one answer:

- `recorded`: new, appended to an outcome shard;
- `duplicate`: the same outcome is already known (idempotent: nothing is written);
- `conflict`: a different outcome is already known: refused, and kept in the shard with
  `status="conflict"` as the audit trail (the first answer stays the one analysed);
- `unknown_request`: no logged prediction carries that id;
- `invalid`: the row itself is wrong (the field and the reason are given).

Matching reads the log's prediction keys through a cache of four columns, so a call costs the new
lines since the last one. A lock per store and an flock on the log folder: two concurrent calls,
in one process or in two replicas of the folder, never record the same loan twice.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from monitoring.log.locks import OUTCOMES_LOCK, locked
from monitoring.log.reader import ReadCache, prediction_keys, read_outcomes
from monitoring.log.records import Channel, build_outcome_row, format_ts, hash_client_id
from monitoring.log.writer import PredictionLog
from scoring.errors import LogWriteError

Answer = Literal["recorded", "duplicate", "conflict", "unknown_request", "invalid"]
ANSWERS: tuple[Answer, ...] = ("recorded", "duplicate", "conflict", "unknown_request", "invalid")
FIELDS = ("request_id", "client_id", "defaulted", "observed_at")
MAX_ID_CHARS = 128
LOCK_TIMEOUT_S = 10.0  # the replicas' outcome lock is held for one short call; longer means a stuck holder


@dataclass(frozen=True, slots=True)
class RowAnswer:
    index: int
    status: Answer
    request_id: str | None = None
    field: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None or k in ("index", "status")}


@dataclass(frozen=True, slots=True)
class _Parsed:
    index: int
    request_id: str | None
    client_id: str | None
    defaulted: bool
    observed_at: str | None


class RowInvalid(ValueError):
    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


def parse_defaulted(value: object) -> bool:
    """true/false, or the TARGET convention 1/0; nothing else (a typo must not become an outcome)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, float) and value in (0.0, 1.0):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in {"true", "false", "1", "0"}:
        return value.strip().lower() in {"true", "1"}
    raise RowInvalid("defaulted", "expected true or false (or 1 / 0)")


def parse_observed_at(value: object) -> str | None:
    """An ISO date (or date-time), stored as the date; absent is allowed."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise RowInvalid("observed_at", "expected an ISO date such as 2027-03-01")
    text = value.strip()
    try:
        return (date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text).date()).isoformat()
    except ValueError:
        raise RowInvalid("observed_at", "expected an ISO date such as 2027-03-01") from None


def _text_id(value: object, field: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RowInvalid(field, "expected a string")
    text = str(value).strip()
    if len(text) > MAX_ID_CHARS:
        raise RowInvalid(field, f"longer than {MAX_ID_CHARS} characters")
    return text


def parse_row(index: int, item: object) -> _Parsed:
    """One outcome object, checked field by field; raises RowInvalid naming the field."""
    if not isinstance(item, Mapping):
        raise RowInvalid(None, "expected an object with request_id (or client_id) and defaulted")
    unknown = [k for k in item if k not in FIELDS]
    if unknown:
        raise RowInvalid(str(unknown[0])[:100], f"unknown field; expected {', '.join(FIELDS)}")
    request_id = _text_id(item.get("request_id"), "request_id")
    client_id = _text_id(item.get("client_id"), "client_id")
    if (request_id is None) == (client_id is None):
        raise RowInvalid("request_id", "give exactly one of request_id or client_id")
    if "defaulted" not in item or item["defaulted"] is None:
        raise RowInvalid("defaulted", "missing: true if the loan defaulted, false if it was repaid")
    return _Parsed(
        index, request_id, client_id, parse_defaulted(item["defaulted"]), parse_observed_at(item.get("observed_at"))
    )


@dataclass(slots=True)
class _Known:
    """What the log says: predictions by id and by client hash, outcomes in force and conflicts seen."""

    predictions: dict[str, tuple[str | None, str]]  # request_id -> (client_ref, prediction ts)
    by_client: dict[str, str]  # client_ref -> its latest request_id
    outcomes: dict[str, bool]  # request_id -> the recorded outcome
    conflicts: set[tuple[str, bool]]


class OutcomeStore:
    """Records outcomes into `log` (the process' `PredictionLog`), matched against `dirs` (live + history)."""

    def __init__(self, log: PredictionLog, *, dirs: Sequence[str | Path], salt: str | None, max_rows: int = 10_000):
        self.log = log
        self.dirs = [Path(d) for d in dirs]
        self.salt = salt
        self.max_rows = max_rows
        self.lock_timeout_s = LOCK_TIMEOUT_S
        self._lock = threading.Lock()
        self._keys = ReadCache()
        self._outcomes = ReadCache()

    def record(self, items: Sequence[Any], *, channel: Channel, now: datetime | None = None) -> dict[str, Any]:
        """Answer every row; write the recorded ones and the conflicts in one append. LogWriteError
        propagates (nothing was acknowledged)."""
        if len(items) > self.max_rows:
            raise ValueError(f"{len(items)} rows; at most {self.max_rows} per call")
        answers: list[RowAnswer] = []
        parsed: list[_Parsed] = []
        for index, item in enumerate(items):
            try:
                parsed.append(parse_row(index, item))
            except RowInvalid as exc:
                answers.append(RowAnswer(index, "invalid", field=exc.field, reason=exc.reason))
        with self._lock, self._replicas_lock():
            known = self._known()
            rows: list[dict[str, Any]] = []
            for item in parsed:
                answer, row = self._judge(item, known, channel=channel, now=now)
                answers.append(answer)
                if row is not None:
                    rows.append(row)
            self.log.append_many(rows)
        answers.sort(key=lambda a: a.index)
        counts = Counter(a.status for a in answers)
        return {"counts": {k: counts.get(k, 0) for k in ANSWERS}, "results": [a.as_dict() for a in answers]}

    def _replicas_lock(self) -> contextlib.ExitStack:
        """Replicas sharing the folder judge one call at a time, each after the other's rows are on
        disk: two of them never both answer "recorded" for one loan."""
        stack = contextlib.ExitStack()
        try:
            got = stack.enter_context(locked(self.log.directory / OUTCOMES_LOCK, timeout=self.lock_timeout_s))
        except OSError as exc:  # an unwritable folder: the append would fail too, say it the same way
            raise LogWriteError(f"cannot lock the outcome log: {exc.strerror or exc}") from exc
        if not got:  # another process holds it and does not let go (stopped mid-call): a 503, not a hang
            stack.close()
            raise LogWriteError(f"the outcome log has been locked by another process for {self.lock_timeout_s:g} s")
        return stack

    def _judge(
        self, item: _Parsed, known: _Known, *, channel: Channel, now: datetime | None
    ) -> tuple[RowAnswer, dict[str, Any] | None]:
        request_id = item.request_id
        if item.client_id is not None:
            if not self.salt:
                reason = "the service keeps no client reference (LOG_ID_SALT is unset): send request_id"
                return RowAnswer(item.index, "invalid", field="client_id", reason=reason), None
            ref = hash_client_id(item.client_id, salt=self.salt)
            request_id = known.by_client.get(ref or "")
            if request_id is None:
                return RowAnswer(item.index, "unknown_request", reason="no prediction for this client_id"), None
        assert request_id is not None
        if request_id not in known.predictions:
            return RowAnswer(
                item.index, "unknown_request", request_id, reason="no prediction has this request_id"
            ), None
        previous = known.outcomes.get(request_id)
        if previous == item.defaulted:
            return RowAnswer(item.index, "duplicate", request_id), None
        client_ref, predicted_at = known.predictions[request_id]
        status = "recorded" if previous is None else "conflict"
        row = None
        if status == "recorded" or (request_id, item.defaulted) not in known.conflicts:
            row = build_outcome_row(
                request_id=request_id,
                client_ref=client_ref,
                defaulted=item.defaulted,
                observed_at=item.observed_at,
                status=status,
                channel=channel,
                prediction_ts=predicted_at,
                now=now,
            )
        if status == "recorded":
            known.outcomes[request_id] = item.defaulted
            return RowAnswer(item.index, "recorded", request_id), row
        known.conflicts.add((request_id, item.defaulted))
        reason = f"an outcome defaulted={str(previous).lower()} is already recorded; kept as it was"
        return RowAnswer(item.index, "conflict", request_id, field="defaulted", reason=reason), row

    def _known(self) -> _Known:
        keys = prediction_keys(self.dirs, cache=self._keys)
        stamps = [format_ts(t) for t in keys["ts"]] if len(keys) else []
        refs = keys["client_ref"].where(keys["client_ref"].notna(), None).tolist()
        predictions = dict(zip(keys["request_id"].tolist(), zip(refs, stamps, strict=True), strict=True))
        latest = keys.dropna(subset=["client_ref"]).sort_values("ts", kind="stable")
        by_client = dict(zip(latest["client_ref"], latest["request_id"], strict=True))
        outcomes, conflicts = in_force(read_outcomes(self.dirs, cache=self._outcomes))
        return _Known(predictions, by_client, outcomes, conflicts)


def in_force(outcomes: pd.DataFrame) -> tuple[dict[str, bool], set[tuple[str, bool]]]:
    """The first recorded outcome of each loan (the one in force) and the (id, value) conflicts seen."""
    if not len(outcomes):
        return {}, set()
    recorded = outcomes[outcomes["status"] == "recorded"].drop_duplicates("request_id", keep="first")
    conflict = outcomes[outcomes["status"] == "conflict"]
    return (
        dict(zip(recorded["request_id"], recorded["defaulted"].astype(bool), strict=True)),
        set(zip(conflict["request_id"], conflict["defaulted"].astype(bool), strict=True)),
    )


def labelled(outcomes: pd.DataFrame) -> pd.DataFrame:
    """request_id -> defaulted of the outcomes in force: what the analysis joins to the predictions."""
    if not len(outcomes):
        return pd.DataFrame({"request_id": pd.Series([], dtype=object), "defaulted": pd.Series([], dtype=bool)})
    recorded = outcomes[outcomes["status"] == "recorded"].drop_duplicates("request_id", keep="first")
    return recorded[["request_id", "defaulted"]].reset_index(drop=True)
