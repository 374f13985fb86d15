"""Roles in the Gradio app: analyst tabs shown only to analyst sessions, and their callbacks refused to others.

The tabs are hidden when built and shown by a load event that reads the session's user name
(`gr.Request.username`); hiding is presentation only, so every callback wired to a component inside an
analyst tab (or to the tab itself) is also refused at the door, whatever route calls it (queue, /run,
/call), by `RoleGate.allows`, which the API guard asks before Gradio runs anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import gradio as gr
from starlette.requests import Request

from service.api.auth import ANALYST, BearerToken

ANALYST_ENDPOINTS = {"record_outcomes"}  # Gradio API endpoints of the analyst role, wherever they are built


def _ids_under(blocks: Iterable[Any]) -> set[int]:
    found: set[int] = set()
    stack = list(blocks)
    while stack:
        block = stack.pop()
        found.add(block._id)
        stack.extend(getattr(block, "children", []) or [])
    return found


def analyst_fns(app_blocks: gr.Blocks, tabs: list[gr.Tab], *, exclude: set[int]) -> set[int]:
    """Indices of the callbacks that read or write anything inside `tabs`, or are triggered by them."""
    inside = _ids_under(tabs)
    out = set()
    for index, fn in app_blocks.fns.items():
        touched = {b._id for b in [*fn.inputs, *fn.outputs]} | {target[0] for target in fn.targets}
        if (touched & inside or fn.api_name in ANALYST_ENDPOINTS) and index not in exclude:
            out.add(index)
    return out


@dataclass
class RoleGate:
    """Which session may call which callback; `gradio_app` is the mounted Gradio App (its login tokens)."""

    token: BearerToken
    analyst_only: set[int] = field(default_factory=set)
    gradio_app: Any = None

    def username(self, scope: dict[str, Any]) -> str | None:
        if self.gradio_app is None:
            return None
        cookies = Request(scope).cookies
        cookie_id = self.gradio_app.cookie_id
        value = cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")
        return self.gradio_app.tokens.get(value)

    def allows(self, fn_index: Any, scope: dict[str, Any]) -> bool:
        if not self.token.required or fn_index not in self.analyst_only:
            return True
        return self.token.role_of_user(self.username(scope)) == ANALYST

    def allows_tool(self, tool: Any, scope: dict[str, Any]) -> bool:
        """An MCP tool call (bearer-authenticated): an analyst endpoint needs the analyst token."""
        if not self.token.required or tool not in self.analyst_names:
            return True
        authorization = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        return self.token.role_of(self.token.bearer(authorization)) == ANALYST

    @property
    def analyst_names(self) -> set[str]:
        fns = self.gradio_app.get_blocks().fns if self.gradio_app is not None else {}
        return {fns[i].api_name for i in self.analyst_only if i in fns} | ANALYST_ENDPOINTS


def show_tabs_by_role(app_blocks: gr.Blocks, tabs: list[gr.Tab], token: BearerToken) -> set[int]:
    """Hide `tabs` unless the session is an analyst's; returns the index of the load callback that shows them."""
    if not token.required or not tabs:
        return set()
    for tab in tabs:
        tab.visible = False

    def reveal(request: gr.Request) -> list[gr.Tab]:
        visible = token.role_of_user(getattr(request, "username", None)) == ANALYST
        return [gr.Tab(visible=visible) for _ in tabs]

    with app_blocks:
        app_blocks.load(reveal, None, tabs, api_visibility="private")
    return {max(app_blocks.fns)}
