"""CI's promotion gate: when a push changes `model/`, judge the new model against the previous commit's.

    python scripts/ci_gate.py [--base REV] --changed     # prints changed=true|false (for $GITHUB_OUTPUT)
    python scripts/ci_gate.py [--base REV] [--records DIR]

REV (default HEAD~1) is the commit before the change: on a push, the branch's previous tip, so a push of
several commits is judged as a whole.

The base commit's `model/` is taken out of git exactly (`git archive`) into a temporary folder and
is the champion; the working tree's `model/` is the candidate; `python -m scoring.promote --check-only`
judges them and writes the decision record into --records (uploaded as a build artifact). The exit code
is the gate's: non-zero refuses the deploy (the deploy job needs this one).

A rollback is a push whose `model/` is byte for byte (same git tree) the `model/` of an earlier commit
than the base: that model was released before, so it is let through without re-judging it against
the model it replaces, and the record says so. Unchanged `model/`, or no previous one: nothing to judge.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = "model"


def git(*args: str, root: Path = ROOT, check: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)  # noqa: S603,S607
    if check and done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip() if done.returncode == 0 else ""


def model_changed(base: str, *, root: Path = ROOT) -> bool:
    """Whether `model/` differs between `base` and the working tree's HEAD (a missing base counts as changed)."""
    if not git("rev-parse", "--verify", "--quiet", f"{base}^{{commit}}", root=root, check=False):
        return True
    return bool(git("diff", "--name-only", base, "HEAD", "--", MODEL, root=root))


def tree_of(rev: str, *, root: Path = ROOT) -> str:
    """The git tree id of `model/` at `rev` ('' when it has none)."""
    return git("rev-parse", "--verify", "--quiet", f"{rev}:{MODEL}", root=root, check=False)


def released_before(base: str, *, root: Path = ROOT) -> str | None:
    """An ancestor of `base` whose `model/` is exactly HEAD's (a rollback to it), else None."""
    head = tree_of("HEAD", root=root)
    if not head or head == tree_of(base, root=root):
        return None
    for commit in git("log", "--format=%H", base, "--", MODEL, root=root).splitlines():
        if tree_of(commit, root=root) == head:
            return commit
    return None


def extract(rev: str, dest: Path, *, root: Path = ROOT) -> Path:
    """`model/` at `rev`, exactly as committed, into `dest/model`."""
    archive = subprocess.run(  # noqa: S603,S607
        ["git", "archive", "--format=tar", rev, MODEL], cwd=root, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest / MODEL


def note(records: Path, facts: dict[str, str]) -> None:
    """A small record for a push the gate did not have to judge, so the artifact always says why."""
    records.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    (records / f"{stamp}-{facts['action']}.json").write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    print(facts["reason"])


def run(base: str, records: Path, *, root: Path = ROOT, extra: list[str] | None = None) -> int:
    """Judge HEAD's model/ against `base`'s in the repository `root`; the gate's exit code.

    The gate itself runs from this project (its code), on the absolute paths of `root`'s models.
    """
    if not model_changed(base, root=root):
        print(f"model/ unchanged since {base}: no gate to run")
        return 0
    if not tree_of(base, root=root):
        note(records, {"action": "first-model", "reason": f"{base} has no model/: nothing to compare with"})
        return 0
    earlier = released_before(base, root=root)
    if earlier:
        reason = f"model/ is exactly the model/ released at {earlier[:12]}: a rollback, let through"
        note(records, {"action": "rollback", "reason": reason, "restored_from": earlier})
        return 0
    with tempfile.TemporaryDirectory(prefix="ci-gate-") as tmp:
        champion = extract(base, Path(tmp), root=root)
        command = [
            sys.executable,
            "-m",
            "scoring.promote",
            "--champion",
            str(champion),
            "--candidate",
            str(root / MODEL),
            "--model-dir",
            str(root / MODEL),
            "--records",
            str(records),
            "--check-only",
            *(extra or []),
        ]
        return subprocess.run(command, cwd=ROOT, check=False).returncode  # noqa: S603


def resolve_base(base: str, *, root: Path = ROOT) -> str:
    """`base` when it names a commit here; else HEAD~1. A push's `before` is all zeros for a new branch
    and may be gone after a force push: the previous commit is then the champion."""
    if (
        base
        and set(base) != {"0"}
        and git("rev-parse", "--verify", "--quiet", f"{base}^{{commit}}", root=root, check=False)
    ):
        return base
    if base and base != "HEAD~1":
        print(f"base {base!r} is not a commit here: comparing with HEAD~1", file=sys.stderr)
    return "HEAD~1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--base", default="HEAD~1", help="the commit whose model/ is the champion (a push: the branch's previous tip)"
    )
    parser.add_argument("--records", type=Path, default=ROOT / "reports" / "promotions")
    parser.add_argument("--changed", action="store_true", help="only print changed=true|false")
    args, extra = parser.parse_known_args(argv)
    args.base = resolve_base(args.base)
    if args.changed:
        print(f"changed={'true' if model_changed(args.base) else 'false'}")
        return 0
    return run(args.base, args.records, extra=extra)


if __name__ == "__main__":
    sys.exit(main())
