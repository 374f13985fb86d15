"""Make a Gradio API call cost about what the scoring costs: three per-call overheads of Gradio 6, removed.

Measured on `/gradio_api/run/predict` and `/gradio_api/call/predict` (docs/optimization.md):

1. Every API call builds a `SessionState`, whose constructor computes the config of every block of the
   UI (`BlocksConfig.config_for_block`, `inspect.signature` underneath): half of the server's time, and
   ~180 kB per kept session, although only deep links and a handler that updates a component read
   them. `lazy_sessions` swaps in a constructor that computes each config on first read.
2. After every queued event the queue rebuilds its monitoring-dashboard summary (a pandas groupby) in
   a worker thread; the dashboard is off here. `skip_analytics_summary` stops the rebuild and the hop.
3. Every Gradio API route depends on `login_check`, a plain `def` that FastAPI runs in its thread pool.
   `inline_login_check` puts an async twin in its place in the routes' dependency trees, once.

The call + SSE route's own waits (the queue's 1 ms poll, three writes per event stream) are in
`service/ui/fastcall.py`; `apply` installs all five.

1, 2 and 3 reach into Gradio and FastAPI internals (both pinned in requirements.txt). Each hook first
checks that what it replaces is still there and, for 1, that a lazy session of the real Blocks is
indistinguishable from Gradio's own; if not, it logs a warning and leaves Gradio as it is (slower, never
wrong). `/metrics` shows `gradio_fast_path` (1 = all five on) and `tests/service/test_fastpath.py`
fails when an upgrade moves any of them.
"""

# No `from __future__ import annotations` here: FastAPI reads the login twin's signature to build its
# dependency, and real annotations need no resolving against this module's globals.
import inspect
import logging
import os
from collections.abc import Callable, Iterator, MutableMapping
from copy import copy
from typing import Any

import gradio as gr
import orjson
from fastapi import Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant
from fastapi.routing import APIRoute
from gradio import queueing
from gradio.components.api_component import Api
from gradio.state_holder import SessionState

from service.ui import fastcall

log = logging.getLogger("service.fastpath")

_PENDING = object()
_GRADIO_INIT = SessionState.__init__
_THREAD_RUN_SYNC = queueing.run_sync


class LazyBlockConfigs(MutableMapping[int, Any]):
    """`SessionState.config_values` with each block's config computed the first time it is read.

    Its keys, in Gradio's order, are the blocks the session started with; a config is computed from the
    block the session started with, which is what Gradio's constructor computed for every block.
    """

    def __init__(self, compute: Callable[[int, Any], dict], blocks: dict[int, Any]) -> None:
        self._compute = compute
        self._blocks = blocks
        self._values: dict[int, Any] = dict.fromkeys(blocks, _PENDING)

    def __getitem__(self, key: int) -> Any:
        value = self._values[key]
        if value is _PENDING:
            value = self._values[key] = self._compute(key, self._blocks.pop(key))
        return value

    def __setitem__(self, key: int, value: Any) -> None:
        self._blocks.pop(key, None)
        self._values[key] = value

    def __delitem__(self, key: int) -> None:
        self._blocks.pop(key, None)
        del self._values[key]

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __iter__(self) -> Iterator[int]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def computed(self) -> int:
        """How many configs have been computed so far."""
        return sum(v is not _PENDING for v in self._values.values())


_API_CONFIGS: dict[int, tuple[Api, dict]] = {}  # block id -> (gr.api's type-only block, its config)


def _config_of(blocks_config: Any) -> Callable[[int, Any], dict]:
    """`config_for_block`, computed once per `gr.api` block: a call records its inputs and output there.

    An `Api` block only describes a type, so its config never changes; each session gets its own copy
    of the two levels Gradio writes to (`config["props"]["value"]`), the rest is shared as Gradio does.
    """

    def compute(key: int, block: Any) -> dict:
        if type(block) is not Api:
            return blocks_config.config_for_block(key, [], block)
        known = _API_CONFIGS.get(key)
        if known is None or known[0] is not block:
            known = _API_CONFIGS[key] = (block, blocks_config.config_for_block(key, [], block))
        config = dict(known[1])
        if "props" in config:
            config["props"] = dict(config["props"])
        return config

    return compute


def _lazy_init(self: SessionState, blocks: gr.Blocks) -> None:
    # Gradio 6.31's SessionState.__init__ line for line, config_values deferred; matches_gradio checks it.
    self.blocks_config = copy(blocks.default_config)
    started_with = {k: v for k, v in self.blocks_config.blocks.items() if k in blocks.blocks}
    self.config_values = LazyBlockConfigs(_config_of(self.blocks_config), started_with)
    self.state_data = {}
    self._state_ttl = {}
    self.is_closed = False
    self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST", None) else 3600


def _observable(state: SessionState) -> tuple[Any, ...]:
    """All a session holds: its other attributes, its blocks and functions, its configs as deep links dump them."""
    rest = {k: v for k, v in vars(state).items() if k not in ("blocks_config", "config_values")}
    configs = orjson.dumps(
        list(state.components), option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_PASSTHROUGH_DATETIME, default=str
    )
    config = state.blocks_config
    return sorted(vars(state)), rest, config.blocks, config.fns, config.renderables, list(state.config_values), configs


def matches_gradio(blocks: gr.Blocks) -> bool:
    """Whether a lazy session of `blocks` is indistinguishable from the one Gradio's constructor builds."""
    eager, lazy = SessionState.__new__(SessionState), SessionState.__new__(SessionState)
    _GRADIO_INIT(eager, blocks)
    _lazy_init(lazy, blocks)
    return _observable(eager) == _observable(lazy)


def lazy_sessions(blocks: gr.Blocks) -> bool:
    """Make every Gradio session of this process lazy, once checked indistinguishable on `blocks`."""
    if SessionState.__init__ is _lazy_init:
        return True
    if SessionState.__init__ is not _GRADIO_INIT:
        log.warning("lazy Gradio sessions not installed: something else replaced SessionState.__init__")
        return False
    try:
        same = matches_gradio(blocks)
    except Exception:  # an upgrade changed SessionState or BlocksConfig: keep Gradio's own
        log.exception("lazy Gradio sessions not installed: Gradio's SessionState changed")
        return False
    if not same:
        log.warning("lazy Gradio sessions not installed: they no longer match Gradio's SessionState")
        return False
    SessionState.__init__ = _lazy_init  # type: ignore[method-assign]
    return True


def skip_analytics_summary(blocks: gr.Blocks) -> bool:
    """Stop the queue rebuilding its dashboard summary after every event, and doing it in a thread.

    The summary is read only by Gradio's `/monitoring` dashboard, which `app.py` turns off. With its
    rebuild period out of reach `compute_analytics_summary` returns its cache at once, so it is called
    inline: the thread hop cost more than the call. The per-event records stay (the janitor caps them).
    """
    queue: Any = blocks._queue
    if queueing.run_sync is _run_summary_inline:
        return True
    if not hasattr(queue, "ANAYLTICS_CACHE_FREQUENCY") or not hasattr(queue, "compute_analytics_summary"):
        log.warning("Gradio's queue analytics moved: its summary is still rebuilt after every event")
        return False
    queue.ANAYLTICS_CACHE_FREQUENCY = 2**62  # sic: Gradio's spelling
    queueing.run_sync = _run_summary_inline
    return True


async def _run_summary_inline(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    if getattr(fn, "__func__", None) is queueing.Queue.compute_analytics_summary:
        return fn(*args)
    return await _THREAD_RUN_SYNC(fn, *args, **kwargs)


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """The app's API routes, including those of the routers FastAPI includes lazily."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # fastapi.routing._IncludedRouter
            yield from _api_routes(route.original_router.routes)


def inline_login_check(gradio_app: FastAPI) -> bool:
    """Run Gradio's `login_check` dependency on the event loop instead of FastAPI's thread pool.

    The twin calls the very same function and keeps its dependency on Gradio's `get_current_user`, so
    a missing or wrong login is refused exactly as before. It is put in place once, in the routes'
    dependency trees (`_swap`): FastAPI's `dependency_overrides` would do the same, but rebuild every
    sub-dependency of every request with `inspect.signature` (~0.1-0.3 ms per Gradio request here).
    """
    route = next((r for r in _api_routes(gradio_app.routes) if r.path == "/gradio_api/login_check"), None)
    users = [d.call for d in getattr(getattr(route, "dependant", None), "dependencies", ())]
    if route is None or len(users) != 1 or inspect.iscoroutinefunction(route.endpoint):
        log.warning("Gradio's login_check moved: it still runs in FastAPI's thread pool")
        return False
    check, current_user = route.endpoint, users[0]

    async def login_check(user: str | None = Depends(current_user)) -> None:
        return check(user)

    for api_route in _api_routes(gradio_app.routes):  # what FastAPI builds a route's dependencies from
        api_route.dependencies = [Depends(login_check) if d.dependency is check else d for d in api_route.dependencies]
    trees = list(_dependency_trees(gradio_app.routes))
    swapped = sum(_swap(tree, check, login_check) for tree in trees)
    if not swapped or any(_calls(tree, check) for tree in trees):
        log.warning("Gradio's login_check moved: some Gradio routes still run it in FastAPI's thread pool")
        return False
    return True


def _dependency_trees(routes: list[Any]) -> Iterator[Dependant]:
    """Every dependency tree FastAPI solves for these routes: each route's own and, for included routers,
    the one of each effective route (prefix and router dependencies merged) that serves the requests."""
    for route in routes:
        if isinstance(getattr(route, "dependant", None), Dependant):
            yield route.dependant
        if hasattr(route, "effective_route_contexts"):  # fastapi.routing._IncludedRouter
            yield from (c.dependant for c in route.effective_route_contexts() if isinstance(c.dependant, Dependant))
            yield from _dependency_trees(route.original_router.routes)


def _swap(tree: Dependant, old: Callable[..., Any], new: Callable[..., Any]) -> int:
    """Replace, in place, each sub-dependency of `tree` that calls `old` by one calling `new`; how many."""
    swapped = 0
    for i, sub in enumerate(tree.dependencies):
        if sub.call is old:
            tree.dependencies[i] = get_dependant(
                path=sub.path or "",
                call=new,
                name=sub.name,
                own_oauth_scopes=sub.own_oauth_scopes,
                parent_oauth_scopes=sub.parent_oauth_scopes,
                use_cache=sub.use_cache,
                scope=sub.scope,
                concurrency=sub.concurrency,
            )
            swapped += 1
        else:
            swapped += _swap(sub, old, new)
    return swapped


def _calls(tree: Dependant, fn: Callable[..., Any]) -> bool:
    return any(sub.call is fn or _calls(sub, fn) for sub in tree.dependencies)


def gradio_app_of(app: FastAPI) -> FastAPI:
    """The Gradio app `gr.mount_gradio_app` mounted inside `app`."""
    return next(r.app for r in app.routes if isinstance(getattr(r, "app", None), gr.routes.App))


def undo() -> None:
    """Give Gradio back its own session constructor and queue thread hop (both are process-wide)."""
    SessionState.__init__ = _GRADIO_INIT  # type: ignore[method-assign]
    queueing.run_sync = _THREAD_RUN_SYNC


def apply(blocks: gr.Blocks, app: FastAPI) -> dict[str, bool]:
    """All of them (and fastcall.py's), on the Blocks `gr.mount_gradio_app` mounted in `app`; says which are on."""
    return {
        "lazy_sessions": lazy_sessions(blocks),
        "skip_analytics_summary": skip_analytics_summary(blocks),
        "inline_login_check": inline_login_check(gradio_app_of(app)),
        "wake_driven_queue": fastcall.wake_driven_queue(blocks._queue),
        "event_stream_writes": fastcall.fewer_stream_writes(app),
    }
