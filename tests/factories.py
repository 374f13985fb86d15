"""Shared test factories: valid applications, log rows, scored frames and a prediction log in a temp folder.

Plain functions (no fixtures), so any test module or conftest can build the same data the same way;
the fixtures that wrap them live in the conftest files.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from monitoring.log.records import build_prediction_row, build_rejection_row
from monitoring.log.writer import PredictionLog
from scoring.schema import FIELDS, RAW_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "model"
SALT = "test-salt-not-a-secret"
ROWS_PER_HOUR = 1_000  # the simulated traffic of scored frames

RowFactory = Callable[..., dict[str, Any]]

# ------------------------------------------------------------------------------------- applications


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


def frame_payloads(frame: pd.DataFrame, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Applicants of a generated frame as API payloads (no TARGET, no id, missing fields left out)."""
    from scoring.payloads import frame_to_payloads

    return frame_to_payloads(frame.head(limit) if limit else frame, drop=("TARGET", "SK_ID_CURR"))


def production_applications(n: int, *, seed: int = 123) -> list[dict[str, Any]]:
    """`n` fresh applicants of the training population, as API payloads."""
    from scoring.synth.generate import production_stream

    return frame_payloads(production_stream(n, seed=seed))


# ----------------------------------------------------------------------------------------- log rows


_NEXT_CLIENT = object()  # a sentinel: None is a real client id (an application without one)


def prediction_row_factory(*, seed: int = 7) -> RowFactory:
    """`build(i, now=None, channel="rest", client_id=100000+i, **extra)`: a plausible logged prediction,
    without the model."""
    rng = random.Random(seed)

    def build(
        i: int, *, now: datetime | None = None, channel: str = "rest", client_id: object = _NEXT_CLIENT, **extra: Any
    ) -> dict[str, Any]:
        return build_prediction_row(
            make_features(rng),
            request_id=f"req-{i}",
            channel=channel,
            model_version="test-1",
            probability=rng.random(),
            decision="refuse" if i % 3 == 0 else "approve",
            threshold=0.42,
            inference_ms=1.5,
            started=time.perf_counter(),
            warnings=["unusual AMT_CREDIT"] if i % 4 == 0 else [],
            client_id=100_000 + i if client_id is _NEXT_CLIENT else client_id,
            salt=SALT,
            now=now,
            **extra,
        )

    return build


def rejection_row_factory() -> RowFactory:
    """`build(i, now=None, **extra)`: a logged refusal of AMT_CREDIT out of range."""

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


# ------------------------------------------------------------------------------ scored frames, logs


def scored_frame(model: Any, n: int, *, seed: int, scenario: str = "none", start: str = "2026-03-02") -> pd.DataFrame:
    """`n` generated applicants scored by `model`, stamped at ROWS_PER_HOUR from `start`, with latencies."""
    from scoring.features import build_features, encode_frame
    from scoring.synth.generate import production_stream

    frame = production_stream(n, seed=seed, scenario=scenario)
    frame["probability"] = model.predict(build_features(encode_frame(frame)))
    frame["decision"] = np.where(frame["probability"] >= model.threshold, "refuse", "approve")
    frame["ts"] = pd.Timestamp(start, tz="UTC") + pd.to_timedelta(np.arange(n) * 3600 / ROWS_PER_HOUR, unit="s")
    rng = np.random.default_rng(seed)
    frame["inference_ms"] = rng.gamma(2.0, 0.5, n)
    frame["latency_ms"] = frame["inference_ms"] + rng.gamma(2.0, 2.0, n)
    frame["model_version"] = model.version
    return frame


def log_writer(folder: Path, *, replica_id: str = "test") -> PredictionLog:
    """The real prediction-log writer on a temp folder."""
    return PredictionLog(folder, replica_id=replica_id)


def write_log(log: PredictionLog, frame: pd.DataFrame) -> None:
    """A scored frame's rows through the real writer, with the frame's timestamps and latencies; closes it."""
    records = frame[list(RAW_COLUMNS)].astype(object).where(frame[list(RAW_COLUMNS)].notna(), None)
    for i, (features, row) in enumerate(zip(records.to_dict("records"), frame.itertuples(), strict=True)):
        entry = build_prediction_row(
            features,
            request_id=f"r{i}",
            channel="rest",
            model_version=row.model_version,
            probability=row.probability,
            decision=row.decision,
            threshold=0.075,
            inference_ms=row.inference_ms,
            started=time.perf_counter(),
            now=row.ts.to_pydatetime(),
        )
        entry["latency_ms"] = float(row.latency_ms)
        log.append(entry)
    log.close()


# ------------------------------------------------------------------------------- the shadow challenger


def with_challenger(
    frame: pd.DataFrame,
    probability: np.ndarray | None = None,
    *,
    threshold: float,
    version: str = "challenger-1",
    scored: np.ndarray | None = None,
) -> pd.DataFrame:
    """A scored frame with the shadow columns the log reader returns (the contract of the challenger in shadow).

    `probability` defaults to the champion's own (an identical challenger); `scored` (bool per row) marks
    the rows the challenger scored: the others get NaN, and no decision or version.
    """
    p = frame["probability"].to_numpy(float) if probability is None else np.asarray(probability, dtype=float)
    mask = np.ones(len(frame), bool) if scored is None else np.asarray(scored, bool)
    decision = pd.Series(np.where(p >= threshold, "refuse", "approve"), index=frame.index, dtype=object)
    return frame.assign(
        challenger_probability=np.where(mask, p, np.nan),
        challenger_decision=decision.where(mask, None),
        challenger_version=pd.Series(version, index=frame.index, dtype=object).where(mask, None),
    )


def challenger_model_dir(folder: Path, *, threshold: float, version: str = "challenger-1") -> Path:
    """A copy of the committed model with another threshold and version: a cheap, real, different challenger."""
    import json
    import shutil

    target = folder / "challenger"
    shutil.copytree(MODEL_DIR, target)
    metadata = json.loads((target / "metadata.json").read_text(encoding="utf-8"))
    metadata |= {"threshold": threshold, "model_version": version}
    (target / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    return target


# ------------------------------------------------------------------------------ the model registry


@dataclass(frozen=True)
class RegistryStore:
    """A sqlite MLflow store made by the tests, with the versions trained into it so far."""

    root: Path
    tracking_uri: str
    cache_dir: Path

    def train(self, *, seed: int, alias: str, rows: int = 2_000, folds: int = 2) -> Path:
        """Train a tiny model into the store (a new version, `alias` pointed at it); its exported folder.

        The real `python -m scoring.train` run, in process, on one LightGBM thread: about 4 s of CPU on
        2,000 rows (LightGBM's threads spin on a loaded 2-core machine and can take 10x longer).
        """
        from scoring.train.cli import main

        model_dir = self.root / f"model-{alias}-{seed}"
        args = ["--rows", str(rows), "--folds", str(folds), "--seed", str(seed), "--alias", alias, "--threads", "1"]
        main([*args, "--model-dir", str(model_dir), "--tracking-uri", self.tracking_uri])
        return model_dir

    def copy(self, root: Path) -> RegistryStore:
        """A store of its own with the same versions and aliases (the database copied; artifacts shared,
        read only): for a test that moves aliases or registers versions without touching the shared one."""
        import shutil

        copied = registry_store(root)
        shutil.copy2(self.root / "mlflow.db", copied.root / "mlflow.db")
        return copied


def registry_store(root: Path) -> RegistryStore:
    root.mkdir(parents=True, exist_ok=True)
    return RegistryStore(root=root, tracking_uri=f"sqlite:///{root / 'mlflow.db'}", cache_dir=root / "cache")
