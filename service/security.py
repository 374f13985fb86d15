"""The door-wide protections, installed once on the assembled app (see docs/reliability.md, issue 14).

In order of a request's path through them: the body deadline (408 for a trickled body, outermost), the
auth throttle (429 after repeated failures),
the MCP bearer check, the Gradio API guard (REST body rules, public names only, roles), then the routes.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
from fastapi import FastAPI

from service.api.auth import BearerToken, protect_mcp
from service.api.throttle import AuthThrottle, FailureThrottle
from service.scoring import ScoringService
from service.settings import Settings
from service.slow_clients import BodyDeadline, guarded_protocol
from service.ui.api_guard import guard_gradio_api
from service.ui.roles import RoleGate, analyst_fns


def secure_app(
    app: FastAPI,
    blocks: gr.Blocks,
    *,
    token: BearerToken,
    service: ScoringService,
    settings: Settings,
    analyst_tabs: list[gr.Tab],
    reveal_fns: set[int],
) -> None:
    """Install the guards; `reveal_fns` (the load event that shows the analyst tabs) stays callable by all."""
    gate = RoleGate(token, analyst_fns(blocks, analyst_tabs, exclude=reveal_fns))
    guard_gradio_api(app, blocks, reject=service.reject, max_body_bytes=settings.max_batch_body_bytes, gate=gate)
    protect_mcp(app, token)
    if token.required:
        throttle = FailureThrottle(
            max_failures=settings.auth_max_failures,
            window_s=settings.auth_failure_window_s,
            block_s=settings.auth_block_s,
        )
        app.add_middleware(
            AuthThrottle, throttle=throttle, count=service.metrics.count_unauthenticated, reject=service.reject
        )
    app.add_middleware(BodyDeadline, timeout_s=settings.body_timeout_s)


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's share of the slow-client protection (the header deadline lives in the protocol class)."""
    return {
        "http": guarded_protocol(settings.header_timeout_s),
        "timeout_keep_alive": settings.keep_alive_s,
        "limit_concurrency": settings.max_connections,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
    }
