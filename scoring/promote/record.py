"""The decision record: every number behind a promotion, a refusal or a rollback, as JSON and markdown.

The JSON is the record (machines read it: CI uploads it, a later rollback names it); the markdown says
the same for a person. Both are written under one name, `<UTC time>-<action>-<version>`, in the
records folder (`reports/promotions/` by default).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scoring.promote.checks import Check

RECORD_FORMAT = 1


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def gate_record(
    *,
    action: str,
    champion: dict[str, Any],
    candidate: dict[str, Any],
    data: list[dict[str, Any]],
    measures: dict[str, dict[str, Any]],
    checks: list[Check],
    tolerances: dict[str, float],
    parity: dict[str, Any],
) -> dict[str, Any]:
    """The record of one gate run (`action`: promote, check or dry-run); `decision` is pass or fail."""
    failed = [c.name for c in checks if c.status == "fail"]
    return {
        "format": RECORD_FORMAT,
        "action": action,
        "decision": "fail" if failed else "pass",
        "failed_checks": failed,
        "skipped_checks": [c.name for c in checks if c.status == "skipped"],
        "timestamp": now_utc(),
        "champion": champion,
        "candidate": candidate,
        "data": data,
        "tolerances": tolerances,
        "checks": [c.as_dict() for c in checks],
        "measures": measures,
        "parity": parity,
        "changes": {},
    }


def rollback_record(*, restored: dict[str, Any], replaced: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": RECORD_FORMAT,
        "action": "rollback",
        "decision": "rolled back",
        "timestamp": now_utc(),
        "restored": restored,
        "replaced": replaced,
        "changes": changes,
    }


def write(record: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    """Write `record` as JSON and markdown into `folder`; the two paths."""
    folder.mkdir(parents=True, exist_ok=True)
    version = (record.get("candidate") or record.get("restored") or {}).get("model_version", "unknown")
    stamp = record["timestamp"].replace(":", "").replace("+0000", "Z").replace("+00:00", "Z")
    base = folder / f"{stamp}-{record['action']}-{version}"
    n = 1
    while Path(f"{base}.json").exists():  # two records in one second: never overwrite the first
        n += 1
        base = folder / f"{stamp}-{record['action']}-{version}-{n}"
    json_path, md_path = Path(f"{base}.json"), Path(f"{base}.md")
    json_path.write_text(json.dumps(record, indent=2, default=_plain) + "\n", encoding="utf-8")
    md_path.write_text(markdown(record), encoding="utf-8")
    return json_path, md_path


def _plain(value: Any) -> Any:
    return str(value)


def _facts(item: dict[str, Any]) -> str:
    return ", ".join(f"{k} {_fmt(v)}" for k, v in item.items() if k != "name")


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _who(side: dict[str, Any]) -> list[str]:
    registry = side.get("registry")
    where = f"registry {registry['name']} v{registry['version']}" if registry else "folder"
    return [
        f"- URI: `{side['uri']}` ({where})",
        f"- model version: `{side['model_version']}`, threshold {_fmt(side.get('threshold'))}",
        f"- sha256 of model.lgb: `{side.get('sha256_model_lgb')}`",
        f"- trained on: {json.dumps(side.get('trained_on', {}), default=_plain)}",
    ]


def markdown(record: dict[str, Any]) -> str:
    """The record for a person: decision first, then who, on what data, and each check."""
    if record["action"] == "rollback":
        return _rollback_markdown(record)
    lines = [
        f"# Promotion gate: {record['decision'].upper()}",
        "",
        f"- action: {record['action']}, at {record['timestamp']}",
        f"- failed checks: {', '.join(record['failed_checks']) or 'none'}",
        f"- skipped checks: {', '.join(record['skipped_checks']) or 'none'}",
        "",
        "## Candidate",
        *_who(record["candidate"]),
        "",
        "## Champion",
        *_who(record["champion"]),
        "",
        "## Data",
        *[f"- {d['name']}: {_facts(d)}" for d in record["data"]],
        "",
        "## Checks",
        "",
        "| check | champion | candidate | rule | result |",
        "|---|---|---|---|---|",
    ]
    for c in record["checks"]:
        result = c["status"] + (f" ({c['note']})" if c["note"] else "")
        lines.append(f"| {c['name']} | {_fmt(c['champion'])} | {_fmt(c['candidate'])} | {c['rule']} | {result} |")
    lines += ["", "## Approval rate by group", "", "| data | group | champion | candidate |", "|---|---|---|---|"]
    for dataset, sides in record["measures"].items():
        champ, cand = sides["champion"]["approval_by_group"], sides["candidate"]["approval_by_group"]
        for attribute, rates in champ.items():
            for group in sorted(set(rates) | set(cand.get(attribute, {}))):
                lines.append(
                    f"| {dataset} | {attribute} {group} | {_fmt(rates.get(group))} "
                    f"| {_fmt(cand.get(attribute, {}).get(group))} |"
                )
    if record.get("changes"):
        lines += ["", "## Changes made", *[f"- {k}: {_fmt(v)}" for k, v in record["changes"].items()]]
    return "\n".join(lines) + "\n"


def _rollback_markdown(record: dict[str, Any]) -> str:
    lines = [
        "# Rollback",
        "",
        f"- at {record['timestamp']}",
        "",
        "## Restored (the previous champion)",
        f"- model version: `{record['restored'].get('model_version')}`",
        f"- sha256 of model.lgb: `{record['restored'].get('files', {}).get('model.lgb')}`",
        f"- registry: {record['restored'].get('registry')}",
        "",
        "## Replaced",
        f"- model version: `{record['replaced'].get('model_version')}`",
        f"- sha256 of model.lgb: `{record['replaced'].get('sha256_model_lgb')}`",
        "",
        "## Changes made",
        *[f"- {k}: {_fmt(v)}" for k, v in record["changes"].items()],
    ]
    return "\n".join(lines) + "\n"
