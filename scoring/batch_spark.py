"""The batch job on PySpark: the service's validation and model inside `mapInPandas` tasks.

Each task receives Arrow batches of its partition as DataFrames, loads the model folder once per
Python worker (a per-process cache: at most once per task, usually once per worker), pins LightGBM
to one thread -- Spark already runs one task per core, and LightGBM's own thread pool on top would
oversubscribe the cores -- and returns the same result rows as the local engine
(scoring.batch_local.score_chunk). The probability comes straight from the Booster: no pyfunc flavour
rounds it into a class.

Row positions are numbered without a shuffle: one cheap count per partition, then each row's
position is its partition's offset plus its place in the partition (monotonically_increasing_id);
only then may rows be spread over more partitions.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scoring.batch_local import Summary, score_chunk
from scoring.errors import BatchError
from scoring.schema import ID_COLUMN, TARGET_COLUMN
from scoring.tables import ROW_COLUMN, is_csv, type_csv_text

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

    from scoring.predict import Scorer

_PART, _MONO, _ROW = "__partition", "__position", "__row"
_PACKAGE = Path(__file__).resolve().parent
# PySpark 4.3 warns that it does not fully support pandas 3; this job's test runs it with pandas 3.
_PANDAS_WARNING = "PySpark does not yet fully support pandas"


def spark_session(master: str | None = "local[2]", *, shuffle_partitions: int = 4) -> SparkSession:
    """A session for the job; in local mode the workers run this interpreter with this code.

    `master` None: the one spark-submit was given when it launched us, else local[2].
    """
    from pyspark.sql import SparkSession

    warnings.filterwarnings("ignore", message=_PANDAS_WARNING, category=FutureWarning)
    if master is None and "PYSPARK_GATEWAY_PORT" not in os.environ:  # not started by spark-submit
        master = "local[2]"
    builder = SparkSession.builder if master is None else SparkSession.builder.master(master)
    builder = (
        builder.appName("credit-scoring-batch")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.caseSensitive", "true")  # "amt_credit" is an unknown field, as in JSON
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "10000")
    )
    if master is not None and master.startswith("local"):
        # PySpark starts its workers with $PYSPARK_PYTHON (else `python3`): make it this venv's interpreter.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = builder.config("spark.executorEnv.PYTHONPATH", str(_PACKAGE.parent))
    return builder.getOrCreate()


@cache
def _worker_scorer(model_dir: str, shipped: bool) -> Scorer:
    from pyspark import SparkFiles

    from scoring.model import load_model
    from scoring.predict import Scorer

    model = load_model(SparkFiles.get(Path(model_dir).name) if shipped else model_dir, runtime="booster")
    model.threads = 1
    return Scorer(model)


def _score_partition(
    batches: Iterator[pd.DataFrame], *, model_dir: str, shipped: bool, csv: bool
) -> Iterator[pd.DataFrame]:
    warnings.filterwarnings("ignore", message=_PANDAS_WARNING, category=FutureWarning)
    scorer = _worker_scorer(model_dir, shipped)
    for batch in batches:
        rows = batch[_ROW].to_numpy(dtype=np.int64)
        frame = batch.drop(columns=[_ROW])
        yield score_chunk(scorer, type_csv_text(frame) if csv else frame, rows=rows)


def _result_schema(source: StructType) -> StructType:
    from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

    fields = [StructField(ROW_COLUMN, LongType(), False)]
    if ID_COLUMN in source.fieldNames():
        fields.append(StructField(ID_COLUMN, source[ID_COLUMN].dataType, True))
    fields += [StructField("status", StringType(), False), StructField("probability", DoubleType(), True)]
    fields += [StructField(name, StringType(), True) for name in ("decision", "model_version", "problems", "warnings")]
    return StructType(fields)


def _read(spark: SparkSession, path: str) -> DataFrame:
    if is_csv(path):  # text as text: the job types it with the local engine's CSV rules
        return spark.read.option("header", True).option("inferSchema", False).csv(path)
    return spark.read.parquet(path)


def _ship(spark: SparkSession, model_dir: str) -> bool:
    """On a cluster, send the code and the model folder to the executors; locally they share our disk."""
    if spark.sparkContext.master.startswith("local"):
        return False
    if _PACKAGE.is_dir():  # not when imported from a zip given to spark-submit --py-files: shipped already
        archive = shutil.make_archive(str(Path(tempfile.mkdtemp()) / "scoring"), "zip", _PACKAGE.parent, "scoring")
        spark.sparkContext.addPyFile(archive)
    spark.sparkContext.addFile(str(Path(model_dir).resolve()), recursive=True)
    return True


def _numbered(frame: DataFrame) -> tuple[DataFrame, int]:
    """`frame` with each row's position in the input, numbered without a shuffle; its non-empty partitions."""
    from pyspark.sql import functions as F

    tagged = frame.withColumn(_PART, F.spark_partition_id()).withColumn(_MONO, F.monotonically_increasing_id())
    counts = dict(tagged.groupBy(_PART).count().collect())
    offsets: list[Any] = []
    total = 0
    for part in sorted(counts):
        offsets += [F.lit(part), F.lit(total)]
        total += counts[part]
    if not offsets:
        return frame.withColumn(_ROW, F.lit(0).cast("long")), 0
    # monotonically_increasing_id = partition index << 33 + place in the partition
    place = F.col(_MONO) - F.shiftleft(F.col(_PART).cast("long"), 33)
    row = F.element_at(F.create_map(*offsets), F.col(_PART)).cast("long") + place
    return tagged.withColumn(_ROW, row).drop(_PART, _MONO), len(counts)


def score_dataframe(spark: SparkSession, frame: DataFrame, *, model_dir: str, csv: bool = False) -> DataFrame:
    """The result rows (see scoring.tables.result_frame) of a Spark DataFrame of applications, lazily.

    A file read as fewer partitions than the cluster has cores (one Parquet row group, one CSV) is
    spread over all of them after numbering, so every core scores.
    """
    if TARGET_COLUMN in frame.columns:
        frame = frame.drop(TARGET_COLUMN)
    numbered, filled = _numbered(frame)
    cores = spark.sparkContext.defaultParallelism
    if filled < cores:
        numbered = numbered.repartition(cores)
    job = partial(_score_partition, model_dir=model_dir, shipped=_ship(spark, model_dir), csv=csv)
    return numbered.mapInPandas(job, _result_schema(frame.schema))


def run_spark(
    input_path: str | Path,
    output_path: str | Path,
    *,
    master: str | None = None,
    model_dir: str | Path,
    spark: SparkSession | None = None,
) -> Summary:
    """Read, score and write a folder of Parquet parts; a session is made (and stopped) if none is given."""
    started = time.perf_counter()
    own = spark is None
    try:
        from py4j.protocol import Py4JError
        from pyspark.errors import PySparkException
    except ImportError as exc:
        raise BatchError("the spark engine needs pyspark (pip install -r requirements-dev.txt) and Java 17") from exc
    try:
        spark = spark or spark_session(master)
        model = str(Path(model_dir).resolve())
        scored = score_dataframe(spark, _read(spark, str(input_path)), model_dir=model, csv=is_csv(input_path))
        scored.write.mode("overwrite").parquet(str(output_path))
        counts: dict[str, Any] = dict(spark.read.parquet(str(output_path)).groupBy("status").count().collect())
    except (PySparkException, Py4JError) as exc:
        raise BatchError(f"the Spark job failed: {str(exc)[:2000]}") from exc
    finally:
        if own and spark is not None:
            spark.stop()
    rows = sum(counts.values())
    refused = rows - counts.get("ok", 0)
    return Summary(rows=rows, scored=rows - refused, refused=refused, seconds=time.perf_counter() - started)
