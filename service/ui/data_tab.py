"""Tab "Production data": the newest logged rows, the shards, their size and the Hub sync state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

SHOWN_COLUMNS = (
    "ts",
    "kind",
    "channel",
    "decision",
    "probability",
    "latency_ms",
    "inference_ms",
    "error_kind",
    "field",
    "model_version",
    "request_id",
)


def shown_path(path: str | Path, roots: dict[str, Path]) -> str:
    """A shard's path relative to its log folder ("live/…", "history/…"): the server's own layout is not the
    reader's business, and absolute paths carry the host's directory names."""
    for name, root in roots.items():
        try:
            return f"{name}/{Path(path).resolve().relative_to(root.resolve()).as_posix()}"
        except ValueError:
            continue
    return Path(path).name


def _snapshot(prediction_log: Any, hub: Any, history_dir: Path) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    summary = prediction_log.summary(latest=25, history_dir=history_dir)
    status = hub.status()
    latest = pd.DataFrame(summary.latest)
    latest = latest[[c for c in SHOWN_COLUMNS if c in latest.columns]] if not latest.empty else latest
    roots = {"live": Path(prediction_log.directory), "history": Path(history_dir)}
    shards = pd.DataFrame(
        [{"shard": shown_path(s.path, roots), "rows": s.rows, "bytes": s.bytes} for s in summary.shards]
    )
    rows = int(shards["rows"].sum()) if not shards.empty else 0
    per_1000 = summary.total_bytes / rows * 1000 if rows else 0
    if status.get("enabled"):
        push = (
            f"Hub dataset `{status.get('repo_id')}`: last push {status.get('last_push_at') or 'never'}"
            f" ({'ok' if status.get('last_push_ok') else 'FAILED: ' + str(status.get('last_error'))}"
            f"), {_pushes(int(status.get('pushes') or 0))}, every {float(status.get('every_min') or 0):.1f} min."
        )
    else:
        push = "Hub sync **disabled** (set HF_DATASET_REPO and HF_TOKEN): the log stays on this machine's disk."
    text = (
        f"**{rows:,}** rows in **{len(shards)}** shards, **{summary.total_bytes / 1e6:.2f} MB** "
        f"({per_1000 / 1e3:.1f} kB per 1,000 rows; at 10,000 requests a day ≈ "
        f"{per_1000 * 10 * 30 / 1e6:.0f} MB a month before compression).  \n{push}"
    )
    return text, latest, shards


def build_data_tab(tab: gr.Tab, prediction_log: Any, hub: Any, *, history_dir: Path) -> None:
    gr.Markdown(
        "Every scoring request is appended to the prediction log (JSON Lines, a new shard after each "
        "push; past days compacted into one Parquet file per day) and pushed to the Hugging Face "
        "dataset when the sync is enabled."
    )
    refresh = gr.Button("Refresh", size="sm", elem_id="data-refresh")
    summary = gr.Markdown(elem_id="data-summary")
    latest = gr.Dataframe(label="Latest rows (newest first)", interactive=False)
    shards = gr.Dataframe(label="Shards", interactive=False)

    def on_refresh() -> tuple[str, pd.DataFrame, pd.DataFrame]:
        return _snapshot(prediction_log, hub, history_dir)

    gr.on([refresh.click, tab.select], on_refresh, None, [summary, latest, shards], api_visibility="private")


def _pushes(n: int) -> str:
    return "1 push" if n == 1 else f"{n:,} pushes"
