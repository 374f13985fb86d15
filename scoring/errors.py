"""The service's one exception hierarchy.

Every error the domain raises on purpose is a `ServiceError`; each door translates it once (REST into a
JSON problem with a status, Gradio into `gr.Error`, a CLI into an exit code). Foreign exceptions are wrapped
with `raise ... from exc` where they cross into the domain, so a caller never needs to know which library
failed. It lives in `scoring/` because that is the bottom layer every other package already imports.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason an input was refused: the field it concerns (None for the whole input) and why."""

    field: str | None
    kind: str  # one of scoring.errors.PROBLEM_KINDS
    message: str

    def as_dict(self) -> dict[str, str | None]:
        return {"field": self.field, "kind": self.kind, "message": self.message}


# The one vocabulary of refusal reasons: validation, the doors and the log all use these words.
PROBLEM_KINDS = (
    "unknown_field",
    "missing_field",
    "wrong_type",
    "unknown_category",
    "out_of_range",
    "not_an_object",
    "ragged_row",  # a CSV row with more or fewer cells than its header
)
# Refusals made by a door before validation (REST body checks, access control, limits).
REQUEST_KINDS = (
    "invalid_json",
    "duplicate_key",
    "empty_body",
    "wrong_content_type",
    "too_large",
    "batch_too_large",
    "unreadable_table",
    "auth",
    "invalid_csv",
)
# Failures of the service itself: a request refused for these is the service's fault (5xx).
SERVER_KINDS = ("log_write_failed", "log_unavailable", "internal", "overloaded")
# Every `error_kind` a rejection row of the prediction log may carry.
ERROR_KINDS = PROBLEM_KINDS + REQUEST_KINDS + SERVER_KINDS


class ServiceError(Exception):
    """Base of every error the service raises on purpose."""


class InvalidInput(ServiceError):
    """One or more problems with an input; `problems[0]` is the one to show first."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in problems))

    @property
    def field(self) -> str | None:
        return self.problems[0].field

    @property
    def kind(self) -> str:
        return self.problems[0].kind


class ModelLoadError(ServiceError):
    """The model folder or URI is missing, incomplete or does not match this code."""


class LogUnavailable(ServiceError):
    """The prediction log could not be read or written."""


class LogWriteError(LogUnavailable):
    """A row could not be written durably; the caller decides whether to fail the request."""


class ServiceUnavailable(ServiceError):
    """The prediction could not be recorded and the policy is to refuse rather than answer unaudited."""


class MonitoringError(ServiceError):
    """The monitoring could not be fitted or computed (bad reference, NannyML failure)."""


class BatchError(ServiceError):
    """A batch job could not read its input, write its output or run on its engine."""


class UnreadableTable(ServiceError):
    """A body or file that should hold a table (CSV, Parquet, Arrow) cannot be read as one."""
