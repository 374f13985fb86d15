"""/readyz's verdict: the model is loaded and the prediction log can take rows (or the policy serves anyway)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# anything that looks like a file system path, in an error text shown to anyone
_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[/\\][\w.\-=@+~ ]*){2,}")


def _scrubbed(text: Any) -> Any:
    return _PATH.sub("<path>", text) if isinstance(text, str) else text


@dataclass(frozen=True)
class Readiness:
    """Callable readiness state; /readyz is open to anyone, so it carries no paths and no repo id."""

    model_version: str
    log_health: Callable[[], Any]  # a dataclass: writable, rows_written, last_error, directory, ...
    hub_status: Callable[[], dict[str, Any]]
    log_write_policy: str  # "refuse" or "serve" (LOG_WRITE_POLICY)
    build: Mapping[str, str] = field(default_factory=dict)  # commit and model version (service/build_info.py)
    model: Mapping[str, Any] = field(default_factory=dict)  # the served model's uri, name, version, alias
    challenger: Mapping[str, Any] | None = None  # the same of the shadow challenger, when one is configured
    # what big batches run on now (scoring.compiled.BatchRuntime.status): "booster" until the compiled one is ready
    batch_runtime: Callable[[], Mapping[str, Any]] | None = None

    def __call__(self) -> dict[str, Any]:
        try:
            health = asdict(self.log_health())
            hub_state = {k: v for k, v in self.hub_status().items() if k != "repo_id"}
        except OSError as exc:  # ENOTDIR, EACCES, EIO on the log folder or its ledger: not ready, said cleanly
            log.error("readiness probe failed", extra={"error": f"{type(exc).__name__}: {exc}"})
            return self._not_ready(f"{type(exc).__name__}: {exc.strerror or 'the prediction log is unreachable'}")
        health.pop("directory", None)
        health["last_error"] = _scrubbed(health.get("last_error"))
        hub_state["last_error"] = _scrubbed(hub_state.get("last_error"))
        return {
            "ready": health["writable"] or self.log_write_policy == "serve",
            "model_version": self.model_version,
            "model": dict(self.model),
            "challenger": dict(self.challenger) if self.challenger else None,
            "build": dict(self.build),
            "batch_runtime": self._batch_runtime(),
            "log": health,
            "log_write_policy": self.log_write_policy,
            "hub": hub_state,
        }

    def _batch_runtime(self) -> dict[str, Any]:
        if self.batch_runtime is None:
            return {"in_use": "booster"}
        state = dict(self.batch_runtime())
        state["reason"] = _scrubbed(state.get("reason"))  # a compiler's error names files
        return state

    def _not_ready(self, reason: str) -> dict[str, Any]:
        return {
            "ready": self.log_write_policy == "serve",
            "model_version": self.model_version,
            "model": dict(self.model),
            "challenger": dict(self.challenger) if self.challenger else None,
            "build": dict(self.build),
            "batch_runtime": self._batch_runtime(),
            "log": {"writable": False, "last_error": reason},
            "log_write_policy": self.log_write_policy,
            "hub": {},
        }
