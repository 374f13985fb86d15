"""The registry side of a promotion: who holds `champion` before, moving it, and moving it back.

Only a candidate that came from the registry moves the alias; a folder candidate (CI, a local export)
leaves the registry alone. `scoring.registry` does the talking; it is imported only when needed.
"""

from __future__ import annotations

from typing import Any

from scoring.promote.sides import Side

CHAMPION = "champion"


def current_champion(candidate: Side, *, tracking_uri: str) -> dict[str, Any] | None:
    """The registry version `champion` points at now (what a rollback puts back), None without registry."""
    if candidate.registry is None:
        return None
    from scoring.registry import version_for_alias

    name = candidate.registry["name"]
    version = version_for_alias(name, CHAMPION, tracking_uri=tracking_uri)
    return {"name": name, "version": version, "alias": CHAMPION} if version is not None else None


def move_champion(candidate: Side, *, tracking_uri: str) -> str | None:
    """Point `champion` at the candidate's registry version; what was done, for the record."""
    if candidate.registry is None:
        return None
    from scoring.registry import set_alias

    name, version = candidate.registry["name"], candidate.registry["version"]
    set_alias(name, CHAMPION, version, tracking_uri=tracking_uri)
    return f"{name}@{CHAMPION} -> version {version}"


def restore_champion(entry: dict[str, Any], tracking_uri: str) -> str | None:
    """Point `champion` back at the version it held before the promotion being undone."""
    registry = entry.get("registry")
    if not registry or registry.get("version") is None:
        return None
    from scoring.registry import set_alias

    set_alias(registry["name"], CHAMPION, registry["version"], tracking_uri=tracking_uri)
    return f"{registry['name']}@{CHAMPION} -> version {registry['version']}"
