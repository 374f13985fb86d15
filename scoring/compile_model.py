"""Compile a model's trees to C ahead of time, into the folder the service reuses (BATCH_RUNTIME).

    python -m scoring.compile_model [MODEL_DIR] [FOLDER]    # defaults: model, data/models/compiled

The image's builder stage runs it (it has gcc; the runtime image has none), so a container serves
big batches through the compiled library from its first request. Exit 1 when the library could not
be built or disagrees with the Booster (the reason is printed); the service would fall back the same way.
"""

from __future__ import annotations

import argparse
import logging
import sys

from scoring.model import load_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", nargs="?", default="model")
    parser.add_argument("folder", nargs="?", default="data/models/compiled")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    runtime = load_model(args.model_dir).batch_runtime(mode="tl2cgen", folder=args.folder)
    if not runtime.build():
        sys.stderr.write(f"not compiled: {runtime.reason}\n")
        return 1
    sys.stdout.write(f"compiled {args.model_dir} into {args.folder} (checked against the Booster)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
