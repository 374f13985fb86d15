"""The Gradio Blocks: tabs for people, `/predict` and `/predict_batch` for programs (and MCP)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from scoring.errors import InvalidInput, ServiceUnavailable
from service.scoring import ScoringService
from service.timing import started_clock
from service.ui.batch_tab import build_batch_tab
from service.ui.common import as_gradio_error, percent
from service.ui.model_tab import build_model_tab
from service.ui.score_tab import build_score_tab
from service.ui.uploads import BatchFiles

PRODUCT = "Crédit Express — credit scoring"
SESSION_CAPACITY = 64
DEFAULT_MAX_UPLOAD_BYTES = 32 * 1024 * 1024
DEFAULT_UPLOAD_TTL_S = 900
TabBuilder = Callable[[gr.Tab], None]  # gets its tab, e.g. to refresh when selected

CSS = """
.result-card { font-family: system-ui, sans-serif; }
footer { display: none !important; }
"""


def _channel(request: gr.Request | None) -> str:
    # Gradio runs an MCP tool call by calling its own queue over HTTP with the MCP request's
    # headers, so the MCP protocol headers are what tell the two doors apart.
    headers = getattr(request, "headers", None) or {}
    return "mcp" if "mcp-protocol-version" in headers or "mcp-session-id" in headers else "gradio_api"


def make_api_functions(service: ScoringService, *, max_rows: int) -> tuple[Callable[..., Any], Callable[..., Any]]:
    # async: Gradio runs a plain function in a worker thread, and that hop cost more than the scoring
    # (as REST does, the sub-millisecond call runs on the event loop; the batch keeps its thread).
    async def predict(application: dict, explain: bool = False, request: gr.Request = None) -> dict:
        """Score one loan application for Prêt à Dépenser's Crédit Express desk.

        Args:
            application: the applicant's fields keyed by Home Credit application_train names, e.g. {"NAME_CONTRACT_TYPE": "Cash loans", "AMT_INCOME_TOTAL": 150000, "AMT_CREDIT": 500000, "AMT_ANNUITY": 25000, "DAYS_BIRTH": -14000, "EXT_SOURCE_2": 0.6}. NAME_CONTRACT_TYPE, AMT_INCOME_TOTAL, AMT_CREDIT, AMT_ANNUITY and DAYS_BIRTH are required; other fields may be omitted (treated as missing).
            explain: when true, also return the top 5 factors (LightGBM TreeSHAP) behind the score.

        Returns:
            probability of default, decision ("approve" or "refuse" at the business threshold), threshold, model_version, request_id, inference_ms, warnings and, with explain, factors.
        """
        started = started_clock(request)  # arrival in the app, stamped by service.timing.ArrivalClock
        try:
            return service.score(application, channel=_channel(request), explain=bool(explain), started=started)
        except (InvalidInput, ServiceUnavailable) as exc:
            raise as_gradio_error(exc) from None

    def predict_batch(applications: list[dict], request: gr.Request = None) -> dict:
        """Score up to {max_rows} loan applications at once; a bad row is reported by its index and never fails the others.

        Args:
            applications: a list of application objects keyed by Home Credit application_train field names.

        Returns:
            batch_id, counts, and one result per row (status "ok" with the score, or "rejected" with the errors).
        """
        started = started_clock(request)  # arrival in the app, stamped by service.timing.ArrivalClock
        if not isinstance(applications, list) or not applications:
            raise gr.Error("applications: expected a non-empty list of application objects", print_exception=False)
        if len(applications) > max_rows:
            raise gr.Error(
                f"applications: {len(applications)} rows; at most {max_rows} per batch", print_exception=False
            )
        channel = "mcp" if _channel(request) == "mcp" else "gradio_api"
        try:
            return service.score_batch(applications, channel=channel, started=started)
        except ServiceUnavailable as exc:
            raise as_gradio_error(exc) from None

    # the batch limit is the service's setting; Gradio reads this docstring for the API page and MCP
    predict_batch.__doc__ = (predict_batch.__doc__ or "").replace("{max_rows}", f"{max_rows:,}")
    return predict, predict_batch


def build_ui(
    service: ScoringService,
    *,
    max_rows: int,
    concurrency: int,
    extra_tabs: list[tuple[str, TabBuilder]] | None = None,
    logout: bool = False,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    upload_ttl_s: int = DEFAULT_UPLOAD_TTL_S,
    footer: str | None = None,
) -> gr.Blocks:
    """The UI; `logout` adds a "Log out" link (when a login protects it), `footer` a line under the tabs."""
    files = BatchFiles(ttl_s=upload_ttl_s)
    # Gradio's own sweep of the files it holds (uploads, outputs): every minute, those older than the TTL
    delete_cache = (min(60, upload_ttl_s), upload_ttl_s)
    with gr.Blocks(title=PRODUCT, analytics_enabled=False, delete_cache=delete_cache) as blocks:
        with gr.Row(equal_height=True):
            gr.Markdown(
                f"## {PRODUCT}  \n<small>Prêt à Dépenser · model `{service.model.version}` · refuses at a "
                f"probability of default of {percent(service.model.threshold)} or more</small>"
            )
            if logout:
                gr.Button("Log out", link="/logout", size="sm", scale=0, min_width=90, elem_id="logout")
        with gr.Tabs():
            with gr.Tab("Score an application", id="score"):
                build_score_tab(service)
            with gr.Tab("Batch", id="batch"):
                build_batch_tab(service, max_rows=max_rows, max_bytes=max_upload_bytes, files=files)
            for title, builder in extra_tabs or []:
                with gr.Tab(title, id=title.lower().replace(" ", "-")) as tab:
                    builder(tab)
            with gr.Tab("Model", id="model"):
                build_model_tab(service.model)
        if footer:  # Gradio's own footer is hidden (CSS): this one says which build is running
            gr.Markdown(f"<small>{footer}</small>", elem_id="build-footer")
        predict, predict_batch = make_api_functions(service, max_rows=max_rows)
        # queue=False: a scoring call takes a fraction of a millisecond, so the queue's bookkeeping would
        # dominate it; it also lets MCP tool calls run in-process instead of through Gradio's own HTTP client
        # (which carries no credentials when a token protects the app).
        gr.api(predict, api_name="predict", queue=False)
        gr.api(predict_batch, api_name="predict_batch", queue=False)

        def end_session(request: gr.Request) -> None:
            files.end_session(getattr(request, "session_hash", None))

        blocks.unload(end_session)
    blocks.queue(default_concurrency_limit=concurrency, max_size=concurrency * 64)
    # Gradio keeps a copy of the whole UI config per session (~180 kB here) for 10,000 sessions by default,
    # and every API call is a new session: cap it, or API traffic alone grows the process by gigabytes.
    blocks.state_session_capacity = SESSION_CAPACITY
    return blocks
