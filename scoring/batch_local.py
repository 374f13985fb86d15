"""The batch job's local engine: the input streamed through one process, chunk by chunk.

`score_chunk` is the unit both engines run (scoring.batch_spark calls it inside each Spark task),
so a row gets the same answer whichever engine scores it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from scoring.predict import Scorer
from scoring.schema import TARGET_COLUMN

CHUNK_ROWS = 50_000


@dataclass(slots=True)
class Summary:
    rows: int = 0
    scored: int = 0
    refused: int = 0
    seconds: float = 0.0

    def text(self) -> str:
        rate = self.rows / self.seconds if self.seconds else 0.0
        return (
            f"{self.rows:,} rows: {self.scored:,} scored, {self.refused:,} refused by validation, "
            f"in {self.seconds:.1f} s ({rate:,.0f} rows/s)"
        )


def score_chunk(scorer: Scorer, frame: pd.DataFrame, *, rows: np.ndarray) -> pd.DataFrame:
    """The result rows of one chunk (see scoring.tables.result_frame); the unit both engines run."""
    from scoring.tables import result_frame

    frame = frame.drop(columns=[TARGET_COLUMN], errors="ignore")
    return result_frame(frame, scorer.score_frame(frame), rows=rows)


def run_local(input_path: str | Path, output_path: str | Path, *, model_dir: str | Path) -> Summary:
    """Stream the input through one process, `CHUNK_ROWS` at a time, into one Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from scoring.model import load_model
    from scoring.tables import read_chunks

    started = time.perf_counter()
    scorer = Scorer(load_model(model_dir, runtime="booster"))
    summary = Summary()
    writer: pq.ParquetWriter | None = None
    try:
        for chunk in read_chunks(input_path, rows=CHUNK_ROWS):
            result = score_chunk(scorer, chunk, rows=np.arange(summary.rows, summary.rows + len(chunk)))
            table = pa.Table.from_pandas(result, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(str(output_path), table.schema)
            writer.write_table(table.cast(writer.schema))
            summary.rows += len(result)
            summary.refused += int((result["status"] != "ok").sum())
    finally:
        if writer is not None:
            writer.close()
    summary.scored = summary.rows - summary.refused
    summary.seconds = time.perf_counter() - started
    return summary
