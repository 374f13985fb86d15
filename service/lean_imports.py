"""Faster imports for the serving process: skip two libraries' import-time work it never uses.

- Gradio, when it defines each component class (~80 of them, at `import gradio`), re-reads and parses
  the component's source file to keep its `.pyi` typing stub in step (`create_or_modify_pyi`): an aid
  for component authors' editors that changes nothing at run time and costs about 40 % of
  `import gradio` (1.5-3 s of the cold start on 2 vCPUs). The hook below makes it a no-op.
- LightGBM is imported without its scikit-learn and matplotlib integrations
  (`scoring.model.import_lightgbm_for_serving`).

`prepare_serving_process()` must run before anything imports gradio or lightgbm; `python app.py` calls
it first. Tests and tools that import the app in-process get the libraries as they are.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import Any

_TARGET = "gradio.component_meta"


def _no_stub_upkeep(*_args: Any, **_kwargs: Any) -> None:
    """Stands in for gradio.component_meta.create_or_modify_pyi: the stubs are left as shipped."""


class _SkipStubUpkeep(importlib.abc.MetaPathFinder):
    """Finds gradio.component_meta as usual, and swaps the stub upkeep out right after it runs."""

    def find_spec(
        self, fullname: str, path: Any = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _TARGET:
            return None
        sys.meta_path.remove(self)  # one use; also keeps find_spec below from finding us again
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            module.create_or_modify_pyi = _no_stub_upkeep  # before any component class is defined

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def skip_gradio_stub_upkeep() -> bool:
    """Install the hook; False (nothing done) when gradio's component classes already exist."""
    if _TARGET in sys.modules:
        return False
    if not any(isinstance(finder, _SkipStubUpkeep) for finder in sys.meta_path):
        sys.meta_path.insert(0, _SkipStubUpkeep())
    return True


def prepare_serving_process() -> None:
    """Both lean imports; call before anything imports gradio or lightgbm."""
    from scoring.model import import_lightgbm_for_serving

    skip_gradio_stub_upkeep()
    import_lightgbm_for_serving()
