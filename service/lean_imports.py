"""Faster imports for the serving process: skip library import-time work it never uses.

LightGBM is imported without its scikit-learn and matplotlib integrations
(`scoring.model.import_lightgbm_for_serving`): a Booster needs neither, and scikit-learn drags in
`scipy.stats`. `prepare_serving_process()` must run before anything imports lightgbm; `python app.py`
calls it first. Tests and tools that import the app in-process get the libraries as they are.
"""

from __future__ import annotations


def prepare_serving_process() -> None:
    """The lean imports; call before anything imports lightgbm."""
    from scoring.model import import_lightgbm_for_serving

    import_lightgbm_for_serving()
