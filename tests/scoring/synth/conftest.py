"""The generated frames the generator's tests share, drawn once per session (they take seconds)."""

from __future__ import annotations

import pandas as pd
import pytest

from scoring.synth.calibration import reference_profile
from scoring.synth.generate import generate_applications, production_stream
from scoring.synth.scenarios import SCENARIOS
from tests.scoring.synth.rules import N_ROWS, N_STREAM


@pytest.fixture(scope="session")
def profile() -> dict:
    return reference_profile()


@pytest.fixture(scope="session")
def population() -> pd.DataFrame:
    return generate_applications(N_ROWS, seed=7)


@pytest.fixture(scope="session")
def streams() -> dict[str, pd.DataFrame]:
    return {scenario: production_stream(N_STREAM, seed=11, scenario=scenario) for scenario in SCENARIOS}
