"""The population against the published aggregates in `scoring/synth/reference_profile.json`.

A 50,000-row population is compared with the published figures and the structural rules of the real
file are checked on it. Tolerances are wide enough for sampling noise at this size (a rate's standard
error is about 0.1 point) and narrow enough to catch a broken calibration.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.schema import BUILDING_CATEGORIES, BUILDING_MEASURES, CATEGORICAL, NUMERIC, RAW_COLUMNS
from tests.scoring.synth.rules import age_years, assert_structural_rules

BUILDING_COLUMNS = tuple(
    name
    for name in RAW_COLUMNS
    if name.rsplit("_", 1)[0] in BUILDING_MEASURES or name in (*BUILDING_CATEGORIES, "TOTALAREA_MODE")
)


# ---------------------------------------------------------------------------------------------
# Marginals against the published profile
# ---------------------------------------------------------------------------------------------


def test_default_rate(population: pd.DataFrame, profile: dict) -> None:
    assert 0.07 <= population["TARGET"].mean() <= 0.09
    assert abs(population["TARGET"].mean() - profile["default_rate"]) < 0.006


def test_missing_rates_within_three_points(population: pd.DataFrame, profile: dict) -> None:
    for name in RAW_COLUMNS:
        entry = profile["numeric"].get(name) or profile["categorical"][name]
        assert abs(population[name].isna().mean() - entry["missing_rate"]) < 0.03, name


@pytest.mark.parametrize(
    "name", [n for n in NUMERIC if n.startswith(("AMT_INCOME", "AMT_CREDIT", "AMT_ANNUITY", "AMT_GOODS", "DAYS_"))]
)
def test_medians_within_fifteen_percent(population: pd.DataFrame, profile: dict, name: str) -> None:
    published = profile["numeric"][name]["quantiles"]
    assert population[name].median() == pytest.approx(published["p50"], rel=0.15)
    if name != "DAYS_EMPLOYED":  # its quartiles are spread between employed rows and the 365243 code
        assert population[name].quantile(0.25) == pytest.approx(published["p25"], rel=0.15)
        assert population[name].quantile(0.75) == pytest.approx(published["p75"], rel=0.15)


@pytest.mark.parametrize("name", CATEGORICAL)
def test_category_frequencies_within_five_points(population: pd.DataFrame, profile: dict, name: str) -> None:
    shares = population[name].value_counts(normalize=True, dropna=False)
    for label, published in profile["categorical"][name]["freq"].items():
        assert abs(shares.get(label, 0.0) - published) < 0.05, (name, label)


def test_ext_source_correlations(population: pd.DataFrame, profile: dict) -> None:
    published = profile["ext_source_corr"]
    age = age_years(population)
    for k in (1, 2, 3):
        score = population[f"EXT_SOURCE_{k}"]
        assert score.corr(age) == pytest.approx(published[f"EXT_SOURCE_{k}"]["AGE_DAYS"], abs=0.06)
        assert score.corr(population["TARGET"]) == pytest.approx(published["TARGET"][f"EXT_SOURCE_{k}"], abs=0.04)
    assert population["EXT_SOURCE_1"].corr(population["EXT_SOURCE_2"]) == pytest.approx(
        published["EXT_SOURCE_1"]["EXT_SOURCE_2"], abs=0.06
    )


def test_default_rates_by_group(population: pd.DataFrame, profile: dict) -> None:
    rates = profile["default_rates"]
    by_income = population.groupby("NAME_INCOME_TYPE")["TARGET"].mean()
    for label in ("Working", "Commercial associate", "Pensioner", "State servant"):
        assert by_income[label] == pytest.approx(rates["NAME_INCOME_TYPE"][label], abs=0.015), label
    by_gender = population.groupby("CODE_GENDER")["TARGET"].mean()
    for label, rate in rates["CODE_GENDER"].items():
        assert by_gender[label] == pytest.approx(rate, abs=0.015), label
    by_education = population.groupby("NAME_EDUCATION_TYPE")["TARGET"].mean()
    for label, rate in rates["NAME_EDUCATION_TYPE"].items():
        assert by_education[label] == pytest.approx(rate, abs=0.015), label
    by_rating = population.groupby("REGION_RATING_CLIENT")["TARGET"].mean()
    for value, entry in rates["sample"]["REGION_RATING_CLIENT"].items():
        assert by_rating[int(value)] == pytest.approx(entry["rate"], abs=0.02), value


def test_default_rate_falls_with_age(population: pd.DataFrame, profile: dict) -> None:
    bands = pd.cut(age_years(population), [20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70])
    observed = population.groupby(bands, observed=True)["TARGET"].mean().to_numpy()
    published = np.array(list(profile["default_rates"]["age_bins_years"].values()))
    assert np.abs(observed - published).max() < 0.02
    assert observed[0] > 2 * observed[-1]


# ---------------------------------------------------------------------------------------------
def test_structural_rules_hold(population: pd.DataFrame) -> None:
    assert_structural_rules(population)


def test_relationship_statistics(population: pd.DataFrame, profile: dict) -> None:
    frame, relations = population, profile["relationships"]
    pensioner = frame["NAME_INCOME_TYPE"] == "Pensioner"
    assert 0.16 <= pensioner.mean() <= 0.20
    assert age_years(frame[pensioner]).median() > age_years(frame[~pensioner]).median() + 12
    assert 0.14 <= frame.loc[~pensioner, "OCCUPATION_TYPE"].isna().mean() <= 0.23

    building_missing = frame[list(BUILDING_COLUMNS)].isna().all(axis=1).mean()
    assert len(BUILDING_COLUMNS) == 47
    assert building_missing == pytest.approx(relations["building_block"]["share_all_building_missing"], abs=0.03)
    assert frame["APARTMENTS_AVG"].corr(frame["APARTMENTS_MEDI"]) > 0.99

    adults = frame["CNT_FAM_MEMBERS"] - frame["CNT_CHILDREN"]
    assert (adults == 2).mean() == pytest.approx(relations["fam_minus_children_value_freq"]["2.0"], abs=0.03)

    assert frame["AMT_INCOME_TOTAL"].corr(frame["AMT_CREDIT"]) == pytest.approx(0.40, abs=0.08)
    assert frame["AMT_CREDIT"].corr(frame["AMT_GOODS_PRICE"]) > 0.97
    equal = (frame["AMT_GOODS_PRICE"] == frame["AMT_CREDIT"]).mean()
    assert equal == pytest.approx(relations["share_goods_price_equal_credit"], abs=0.04)
    payment_rate = frame["AMT_ANNUITY"] / frame["AMT_CREDIT"]
    assert payment_rate.quantile(0.05) == pytest.approx(0.029, abs=0.004)
    assert payment_rate.quantile(0.95) == pytest.approx(0.103, abs=0.008)
    granularity = relations["amount_granularity"]
    for name in ("AMT_INCOME_TOTAL", "AMT_GOODS_PRICE"):
        share = (frame[name].dropna() % 4_500 == 0).mean()
        assert share == pytest.approx(granularity[name]["share_multiple_of_4500"], abs=0.02), name

    assert frame["REGION_RATING_CLIENT"].corr(frame["REGION_RATING_CLIENT_W_CITY"]) > 0.9
    assert 40 <= frame["REGION_POPULATION_RELATIVE"].nunique() <= 120
    social = frame.dropna(subset=["OBS_30_CNT_SOCIAL_CIRCLE"])
    same = (social["OBS_30_CNT_SOCIAL_CIRCLE"] == social["OBS_60_CNT_SOCIAL_CIRCLE"]).mean()
    assert same == pytest.approx(relations["social_circle_block"]["share_OBS30_eq_OBS60"], abs=0.02)


# ---------------------------------------------------------------------------------------------
