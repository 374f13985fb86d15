"""Execute a notebook in place (outputs saved), from the repository root, with the project's kernel.

python scripts/run_notebook.py notebooks/01_training.ipynb [--timeout 900]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(path: Path, *, timeout: int = 900, save: bool = True) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    if save:
        nbformat.write(notebook, path)
    return notebook


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--timeout", type=int, default=900)
    args = parser.parse_args()
    execute(args.notebook, timeout=args.timeout)
    print(f"executed {args.notebook}")


if __name__ == "__main__":
    main()
