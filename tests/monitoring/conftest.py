"""Fixtures of the prediction-log tests: plausible rows built without the model (see tests/factories.py)."""

from __future__ import annotations

import pytest

from tests.factories import RowFactory, prediction_row_factory, rejection_row_factory


@pytest.fixture
def prediction_row() -> RowFactory:
    return prediction_row_factory()


@pytest.fixture
def rejection_row() -> RowFactory:
    return rejection_row_factory()
