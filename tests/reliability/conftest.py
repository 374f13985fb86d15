"""Reliability suite: the `long` skip, a figures board printed at the end of the run, shared checks."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest

# A 4xx may name no field only when no field is to blame; its kind then says why.
NO_FIELD_KINDS = frozenset(
    {"empty_body", "invalid_json", "wrong_content_type", "too_large", "not_an_object", "auth", "log_unavailable"}
    # a table body (CSV, Parquet, Arrow) that cannot be read, or has too many rows: no key to name
    | {"unreadable_table", "batch_too_large"}
)
_FIGURES: list[str] = []


def run_long() -> bool:
    return os.environ.get("RUN_LONG", "").strip().lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`long` tests (>= 5,000 fuzz cases, 60 s of load) run only with RUN_LONG=1."""
    if run_long():
        return
    skip = pytest.mark.skip(reason="long version: set RUN_LONG=1 (and select it with -m long)")
    for item in items:
        if item.get_closest_marker("long"):
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _FIGURES:
        terminalreporter.section("reliability figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)


def record_figures(name: str, **figures: Any) -> None:
    """Keep a test's measured figures for the end-of-run summary (they go into docs/reliability.md)."""
    _FIGURES.append(f"{name}: {json.dumps(figures, default=str)}")


def assert_explained_4xx(response: httpx.Response) -> dict[str, Any]:
    """A 4xx in the service's error shape, every problem naming its field, or a kind that says why not."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])  # httpx or schemathesis
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"]
    assert isinstance(body.get("detail"), list) and body["detail"]
    for problem in body["detail"]:
        assert problem["kind"] and problem["message"], problem
        assert problem["field"] is not None or problem["kind"] in NO_FIELD_KINDS, problem
    return body["detail"][0]


def wait_until(condition: Any, *, timeout: float, step: float = 0.2, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"{what} not reached within {timeout}s")


def files_text(paths: Iterable[Path]) -> str:
    return "\n".join(p.read_text(errors="replace") for p in paths if p.is_file())
