"""Which build is running: the source commit and the model version, for /readyz and the UI footer.

An image built from a staged folder (`scripts/deploy_space.py --stage`) carries `build-info.json`
next to app.py; the post-deploy check (`scripts/verify_deploy.py`) waits until /readyz reports the
commit it deployed. From a git checkout (`make run`) there is no such file: the commit comes from
`git rev-parse HEAD`, else it is "unknown".
"""

from __future__ import annotations

import json
import logging
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)

APP_ROOT = Path(__file__).resolve().parents[1]
BUILD_INFO_FILE = "build-info.json"
UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class BuildInfo:
    commit: str
    model_version: str
    source: str  # where the commit came from: "build-info.json", "git" or "unknown"

    @property
    def short_commit(self) -> str:
        return self.commit if self.commit == UNKNOWN else self.commit[:12]

    @property
    def label(self) -> str:
        """One line for people: the UI footer."""
        return f"build `{self.short_commit}` · model `{self.model_version}`"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _git_head(root: Path) -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = result.stdout.strip()
    return sha if result.returncode == 0 and sha else None


def read_build_info(*, model_version: str, root: Path = APP_ROOT) -> BuildInfo:
    """The build identity; `model_version` is the loaded model's, which is what the service serves."""
    path = root / BUILD_INFO_FILE
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        recorded = None
    except (OSError, ValueError) as exc:
        log.warning("unreadable build info, using git", extra={"path": str(path), "reason": str(exc)})
        recorded = None
    if isinstance(recorded, dict) and isinstance(recorded.get("commit"), str) and recorded["commit"]:
        built_with = recorded.get("model_version")
        if built_with and built_with != model_version:
            log.warning("the loaded model is not the one the image was built with", extra={"built_with": built_with})
        return BuildInfo(commit=recorded["commit"], model_version=model_version, source=BUILD_INFO_FILE)
    sha = _git_head(root)
    if sha:
        return BuildInfo(commit=sha, model_version=model_version, source="git")
    return BuildInfo(commit=UNKNOWN, model_version=model_version, source=UNKNOWN)
