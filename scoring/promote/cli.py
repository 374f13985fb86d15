"""The promotion gate's command line.

    python -m scoring.promote [--candidate URI] [--champion URI] [--log DIR ...] [--check-only | --dry-run]
    python -m scoring.promote --rollback

The candidate (default `models:/credit-scoring@challenger`) is compared with the champion (default the
`model/` folder) on a common holdout and, with --log, on the production rows of that log. On pass it is
exported into `model/` (the replaced model kept in the history for rollback) and, for a registry
candidate, the `champion` alias moves to it; on fail nothing changes and the exit code is 1. Either way a
decision record (JSON + markdown) is written. --check-only writes the record and changes nothing else
(what CI runs); --dry-run only prints it. --rollback restores the previous champion's exact `model/`
(and alias). Exit codes: 0 pass / done, 1 gate failed, 2 cannot run (bad model, nothing to roll back).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from scoring.errors import ModelLoadError
from scoring.model import METADATA_FILE
from scoring.promote import checks, evidence, record, release
from scoring.promote.sides import RELEASE_FILES, Side, open_side

DEFAULT_CANDIDATE = "models:/credit-scoring@challenger"
DEFAULT_RECORDS = Path("reports/promotions")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from service.settings import Settings

    settings = Settings()
    parser = argparse.ArgumentParser(
        prog="python -m scoring.promote", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--candidate", default=DEFAULT_CANDIDATE, help="folder or models:/ URI")
    parser.add_argument("--champion", default=None, help="folder or models:/ URI (default: --model-dir)")
    parser.add_argument("--model-dir", type=Path, default=settings.model_dir, help="the folder the service loads")
    parser.add_argument("--history-dir", type=Path, default=None, help="default: models_history/ beside --model-dir")
    parser.add_argument("--records", type=Path, default=DEFAULT_RECORDS, help="where decision records go")
    parser.add_argument("--log", type=Path, action="append", default=[], help="prediction log folder (repeatable)")
    parser.add_argument("--outcomes", type=Path, action="append", default=[], help="outcome folders (default: --log)")
    parser.add_argument("--holdout-rows", type=int, default=evidence.HOLDOUT_ROWS)
    parser.add_argument("--holdout-seed", type=int, default=evidence.HOLDOUT_SEED)
    parser.add_argument("--auc-tolerance", type=float, default=settings.promote_auc_tolerance)
    parser.add_argument("--cost-tolerance", type=float, default=settings.promote_cost_tolerance)
    parser.add_argument("--gap-tolerance", type=float, default=settings.promote_gap_tolerance)
    parser.add_argument("--brier-tolerance", type=float, default=settings.promote_brier_tolerance)
    parser.add_argument("--tracking-uri", default=settings.mlflow_tracking_uri)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check-only", action="store_true", help="write the record, change nothing else")
    mode.add_argument("--dry-run", action="store_true", help="print the record, write nothing")
    mode.add_argument("--rollback", action="store_true", help="restore the previous champion")
    args = parser.parse_args(argv)
    args.history_dir = args.history_dir or args.model_dir.parent / "models_history"
    args.champion = args.champion or str(args.model_dir)
    return args


def production_evidence(args: argparse.Namespace, candidate: Side) -> evidence.Evidence | None:
    """The log's predictions with their outcomes in force (the CLI is where scoring meets the log)."""
    if not args.log:
        return None
    from monitoring.log.reader import read_log, read_outcomes
    from monitoring.outcomes.store import labelled

    predictions = read_log(args.log).predictions
    outcomes = labelled(read_outcomes(args.outcomes or args.log))
    until = evidence.trained_until(candidate.model.metadata)
    return evidence.production(predictions, outcomes, source=", ".join(map(str, args.log)), exclude_until=until)


def run_gate(args: argparse.Namespace, champion: Side, candidate: Side) -> dict[str, Any]:
    """Measure both sides on every data set and build the record (no side effects)."""
    tol = checks.Tolerances(args.auc_tolerance, args.cost_tolerance, args.gap_tolerance, args.brier_tolerance)
    data = [
        evidence.holdout(
            champion.model.metadata,
            candidate.model.metadata,
            champion_dir=champion.path,
            rows=args.holdout_rows,
            seed=args.holdout_seed,
        )
    ]
    production = production_evidence(args, candidate)
    if production is not None:
        data.append(production)
    measures, found = {}, []
    for item in data:
        features = checks.matrix(item.frame)
        sides = {
            "champion": checks.measure(champion.model, item, features=features),
            "candidate": checks.measure(candidate.model, item, features=features),
        }
        measures[item.name] = sides
        found += checks.compare(item.name, sides["champion"], sides["candidate"], tol)
    parity, facts = checks.pyfunc_parity(candidate.model, candidate.pyfunc_uri, data[0], tracking_uri=args.tracking_uri)
    action = "dry-run" if args.dry_run else "check" if args.check_only else "promote"
    return record.gate_record(
        action=action,
        champion=champion.identity(),
        candidate=candidate.identity(),
        data=[{"name": d.name, **d.description} for d in data],
        measures=measures,
        checks=[*found, parity],
        tolerances={"auc": tol.auc, "cost_per_1000": tol.cost, "approval_gap": tol.gap, "brier": tol.brier},
        parity=facts,
    )


def installed_version(model_dir: Path) -> str | None:
    """The version in `model_dir`'s metadata (None when there is no readable model there)."""
    try:
        return str(json.loads((model_dir / METADATA_FILE).read_text(encoding="utf-8"))["model_version"])
    except (OSError, ValueError, KeyError):
        return None


def promote(args: argparse.Namespace, champion: Side, candidate: Side, result: dict[str, Any]) -> None:
    """Export the candidate into model/ (the replaced model into the history), then move the alias."""
    from scoring.promote import aliases

    replaced = {
        "model_version": installed_version(args.model_dir),
        "registry": aliases.current_champion(candidate, tracking_uri=args.tracking_uri),
    }
    entry = release.install(candidate.path, args.model_dir, history=args.history_dir, replaced=replaced)
    result["changes"] = {
        "model_dir": str(args.model_dir),
        "previous_kept_in": str(args.history_dir / entry["slot"] / "model"),
        "champion_alias": aliases.move_champion(candidate, tracking_uri=args.tracking_uri),
    }


def check_paths(args: argparse.Namespace) -> None:
    """Refuse, before any work, what cannot end well (ValueError: exit 2)."""
    missing = [str(d) for d in [*args.log, *args.outcomes] if not d.is_dir()]
    if missing:
        raise ValueError(f"no such log folder: {', '.join(missing)}")
    promoting = not (args.check_only or args.dry_run)
    if promoting and Path(args.candidate).resolve() == args.model_dir.resolve():
        raise ValueError(f"the candidate is {args.model_dir} already: use --check-only to judge it")


def gate(args: argparse.Namespace) -> int:
    check_paths(args)
    with tempfile.TemporaryDirectory(prefix="promote-") as cache:
        champion = open_side("champion", args.champion, tracking_uri=args.tracking_uri, cache_dir=Path(cache))
        candidate = open_side(
            "candidate", args.candidate, tracking_uri=args.tracking_uri, cache_dir=Path(cache), needs=RELEASE_FILES
        )
        result = run_gate(args, champion, candidate)
        if args.dry_run:
            print(record.markdown(result))
            return 0 if result["decision"] == "pass" else 1
        if result["decision"] == "pass" and result["action"] == "promote":
            promote(args, champion, candidate, result)
    paths = record.write(result, args.records)
    verdict = "PASSED" if result["decision"] == "pass" else "FAILED: " + ", ".join(result["failed_checks"])
    print(f"gate {verdict}")
    print(f"decision record: {paths[0]} and {paths[1].name}")
    if result["decision"] == "pass" and result["action"] == "promote":
        print(f"promoted {candidate.version} into {args.model_dir}; previous kept for --rollback")
    return 0 if result["decision"] == "pass" else 1


def rollback(args: argparse.Namespace) -> int:
    from scoring.promote import aliases
    from scoring.promote.sides import folder_hashes

    before = folder_hashes(args.model_dir) if args.model_dir.exists() else {}
    replaced_version = installed_version(args.model_dir)
    entry = release.restore(args.model_dir, history=args.history_dir)
    changes = {"model_dir": str(args.model_dir), "champion_alias": aliases.restore_champion(entry, args.tracking_uri)}
    result = record.rollback_record(
        restored=entry,
        replaced={"model_version": replaced_version, "sha256_model_lgb": before.get("model.lgb")},
        changes=changes,
    )
    paths = record.write(result, args.records)
    print(f"rolled back to {entry['model_version']} in {args.model_dir}")
    print(f"decision record: {paths[0]} and {paths[1].name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return rollback(args) if args.rollback else gate(args)
    except release.NothingToRollBack as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ModelLoadError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
