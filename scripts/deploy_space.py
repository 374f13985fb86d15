"""Upload the deployable part of the repo to a Hugging Face Space (Docker SDK).

    python scripts/deploy_space.py --dry-run                      # what would go, what stays, no network
    python scripts/deploy_space.py --stage build/space            # copy exactly that into a folder
    HF_TOKEN=... python scripts/deploy_space.py --root build/space --space-id owner/space

Only the service goes: app code, the committed model, the image lock, the Dockerfile and the README
(which carries the Space front matter). Tests, notebooks, local data, secrets, caches, venvs and MLflow
stores stay out. The selection is made with huggingface_hub's own pattern filter over the same file
walk as `HfApi.upload_folder`, so the dry run lists exactly what a real run uploads. Remote files
under the deployable paths that no longer exist here are deleted in the same commit.

`--stage DIR` writes the selection plus `build-info.json` (git commit, model version) into DIR and
prints its digest (a hash of every path and content). CI builds and smoke-tests the image from that
folder, then uploads that same folder: the Space builds the file set that was tested (docs/deployment.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

try:
    from scripts import space_secrets
except ImportError:  # run as `python scripts/deploy_space.py`: its folder is on sys.path
    import space_secrets  # type: ignore[no-redef]
from huggingface_hub.utils import filter_repo_objects
from huggingface_hub.utils._paths import DEFAULT_IGNORE_PATTERNS

ROOT = Path(__file__).resolve().parents[1]
# Written by --stage; read by service/build_info.py inside the image (/readyz, the UI footer).
BUILD_INFO_FILE = "build-info.json"
REQUIRED = ("app.py", "Dockerfile", "requirements-image.txt", "model/MLmodel", BUILD_INFO_FILE)

# What the Space needs to build and run the image. fnmatch semantics: `*` also matches `/`.
ALLOW_PATTERNS = [
    "app.py",
    "scoring/*",
    "monitoring/*",
    "service/*",
    "model/*",
    "requirements-image.txt",
    "Dockerfile",
    ".dockerignore",
    "README.md",
    "example.json",  # scored by the image's warm-up (scripts/warm_imports.py)
    "scripts/warm_imports.py",
    BUILD_INFO_FILE,
]
# Where a change makes the staged tree differ from its git commit (marked "+dirty").
_DEPLOYABLE_ROOTS = ("app.py", "scoring", "monitoring", "service", "model", "requirements-image.txt", "Dockerfile")
# Never uploaded, even inside the deployable folders.
IGNORE_PATTERNS = [
    "*__pycache__*",
    "*.py[cod]",
    ".env",
    "*/.env",
    ".env.*",
    "*/.env.*",
    "*.pem",
    "*.key",
    "*.log",
    "*.ipynb",
    "*.ipynb_checkpoints*",
    "*.DS_Store",
    "*/tests/*",
    "*/data/*",
    "*/mlruns/*",
    "*mlflow.db",
    "*/.venv/*",
]


@dataclass
class Selection:
    included: list[tuple[str, int]] = field(default_factory=list)
    excluded: list[tuple[str, int]] = field(default_factory=list)

    @staticmethod
    def total(files: list[tuple[str, int]]) -> int:
        return sum(size for _, size in files)


def select(root: Path) -> Selection:
    """Split the files under `root` into uploaded and kept out, as `upload_folder` would."""
    # Same walk as HfApi._prepare_upload_folder_additions: every file, sorted, relative POSIX paths.
    sizes = {p.relative_to(root).as_posix(): p.stat().st_size for p in sorted(root.glob("**/*")) if p.is_file()}
    kept = set(
        filter_repo_objects(
            sizes, allow_patterns=ALLOW_PATTERNS, ignore_patterns=IGNORE_PATTERNS + DEFAULT_IGNORE_PATTERNS
        )
    )
    selection = Selection()
    for path, size in sizes.items():
        (selection.included if path in kept else selection.excluded).append((path, size))
    return selection


def digest(root: Path, paths: list[str]) -> str:
    """sha256 over every (path, content hash) pair: equal digests mean byte-identical file sets."""
    outer = hashlib.sha256()
    for path in sorted(paths):
        outer.update(f"{path}\0{hashlib.sha256((root / path).read_bytes()).hexdigest()}\n".encode())
    return outer.hexdigest()


def git_commit(root: Path) -> str:
    """HEAD of the checkout at `root`, with "+dirty" when deployable files differ from it; else "unknown"."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", *_DEPLOYABLE_ROOTS],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{sha}+dirty" if changed else sha


def build_info(root: Path, *, commit: str) -> dict[str, str]:
    """What the image will report about itself: the source commit and the model it carries."""
    metadata = json.loads((root / "model" / "metadata.json").read_text(encoding="utf-8"))
    return {"commit": commit, "model_version": str(metadata["model_version"])}


def stage(root: Path, target: Path, *, commit: str) -> Selection:
    """Copy the upload selection of `root` into the empty folder `target`, plus build-info.json."""
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"{target} is not empty: staging needs a fresh folder")
    selection = select(root)
    for path, _ in selection.included:
        if path == BUILD_INFO_FILE:
            continue  # a stale one from an earlier stage: regenerated below
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / path, target / path)
    info = build_info(root, commit=commit)
    (target / BUILD_INFO_FILE).write_text(json.dumps(info, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return select(target)


def check_front_matter(root: Path) -> str | None:
    """Why README.md would not make a Docker Space, or None when its front matter is fine."""
    readme = root / "README.md"
    if not readme.is_file():
        return "README.md is missing: the Space takes its settings (sdk: docker, app_port) from its front matter"
    text = readme.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return "README.md has no front matter (a leading '---' YAML block with sdk: docker)"
    try:
        meta = yaml.safe_load(text.split("---", 2)[1]) or {}
    except yaml.YAMLError as exc:
        return f"README.md front matter is not valid YAML: {exc}"
    if meta.get("sdk") != "docker":
        return f"README.md front matter says sdk: {meta.get('sdk')!r}, the Space needs sdk: docker"
    port = meta.get("app_port", 7860)
    if port != 7860:
        return f"README.md front matter says app_port: {port!r}, the image listens on 7860"
    return None


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def report(selection: Selection, *, space_id: str | None) -> None:
    target = f"Space {space_id}" if space_id else "the Space"
    print(f"would upload {len(selection.included)} files ({_size(selection.total(selection.included))}) to {target}:")
    for path, size in selection.included:
        print(f"  + {path}  ({_size(size)})")
    groups: dict[str, list[int]] = defaultdict(list)
    for path, size in selection.excluded:
        head, _, rest = path.partition("/")
        groups[f"{head}/" if rest else head].append(size)
    print(
        f"kept out: {len(selection.excluded)} files ({_size(selection.total(selection.excluded))}) "
        f"in {len(groups)} top-level entries:"
    )
    for name, sizes in sorted(groups.items(), key=lambda item: -sum(item[1])):
        print(f"  - {name}  {len(sizes)} files, {_size(sum(sizes))}")


def deploy(root: Path, *, space_id: str, message: str, create: bool) -> str:
    from huggingface_hub import HfApi  # the network side, imported only for a real run

    api = HfApi()  # the token comes from HF_TOKEN (or the local login)
    if create:
        # Creating a Space on free CPU hardware may still need a paid plan on the account.
        api.create_repo(space_id, repo_type="space", space_sdk="docker", private=True, exist_ok=True)
    info = api.upload_folder(
        repo_id=space_id,
        repo_type="space",
        folder_path=root,
        allow_patterns=list(ALLOW_PATTERNS),
        ignore_patterns=list(IGNORE_PATTERNS),  # a copy: upload_folder appends to the list it gets
        # Remote files under the deployable paths that are gone here (a removed module) go too;
        # anything else on the Space (.gitattributes, files added on the Hub) is left alone.
        delete_patterns=list(ALLOW_PATTERNS),
        commit_message=message,
    )
    return str(info.commit_url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--space-id", default=os.environ.get("SPACE_ID") or None, help="owner/name (default: $SPACE_ID)"
    )
    parser.add_argument("--dry-run", action="store_true", help="list what would be uploaded; no network call")
    parser.add_argument("--json", action="store_true", help="with --dry-run: print the selection as JSON")
    parser.add_argument("--root", type=Path, default=ROOT, help="folder to deploy (default: the repo root)")
    parser.add_argument("--stage", type=Path, metavar="DIR", help="copy the selection + build-info.json into DIR")
    parser.add_argument("--commit", help="with --stage: the commit to record (default: git HEAD of --root)")
    parser.add_argument("--message", default="Deploy the credit-scoring service", help="commit message")
    parser.add_argument("--create", action="store_true", help="create the Space (private, Docker SDK) if missing")
    args = parser.parse_args(argv)

    root = args.root.resolve()
    if not root.is_dir():
        print(f"deploy: {root} is not a directory", file=sys.stderr)
        return 2
    if args.stage is not None:
        return _stage(root, args.stage, commit=args.commit or git_commit(root))
    selection = select(root)
    problem = check_front_matter(root)

    if args.dry_run:
        if args.json:
            included = dict(selection.included)
            print(
                json.dumps(
                    {
                        "space_id": args.space_id,
                        "included": included,
                        "excluded": dict(selection.excluded),
                        "digest": digest(root, list(included)),
                        "front_matter_problem": problem,
                    },
                    indent=1,
                )
            )
        else:
            report(selection, space_id=args.space_id)
            if problem:
                print(f"warning: {problem}")
        return 0

    if not args.space_id:
        print("deploy: no Space given (--space-id or $SPACE_ID)", file=sys.stderr)
        return 2
    if problem:
        print(f"deploy: {problem}", file=sys.stderr)
        return 2
    missing = [p for p in REQUIRED if p not in dict(selection.included)]
    if missing:
        hint = " (stage the repo first: --stage DIR, then --root DIR)" if BUILD_INFO_FILE in missing else ""
        print(f"deploy: refusing to deploy without {', '.join(missing)}{hint}", file=sys.stderr)
        return 2
    refusal = space_secrets.open_service_refusal(os.environ)  # issue 14 item 11
    if refusal:
        print(f"deploy: {refusal}", file=sys.stderr)
        return 2
    files_digest = digest(root, [path for path, _ in selection.included])
    message = f"{args.message} (files {files_digest[:12]})"
    url = deploy(root, space_id=args.space_id, message=message, create=args.create)
    print(f"deployed {len(selection.included)} files (digest {files_digest}) to {args.space_id}: {url}")
    from huggingface_hub import HfApi

    names = space_secrets.set_space_secrets(HfApi(), args.space_id, os.environ)
    print(f"Space secrets and variables set: {', '.join(names)}")
    return 0


def _stage(root: Path, target: Path, *, commit: str) -> int:
    try:
        target.mkdir(parents=True, exist_ok=True)
        staged = stage(root, target.resolve(), commit=commit)
    except (OSError, KeyError, json.JSONDecodeError) as exc:
        print(f"deploy: cannot stage {root} into {target}: {exc}", file=sys.stderr)
        return 2
    paths = [path for path, _ in staged.included]
    print(f"staged {len(paths)} files ({_size(staged.total(staged.included))}) for commit {commit} in {target}")
    print(f"digest {digest(target, paths)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
