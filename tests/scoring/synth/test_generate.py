"""The generator's entry points (`scoring.synth.generate`): the schema of the frames, seeds and ids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.synth.generate import generate_applications, production_stream
from scoring.synth.scenarios import SCENARIOS
from tests.scoring.synth.rules import N_ROWS, assert_schema, assert_within_bounds

RARE_LABELS = {
    "NAME_INCOME_TYPE": ("Unemployed", "Student", "Businessman", "Maternity leave"),
    "NAME_FAMILY_STATUS": ("Unknown",),
    "CODE_GENDER": ("XNA",),
}


def test_columns_dtypes_and_labels(population: pd.DataFrame) -> None:
    assert len(population) == N_ROWS
    assert_schema(population)
    assert_within_bounds(population)


def test_rare_labels_are_not_drawn_for_the_base_population(population: pd.DataFrame) -> None:
    for name, labels in RARE_LABELS.items():
        assert not population[name].isin(labels).any(), name


def test_same_seed_same_frame_other_seed_other_frame() -> None:
    first = generate_applications(3_000, seed=5)
    pd.testing.assert_frame_equal(first, generate_applications(3_000, seed=5))
    assert not first.equals(generate_applications(3_000, seed=6))
    stream = production_stream(3_000, seed=5, scenario="younger_applicants")
    pd.testing.assert_frame_equal(stream, production_stream(3_000, seed=5, scenario="younger_applicants"))


def test_production_stream_is_fresh_applicants(population: pd.DataFrame, streams: dict[str, pd.DataFrame]) -> None:
    stream = streams["none"]
    assert_schema(stream)
    assert stream["SK_ID_CURR"].min() > population["SK_ID_CURR"].max()
    assert not np.array_equal(stream["AMT_CREDIT"].to_numpy()[:100], population["AMT_CREDIT"].to_numpy()[:100])
    assert 0.065 <= stream["TARGET"].mean() <= 0.095


def test_unknown_scenario_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="bureau_outage") as error:
        production_stream(10, seed=0, scenario="solar_flare")
    assert all(name in str(error.value) for name in SCENARIOS)
