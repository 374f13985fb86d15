"""Print the N largest installed distributions of this interpreter's environment, bytes on disk.

    podman exec -i CONTAINER python - < scripts/venv_sizes.py        # inside the image
    .venv/bin/python scripts/venv_sizes.py 20                           # any venv

Each file (its .pyc included) counts for the distribution whose RECORD lists it; files no RECORD lists
are grouped under "(unowned) <top folder>". Used by scripts/container_check.sh --measure.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import sys
import sysconfig
from collections import defaultdict
from pathlib import Path


def sizes(site_packages: Path) -> dict[str, int]:
    owner: dict[str, str] = {}
    for dist in md.distributions():
        for file in dist.files or []:
            owner[os.path.realpath(dist.locate_file(file))] = dist.metadata["Name"]
    totals: dict[str, int] = defaultdict(int)
    for folder, _, names in os.walk(site_packages):
        for name in names:
            path = os.path.join(folder, name)
            key = path
            if os.path.basename(folder) == "__pycache__":  # a .pyc belongs to its source's distribution
                key = os.path.join(os.path.dirname(folder), name.split(".", 1)[0] + ".py")
            top = os.path.relpath(path, site_packages).split(os.sep, 1)[0]
            totals[owner.get(os.path.realpath(key), f"(unowned) {top}")] += os.lstat(path).st_size
    return totals


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 20
    site_packages = Path(sysconfig.get_paths()["purelib"])
    totals = sizes(site_packages)
    print(f"site-packages {sum(totals.values()) / 1e6:.0f} MB in {len(totals)} distributions; top {count}:")
    for name, size in sorted(totals.items(), key=lambda item: -item[1])[:count]:
        print(f"  {size / 1e6:7.1f} MB  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
