"""Fixtures of the prediction-log tests: plausible applications and rows, built without the model."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from monitoring.log.records import build_prediction_row, build_rejection_row
from scoring.schema import FIELDS

SALT = "test-salt-not-a-secret"


def make_features(rng: random.Random, *, missing: float = 0.15) -> dict[str, Any]:
    """Every field inside its bounds; optional ones left out with probability `missing`."""
    out: dict[str, Any] = {}
    for name, spec in FIELDS.items():
        if not spec.required and rng.random() < missing:
            continue
        low = spec.minimum if spec.minimum is not None else 0.0
        high = spec.maximum if spec.maximum is not None else 1.0
        if spec.kind == "category":
            out[name] = rng.choice(spec.categories)
        elif spec.kind == "float":
            out[name] = round(rng.uniform(low, min(high, low + 1e5)), 4)
        else:
            out[name] = rng.randint(int(low), int(min(high, low + 1e5)))
    return out


RowFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def prediction_row() -> RowFactory:
    rng = random.Random(7)

    def build(i: int, *, now: datetime | None = None, channel: str = "rest", **extra: Any) -> dict[str, Any]:
        features = make_features(rng)
        return build_prediction_row(
            features,
            request_id=f"req-{i}",
            channel=channel,
            model_version="test-1",
            probability=rng.random(),
            decision="refuse" if i % 3 == 0 else "approve",
            threshold=0.42,
            inference_ms=1.5,
            started=time.perf_counter(),
            warnings=["unusual AMT_CREDIT"] if i % 4 == 0 else [],
            client_id=100_000 + i,
            salt=SALT,
            now=now,
            **extra,
        )

    return build


@pytest.fixture
def rejection_row() -> RowFactory:
    def build(i: int, *, now: datetime | None = None, **extra: Any) -> dict[str, Any]:
        return build_rejection_row(
            request_id=f"bad-{i}",
            channel="rest",
            error_kind="out_of_range",
            field_name="AMT_CREDIT",
            http_status=422,
            started=time.perf_counter(),
            now=now,
            **extra,
        )

    return build
