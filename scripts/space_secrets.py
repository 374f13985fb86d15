"""The Space's secrets: a deploy never ships an open service, and sets the tokens it runs with.

The service refuses to start without a token on a Space unless OPEN_DEMO=1 (issue 14 item 11); this is
the same rule one step earlier, in the deploy job: with neither API_TOKEN nor ANALYST_TOKEN in the
deploy job's environment (and no explicit OPEN_DEMO=1), nothing is uploaded. The tokens found there are
written as Space secrets (encrypted on the Hub, given to the container as environment variables).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SECRET_NAMES = ("API_TOKEN", "ANALYST_TOKEN", "LOG_ID_SALT", "HF_TOKEN", "ALERT_WEBHOOK_URL")
VARIABLE_NAMES = ("HF_DATASET_REPO", "OPEN_DEMO")


def secrets_from(env: Mapping[str, str]) -> dict[str, str]:
    """The Space secrets to set: those of SECRET_NAMES present (and not blank) in `env`."""
    return {name: env[name] for name in SECRET_NAMES if env.get(name, "").strip()}


def open_service_refusal(env: Mapping[str, str]) -> str | None:
    """Why this deploy would serve an open service, or None."""
    secrets = secrets_from(env)
    if "API_TOKEN" in secrets or "ANALYST_TOKEN" in secrets:
        return None
    if env.get("OPEN_DEMO", "").strip().lower() in ("1", "true", "yes"):
        return None
    return (
        "refusing to deploy an open service: set API_TOKEN (and ANALYST_TOKEN) in the deploy environment, "
        "they become the Space's secrets; or OPEN_DEMO=1 for an explicitly open demo"
    )


def set_space_secrets(api: Any, space_id: str, env: Mapping[str, str]) -> list[str]:
    """Write the secrets and variables found in `env` to the Space; returns their names (never the values)."""
    names = []
    for name, value in secrets_from(env).items():
        api.add_space_secret(repo_id=space_id, key=name, value=value)
        names.append(name)
    for name in VARIABLE_NAMES:
        if env.get(name, "").strip():
            api.add_space_variable(repo_id=space_id, key=name, value=env[name])
            names.append(name)
    return names
