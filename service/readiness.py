"""/readyz's verdict: the model is loaded and the prediction log can take rows (or the policy serves anyway)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Readiness:
    """Callable readiness state; /readyz is open to anyone, so it carries no paths and no repo id."""

    model_version: str
    log_health: Callable[[], Any]  # a dataclass: writable, rows_written, last_error, directory, ...
    hub_status: Callable[[], dict[str, Any]]
    log_write_policy: str  # "refuse" or "serve" (LOG_WRITE_POLICY)

    def __call__(self) -> dict[str, Any]:
        health = asdict(self.log_health())
        health.pop("directory", None)
        hub_state = {k: v for k, v in self.hub_status().items() if k != "repo_id"}
        return {
            "ready": health["writable"] or self.log_write_policy == "serve",
            "model_version": self.model_version,
            "log": health,
            "log_write_policy": self.log_write_policy,
            "hub": hub_state,
        }
