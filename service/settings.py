"""One settings object, read from the environment (and a `.env` file when present)."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from monitoring.alerts.outcomes import OutcomeRules
from monitoring.alerts.rules import AlertRules, parse_opening_hours
from monitoring.drift.chunking import MIN_CHUNK_ROWS
from monitoring.drift.sampling import DEFAULT_SAMPLE_ROWS
from monitoring.sync.config import HubSyncConfig

CONTAINER_MARKERS = ("/.dockerenv", "/run/.containerenv")  # written by Docker and by podman


def _default_replica_id() -> str:
    # Host name + pid + start time: unique per process, so two replicas never share a log shard.
    host = socket.gethostname().split(".")[0][:24] or "host"
    return f"{host}-{os.getpid()}-{datetime.now(UTC):%Y%m%dT%H%M%S}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    host: str = "0.0.0.0"  # noqa: S104 - a container must listen on every interface
    port: int = Field(7860, ge=1, le=65535)
    # The model served (a `model/`-format folder or models:/NAME@ALIAS, models:/NAME/N; MODEL_DIR is the
    # older name) and an optional challenger scored in shadow; registry URIs use MLFLOW_TRACKING_URI and
    # are downloaded once into MODEL_CACHE_DIR (scoring/registry.py).
    model_uri: str = Field("model", validation_alias=AliasChoices("model_uri", "model_dir"), min_length=1)
    challenger_uri: str | None = None
    shadow_queue: int = Field(256, ge=1)  # jobs (a request or a batch) waiting for the challenger; then dropped
    model_cache_dir: Path = Path("data/models")
    # Batches of 256+ rows through the model's trees compiled to C (scoring/compiled.py), built in the
    # background into MODEL_CACHE_DIR/compiled: "auto" when tl2cgen and gcc are here (or a library is
    # cached), "tl2cgen" the same with a warning when it cannot be had, "booster" never.
    batch_runtime: Literal["auto", "booster", "tl2cgen"] = "auto"
    api_token: SecretStr | None = None  # the scoring role: form, REST, Gradio API, MCP
    analyst_token: SecretStr | None = None  # the analyst role: also Monitoring, Production data, outcomes
    # failed logins/tokens per client address: after auth_max_failures in auth_failure_window_s, 429 for auth_block_s
    auth_max_failures: int = Field(10, ge=1)
    auth_failure_window_s: float = Field(60, gt=0)
    auth_block_s: float = Field(60, gt=0)
    forwarded_allow_ips: str = "127.0.0.1"  # proxies whose X-Forwarded-For names the client (uvicorn)
    # slow clients: time to send the headers, the body; idle keep-alive; connections + tasks (503 beyond)
    header_timeout_s: float = Field(10, gt=0)
    body_timeout_s: float = Field(30, gt=0)
    keep_alive_s: float = Field(5, gt=0)
    max_connections: int = Field(256, ge=1)
    # Without a token the service is open to anyone; on a Space or in a container it then refuses to
    # start unless OPEN_DEMO=1 asks for that explicitly (a laptop's `make run` stays open, announced).
    open_demo: bool = False
    space_id: str | None = None  # set by Hugging Face on a Space
    container: str | None = None  # set by podman/systemd-nspawn inside a container

    prediction_log_dir: Path = Path("data/predictions")
    history_dir: Path = Path("data/history")
    log_id_salt: SecretStr | None = None
    log_retention_days: int | None = Field(None, ge=1)
    # What to do when a row cannot be written: "refuse" answers 503 (no unaudited decision),
    # "serve" answers and raises an alarm on /readyz and /metrics.
    log_write_policy: Literal["refuse", "serve"] = "refuse"
    replica_id: str = Field(default_factory=_default_replica_id)

    hf_dataset_repo: str | None = None
    hf_token: SecretStr | None = None
    hf_push_every_min: float = Field(5.0, gt=0)
    # Storage on the Hub (docs/privacy.md, README "Storage cost"): commits per UTC day, the history a
    # restart pulls back, the daily compaction to Parquet, and squashing the dataset's git history.
    hf_max_commits_per_day: int = Field(96, ge=2)
    history_restore_days: int = Field(28, ge=1)
    log_compact: bool = True
    hf_squash_history: bool = False

    max_body_bytes: int = 256 * 1024
    max_batch_body_bytes: int = 48 * 1024 * 1024
    max_batch_rows: int = 10_000
    max_upload_bytes: int = Field(32 * 1024 * 1024, ge=1024)  # a Batch-tab CSV (Gradio refuses larger with 413)
    upload_ttl_s: int = Field(900, ge=10)  # uploaded and scored CSVs are deleted after this (or at session end)
    batch_workers: int = Field(2, ge=1)  # REST batches scored at once, off the event loop
    batch_queue: int = Field(2, ge=0)  # REST batches waiting for a worker; past that, 503 + Retry-After
    max_outcome_rows: int = Field(10_000, ge=1)
    max_outcome_body_bytes: int = 8 * 1024 * 1024
    gradio_concurrency: int = Field(16, ge=1)
    # service/ui/fastpath.py: off only to compare with Gradio's own per-call costs, or after an upgrade
    gradio_fast_path: bool = True
    log_level: str = "INFO"
    alert_window_min: float = Field(15, gt=0)
    alert_baseline_windows: int = Field(24, ge=1)
    alert_latency_p95_ms: float = Field(50, gt=0)
    alert_latency_p99_ms: float = Field(200, gt=0)
    alert_timezone: str = "Europe/Paris"
    alert_opening_hours: str = "mon-fri 08:00-20:00"
    alert_idle_min: float = Field(30, ge=0)
    alert_traffic_min_days: int = Field(3, ge=1)
    alert_traffic_lookback_days: int = Field(7, ge=1)
    alert_every_s: float = Field(60, gt=0)
    # rows per chunk the drift statistics run on (monitoring.drift.sampling; docs/monitoring.md says why)
    monitoring_sample_rows: int = Field(DEFAULT_SAMPLE_ROWS, ge=MIN_CHUNK_ROWS)
    alert_webhook_url: SecretStr | None = None  # a Slack hook URL embeds its token
    alert_webhook_cooldown_s: float = Field(900, ge=0)
    alert_webhook_min_severity: Literal["info", "warning", "critical"] = "warning"

    # Realized outcomes (monitoring.alerts.outcomes): when labelled loans alert.
    outcome_min_labels: int = Field(200, ge=10)
    outcome_cost_margin: float = Field(0.25, ge=0)
    outcome_auc_floor: float = Field(0.60, ge=0, le=1)
    outcome_calibration_deciles: int = Field(3, ge=1, le=10)
    fairness_gap_tolerance: float = Field(0.10, ge=0, le=1)
    # Champion vs challenger (monitoring.alerts.pair): warn when they agree on fewer decisions than this.
    pair_agreement_floor: float = Field(0.90, ge=0, le=1)

    # Test hook for the alerting drill: adds this much latency to every scoring request.
    debug_extra_latency_ms: float = Field(0.0, ge=0, le=10_000)

    # Where runs and registered models go (`python -m scoring.train`) and where MODEL_URI and
    # CHALLENGER_URI registry URIs are resolved.
    mlflow_tracking_uri: str = "sqlite:///mlflow.db"

    # Promotion gate (`python -m scoring.promote`): how much worse than the champion a candidate may be.
    promote_auc_tolerance: float = Field(0.005, ge=0, le=1)
    promote_cost_tolerance: float = Field(2.0, ge=0)  # business cost per 1,000 decisions
    promote_gap_tolerance: float = Field(0.01, ge=0, le=1)  # approval-rate gap, gender and age bands
    promote_brier_tolerance: float = Field(0.0005, ge=0, le=1)

    @field_validator(
        "api_token", "analyst_token", "hf_token", "log_id_salt", "alert_webhook_url", "challenger_uri", mode="before"
    )
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def model_dir(self) -> Path:
        """The `model/`-format folder of MODEL_URI (the committed `model/` when it names a registry version):
        where `python -m scoring.promote` exports a promoted version."""
        return Path("model") if self.model_uri.startswith("models:/") else Path(self.model_uri)

    @property
    def token(self) -> str | None:
        return self.api_token.get_secret_value() if self.api_token else None

    @property
    def analyst(self) -> str | None:
        return self.analyst_token.get_secret_value() if self.analyst_token else None

    @property
    def deployed(self) -> bool:
        """On a Space or in a container (Docker's /.dockerenv, podman's /run/.containerenv)."""
        return bool(self.space_id or self.container or any(Path(m).exists() for m in CONTAINER_MARKERS))

    def open_refusal(self) -> str | None:
        """Why the service must not start open here, or None when it may."""
        if self.token or self.analyst or self.open_demo or not self.deployed:
            return None
        where = "a Hugging Face Space" if self.space_id else "a container"
        return (
            f"API_TOKEN is not set on {where}: refusing to serve applicants' data to anyone. "
            "Set API_TOKEN (the Space's secrets), or OPEN_DEMO=1 for an explicitly open demo."
        )

    @property
    def hub_enabled(self) -> bool:
        return bool(self.hf_dataset_repo and self.hf_token)

    # -- typed sub-settings for monitoring/ (the only path from the environment to those modules)
    def alert_rules(self) -> AlertRules:
        """The alert thresholds as the environment sets them: used by the service and the report alike."""
        days, opens, closes = parse_opening_hours(self.alert_opening_hours)
        return AlertRules(
            window=timedelta(minutes=self.alert_window_min),
            baseline_windows=self.alert_baseline_windows,
            slo_p95_ms=self.alert_latency_p95_ms,
            slo_p99_ms=self.alert_latency_p99_ms,
            timezone=self.alert_timezone,
            opening_days=days,
            opening_start=opens,
            opening_end=closes,
            idle_minutes=self.alert_idle_min,
            traffic_min_days=self.alert_traffic_min_days,
            traffic_lookback_days=self.alert_traffic_lookback_days,
        )

    def outcome_rules(self) -> OutcomeRules:
        """When realized outcomes, calibration, fairness and score PSI alert: the service and the report alike."""
        return OutcomeRules(
            min_labels=self.outcome_min_labels,
            cost_margin=self.outcome_cost_margin,
            auc_floor=self.outcome_auc_floor,
            calibration_deciles=self.outcome_calibration_deciles,
            fairness_tolerance=self.fairness_gap_tolerance,
        )

    def hub_sync(self) -> HubSyncConfig:
        """Where and how often the prediction log is pushed to the Hub."""
        return HubSyncConfig(
            repo_id=self.hf_dataset_repo or None,
            token=self.hf_token.get_secret_value() if self.hf_token else None,
            every_min=float(self.hf_push_every_min),
            history_dir=self.history_dir,
            retention_days=self.log_retention_days,
            max_commits_per_day=self.hf_max_commits_per_day,
            restore_days=self.history_restore_days,
            compact=self.log_compact,
            squash_history=self.hf_squash_history,
        )
