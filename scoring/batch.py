"""Score a file of applications: `python -m scoring.batch --input PATH --output PATH [--engine local|spark]`.

Reads Parquet (a file or a folder of parts) or CSV, validates every row on its columns with the
service's rules, scores the valid rows with the service's model, and writes Parquet with, per input
row: `row` (its position), SK_ID_CURR when given, `status`, `probability`, `decision`,
`model_version`, `problems` (the REST answer's problems, as JSON) and `warnings`. A bad row is
reported, never fatal. TARGET, if the file carries it (application_train extracts), is set aside
as the Batch tab does: it is the answer, not an input.

`--engine local` streams the file through one process (scoring.batch_local); `--engine spark` runs
the same code in PySpark tasks (scoring.batch_spark) and writes a folder of Parquet parts. Exit status: 0 when the
job ran (whatever the rows' verdicts), 2 when the input, the output or the model is unusable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scoring.errors import ServiceError

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "model"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scoring.batch", description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="Parquet file or folder, or a .csv file")
    parser.add_argument("--output", required=True, help="Parquet file (local) or folder (spark) to write")
    parser.add_argument("--engine", choices=("local", "spark"), default="local")
    parser.add_argument(
        "--master",
        default=None,
        help="Spark master URL (spark engine only); default local[2], or spark-submit's own --master under it",
    )
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="exported model folder (default: model/)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if not Path(args.input).exists():
        sys.stderr.write(f"error: no input at {args.input}\n")
        return 2
    try:
        if args.engine == "spark":
            from scoring.batch_spark import run_spark

            summary = run_spark(args.input, args.output, master=args.master, model_dir=args.model)
        else:
            from scoring.batch_local import run_local

            summary = run_local(args.input, args.output, model_dir=args.model)
    except (ServiceError, OSError, ValueError) as exc:  # InvalidInput: a column name given twice
        sys.stderr.write(f"error: {exc}\n")
        return 2
    sys.stdout.write(f"{summary.text()}; written to {args.output}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
