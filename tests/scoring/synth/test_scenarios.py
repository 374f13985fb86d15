"""Drift scenarios (`scoring.synth.scenarios`): each changes what it says and nothing else."""

from __future__ import annotations

import pandas as pd
import pytest

from scoring.schema import ALL_COLUMNS, DAYS_EMPLOYED_PENSIONER
from scoring.synth.scenarios import NEW_CATEGORY, SCENARIOS
from tests.scoring.synth.rules import N_STREAM, age_years, assert_schema, assert_structural_rules, assert_within_bounds


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_keeps_schema_bounds_and_rules(streams: dict[str, pd.DataFrame], scenario: str) -> None:
    frame = streams[scenario]
    assert len(frame) == N_STREAM
    assert_schema(frame)
    assert_within_bounds(frame)
    assert_structural_rules(frame)


def changed_columns(frame: pd.DataFrame, base: pd.DataFrame) -> set[str]:
    return {name for name in ALL_COLUMNS if not frame[name].equals(base[name])}


def test_income_inflation(streams: dict[str, pd.DataFrame]) -> None:
    base, frame = streams["none"], streams["income_inflation"]
    assert changed_columns(frame, base) == {"AMT_INCOME_TOTAL"}
    assert 1.3 <= frame["AMT_INCOME_TOTAL"].median() / base["AMT_INCOME_TOTAL"].median() <= 1.5
    assert (frame["AMT_INCOME_TOTAL"] % 4_500 == 0).mean() > 0.99


def test_bureau_outage(streams: dict[str, pd.DataFrame]) -> None:
    base, frame = streams["none"], streams["bureau_outage"]
    assert changed_columns(frame, base) == {"EXT_SOURCE_3"}
    assert 0.15 <= base["EXT_SOURCE_3"].isna().mean() <= 0.25
    assert 0.65 <= frame["EXT_SOURCE_3"].isna().mean() <= 0.75
    kept = frame["EXT_SOURCE_3"].notna()
    assert frame.loc[kept, "EXT_SOURCE_3"].equals(base.loc[kept, "EXT_SOURCE_3"])


def test_younger_applicants(streams: dict[str, pd.DataFrame]) -> None:
    base, frame = streams["none"], streams["younger_applicants"]
    assert 7 <= age_years(base).mean() - age_years(frame).mean() <= 11
    assert age_years(frame).min() >= 18
    base_pensioners = (base["NAME_INCOME_TYPE"] == "Pensioner").mean()
    assert (frame["NAME_INCOME_TYPE"] == "Pensioner").mean() < 0.7 * base_pensioners
    assert frame["EXT_SOURCE_1"].median() < base["EXT_SOURCE_1"].median() - 0.05
    employed = frame["DAYS_EMPLOYED"] < DAYS_EMPLOYED_PENSIONER
    base_employed = base["DAYS_EMPLOYED"] < DAYS_EMPLOYED_PENSIONER
    assert frame.loc[employed, "DAYS_EMPLOYED"].median() > base.loc[base_employed, "DAYS_EMPLOYED"].median()
    assert frame["TARGET"].mean() > base["TARGET"].mean()  # the same risk model meets riskier people
    # fields unrelated to age keep their distribution
    assert frame["AMT_CREDIT"].median() == pytest.approx(base["AMT_CREDIT"].median(), rel=0.1)
    assert frame["EXT_SOURCE_2"].median() == pytest.approx(base["EXT_SOURCE_2"].median(), abs=0.03)


def test_new_category(streams: dict[str, pd.DataFrame]) -> None:
    base, frame = streams["none"], streams["new_category"]
    new = frame["NAME_INCOME_TYPE"] == NEW_CATEGORY
    assert not base["NAME_INCOME_TYPE"].eq(NEW_CATEGORY).any()
    assert 0.08 <= new.mean() <= 0.12
    # every relabelled row gets the side fields that fit; nothing else moves
    assert changed_columns(frame, base) == {
        "NAME_INCOME_TYPE",
        "ORGANIZATION_TYPE",
        "OCCUPATION_TYPE",
        "AMT_INCOME_TOTAL",
    }
    assert (frame.loc[new, "ORGANIZATION_TYPE"] != "XNA").all()
    assert (frame.loc[new, "FLAG_EMP_PHONE"] == 1).all()
    assert frame.loc[new, "OCCUPATION_TYPE"].notna().all()
    assert frame.loc[~new].equals(base.loc[~new])
