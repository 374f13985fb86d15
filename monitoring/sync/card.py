"""The dataset card (README.md) pushed once to the Hub repo: configs, typed features, every field, GDPR."""

from __future__ import annotations

import pyarrow as pa

from monitoring.log.records import CHANNELS, KINDS, SCHEMA_VERSION, file_schema
from scoring.schema import FIELDS, RAW_COLUMNS

CARD_PATH = "README.md"


_META_FIELDS = {
    "schema_version": ("int", f"Row format version, currently {SCHEMA_VERSION}."),
    "kind": ("string", "`prediction` or `rejection`."),
    "request_id": ("string", "Id of the request; batch rows also carry `batch_id` and `batch_index`."),
    "ts": ("string", "UTC time the row was built, ISO-8601 with microseconds and `Z`."),
    "channel": ("string", "Entry point: " + ", ".join(f"`{c}`" for c in CHANNELS) + "."),
    "model_version": ("string", "Version of the model that produced the score."),
    "client_ref": ("string|null", "HMAC-SHA256 of the client id with a secret salt; null without salt."),
    "status": ("string", "`ok` for predictions, `rejected` for rejections."),
    "probability": ("float", "Predicted probability of default."),
    "decision": ("string", "`approve` or `refuse`, from the probability and the threshold."),
    "threshold": ("float", "Decision threshold in force."),
    "warnings": ("list[string]", "Unusual-but-valid inputs flagged at validation."),
    "inference_ms": ("float", "Time spent in the model call."),
    "latency_ms": ("float", "Server-side time from request in to the row being written."),
    "batch_id": ("string|null", "Id of the batch the row belongs to."),
    "batch_index": ("int|null", "Position of the row in its batch."),
}
_REJECTION_FIELDS = {
    "error_kind": ("string", "Why the request was refused (validation, unknown_field, too_large, auth, ...)."),
    "field": ("string|null", "Name of the offending field, when there is one."),
    "http_status": ("int|null", "HTTP status returned, for REST requests."),
}


def _yaml_features(kind: str) -> list[str]:
    """`dataset_info` features in the card's YAML, so loaders never guess a type from a null column."""
    lines = []
    for column in file_schema(kind):
        if pa.types.is_list(column.type):
            lines += [f"    - name: {column.name}", f"      list: {column.type.value_type}"]
        else:
            dtype = "float64" if column.type == pa.float64() else str(column.type)
            lines += [f"    - name: {column.name}", f'      dtype: "{dtype}"']
    return lines


def dataset_card(repo_id: str) -> str:
    """The README.md pushed once: configs for both file kinds, every field, GDPR note, how to load."""
    configs, infos = ["configs:"], ["dataset_info:"]
    for kind, prefix in KINDS.items():
        configs += [f"- config_name: {prefix}", f'  data_files: "date=*/{prefix}-*.jsonl"']
        configs += ["  default: true"] if kind == "prediction" else []
        infos += [f"- config_name: {prefix}", "  features:", *_yaml_features(kind)]
    header = "\n".join(["---", "pretty_name: Credit scoring prediction log", "license: other", *configs, *infos, "---"])
    meta = [f"| `{n}` | {t} | {d} |" for n, (t, d) in _META_FIELDS.items()]
    inputs = [f"| `{n}` | {FIELDS[n].kind} | {FIELDS[n].description} |" for n in RAW_COLUMNS]
    rejections = [f"| `{n}` | {t} | {d} |" for n, (t, d) in _REJECTION_FIELDS.items()]
    table = "| field | type | meaning |\n|---|---|---|\n"
    return f"""{header}

# Prediction log of the credit-scoring service

Every scoring request served (REST, batch, Gradio form and API, MCP) and every refused request, one
UTC day per folder. Recent rows are JSON Lines shards,
`date=YYYY-MM-DD/predictions-<replica>-<start>-p<pid>-<seq>.jsonl` and `rejections-...jsonl`: each
push uploads new, complete shards and never changes one already uploaded. A scored table of 1,000
rows or more (a CSV, Parquet or Arrow body posted to the batch API) is one Parquet file of its own,
`date=YYYY-MM-DD/predictions-<replica>-<start>-p<pid>-<seq>.table.parquet`, uploaded once. Once a day
is over its shards are compacted into one Parquet file (zstd) per kind,
`date=YYYY-MM-DD/predictions-YYYY-MM-DD.parquet`, in the same commit that deletes them, so every
revision holds each row exactly once: the JSON Lines (the `predictions` and `rejections` configs)
and the Parquet files (compacted days and table shards, one schema) together are the whole log.
`datasets` infers one format per repository, so the Parquet files load with the `parquet` builder
(below). Days older than the retention period are deleted. Row format version {SCHEMA_VERSION}.

## GDPR

No direct identifier is stored. The client id is replaced by a keyed hash (`client_ref`), which
cannot be reversed without the secret salt and is null when no salt is configured. Rejection
events never contain the submitted payload. The repository is private; days older than the
retention period are deleted here and on the service's disk, and an erasure request rewrites every
file that held the client's rows (see the service's `docs/privacy.md`).

## Prediction rows

{table}{chr(10).join(meta)}
{chr(10).join(inputs)}

Absent inputs are null. `int`/`flag` inputs are integers, `category` inputs strings.

## Rejection rows

`schema_version`, `kind`, `request_id`, `ts`, `channel`, `status`, `latency_ms` as above, plus:

{table}{chr(10).join(rejections)}

## Outcome rows

`date=YYYY-MM-DD/outcomes-...jsonl`: what happened to a scored loan, posted later through
`POST /api/v1/outcomes` (approved loans only). `request_id` joins a prediction row; `client_ref` is
the prediction's keyed hash (so erasure finds it); `defaulted` is the outcome, `observed_at` when it
was known, `prediction_ts` when the loan was scored. `status` is `recorded` for the outcome in force
and `conflict` for a later, different answer that was refused and kept as the audit trail.

## Shadow rows

`date=YYYY-MM-DD/shadow-...jsonl`, only while a challenger model is configured: the challenger's
score of a logged prediction, computed after the answer was given (it never decided anything).
`request_id` and `ts` are the prediction's; `challenger_probability`, `challenger_decision` and
`challenger_version` are the challenger's, `challenger_ms` its model time per row. No inputs (they
are in the prediction row); erased with the prediction they belong to.

## Loading

```python
from datasets import load_dataset
recent = load_dataset("{repo_id}", "predictions", split="train")  # JSON Lines not compacted yet
# compacted days and table shards
past = load_dataset("parquet", data_files="hf://datasets/{repo_id}/date=*/predictions-*.parquet", split="train")
rejections = load_dataset("{repo_id}", "rejections", split="train")
outcomes = load_dataset("{repo_id}", "outcomes", split="train")
```

Inside the service, `monitoring.log.reader.read_log([live_dir, history_dir])` returns typed frames.
"""
