"""Data tests for the synthetic application generator (`scoring.data`).

A 50,000-row population is compared with the published aggregates committed in
`scoring/reference_profile.json`; the structural rules of the real file are checked on it and on every
drift scenario. Tolerances are wide enough for sampling noise at this size (a rate's standard error is
about 0.1 point) and narrow enough to catch a broken calibration.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring import data
from scoring.schema import (
    ALL_COLUMNS,
    CATEGORICAL,
    DAYS_EMPLOYED_PENSIONER,
    DAYS_PER_YEAR,
    FIELDS,
    NUMERIC,
    RAW_COLUMNS,
)

N_ROWS = 50_000
N_STREAM = 20_000
BUILDING_COLUMNS = tuple(
    name
    for name in RAW_COLUMNS
    if name.rsplit("_", 1)[0] in data._BUILDING_MEASURES
    or name in ("FONDKAPREMONT_MODE", "HOUSETYPE_MODE", "TOTALAREA_MODE", "WALLSMATERIAL_MODE", "EMERGENCYSTATE_MODE")
)
RARE_LABELS = {
    "NAME_INCOME_TYPE": ("Unemployed", "Student", "Businessman", "Maternity leave"),
    "NAME_FAMILY_STATUS": ("Unknown",),
    "CODE_GENDER": ("XNA",),
}


@pytest.fixture(scope="module")
def profile() -> dict:
    return data.reference_profile()


@pytest.fixture(scope="module")
def population() -> pd.DataFrame:
    return data.generate_applications(N_ROWS, seed=7)


@pytest.fixture(scope="module")
def streams() -> dict[str, pd.DataFrame]:
    return {scenario: data.production_stream(N_STREAM, seed=11, scenario=scenario) for scenario in data.SCENARIOS}


def age_years(frame: pd.DataFrame) -> pd.Series:
    return -frame["DAYS_BIRTH"] / DAYS_PER_YEAR


# ---------------------------------------------------------------------------------------------
# Schema and determinism
# ---------------------------------------------------------------------------------------------


def assert_schema(frame: pd.DataFrame) -> None:
    assert tuple(frame.columns) == ALL_COLUMNS
    assert frame["SK_ID_CURR"].dtype == "int64" and frame["SK_ID_CURR"].is_unique
    assert frame["TARGET"].dtype == "int64" and set(frame["TARGET"].unique()) <= {0, 1}
    for name in RAW_COLUMNS:
        field, column = FIELDS[name], frame[name]
        if field.kind == "category":
            assert column.dtype == "str", name
            assert set(column.dropna().unique()) <= set(field.categories), name
        elif field.kind in ("int", "flag"):
            assert column.dtype == "int64", name
        else:
            assert column.dtype == "float64", name


def assert_within_bounds(frame: pd.DataFrame) -> None:
    for name in NUMERIC:
        field, values = FIELDS[name], frame[name].dropna()
        if field.minimum is not None:
            assert (values >= field.minimum).all(), f"{name} below {field.minimum}: {values.min()}"
        if field.maximum is not None:
            assert (values <= field.maximum).all(), f"{name} above {field.maximum}: {values.max()}"


def test_columns_dtypes_and_labels(population: pd.DataFrame) -> None:
    assert len(population) == N_ROWS
    assert_schema(population)
    assert_within_bounds(population)


def test_rare_labels_are_not_drawn_for_the_base_population(population: pd.DataFrame) -> None:
    for name, labels in RARE_LABELS.items():
        assert not population[name].isin(labels).any(), name


def test_same_seed_same_frame_other_seed_other_frame() -> None:
    first = data.generate_applications(3_000, seed=5)
    pd.testing.assert_frame_equal(first, data.generate_applications(3_000, seed=5))
    assert not first.equals(data.generate_applications(3_000, seed=6))
    stream = data.production_stream(3_000, seed=5, scenario="younger_applicants")
    pd.testing.assert_frame_equal(stream, data.production_stream(3_000, seed=5, scenario="younger_applicants"))


def test_production_stream_is_fresh_applicants(population: pd.DataFrame, streams: dict[str, pd.DataFrame]) -> None:
    stream = streams["none"]
    assert_schema(stream)
    assert stream["SK_ID_CURR"].min() > population["SK_ID_CURR"].max()
    assert not np.array_equal(stream["AMT_CREDIT"].to_numpy()[:100], population["AMT_CREDIT"].to_numpy()[:100])
    assert 0.065 <= stream["TARGET"].mean() <= 0.095


def test_unknown_scenario_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="bureau_outage") as error:
        data.production_stream(10, seed=0, scenario="solar_flare")
    assert all(name in str(error.value) for name in data.SCENARIOS)


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
# Structural rules of the real file
# ---------------------------------------------------------------------------------------------


def assert_structural_rules(frame: pd.DataFrame) -> None:
    pensioner = frame["NAME_INCOME_TYPE"] == "Pensioner"
    assert ((frame["DAYS_EMPLOYED"] == DAYS_EMPLOYED_PENSIONER) == pensioner).all()
    assert ((frame["ORGANIZATION_TYPE"] == "XNA") == pensioner).all()
    assert ((frame["FLAG_EMP_PHONE"] == 0) == pensioner).all()
    assert frame.loc[pensioner, "OCCUPATION_TYPE"].isna().all()
    assert (frame.loc[~pensioner, "DAYS_EMPLOYED"] <= 0).all()
    assert (frame.loc[~pensioner, "DAYS_EMPLOYED"] >= frame.loc[~pensioner, "DAYS_BIRTH"]).all()
    assert (frame["OWN_CAR_AGE"].isna() == (frame["FLAG_OWN_CAR"] == "N")).all()

    adults = frame["CNT_FAM_MEMBERS"] - frame["CNT_CHILDREN"]
    couple = frame["NAME_FAMILY_STATUS"].isin(["Married", "Civil marriage"])
    assert (adults == np.where(couple, 2, 1)).all()

    revolving = frame["NAME_CONTRACT_TYPE"] == "Revolving loans"
    loans = frame.loc[revolving].dropna(subset=["AMT_ANNUITY"])
    assert np.allclose(loans["AMT_ANNUITY"], 0.05 * loans["AMT_CREDIT"])
    goods = frame.loc[revolving, "AMT_GOODS_PRICE"]
    assert (goods.isna() | (goods == frame.loc[revolving, "AMT_CREDIT"])).all()
    assert (frame["AMT_GOODS_PRICE"].dropna() <= frame.loc[frame["AMT_GOODS_PRICE"].notna(), "AMT_CREDIT"]).all()
    for name in ("AMT_INCOME_TOTAL", "AMT_CREDIT", "AMT_ANNUITY", "AMT_GOODS_PRICE"):
        assert (frame[name].dropna() * 2 % 1 == 0).all(), name  # multiples of 0.5

    assert (frame["REGION_RATING_CLIENT_W_CITY"] <= frame["REGION_RATING_CLIENT"]).all()
    social = frame.dropna(subset=["OBS_30_CNT_SOCIAL_CIRCLE"])
    assert (social["DEF_60_CNT_SOCIAL_CIRCLE"] <= social["DEF_30_CNT_SOCIAL_CIRCLE"]).all()
    assert (social["DEF_30_CNT_SOCIAL_CIRCLE"] <= social["OBS_30_CNT_SOCIAL_CIRCLE"]).all()
    for block in (list(data._BUREAU_COLUMNS), list(data._SOCIAL_COLUMNS)):
        mask = frame[block].isna()
        assert (mask.any(axis=1) == mask.all(axis=1)).all(), block
    for measure in data._BUILDING_MEASURES:
        mask = frame[[f"{measure}_{stat}" for stat in ("AVG", "MODE", "MEDI")]].isna()
        assert (mask.any(axis=1) == mask.all(axis=1)).all(), measure
    for name in ("DAYS_REGISTRATION", "DAYS_ID_PUBLISH"):
        assert (frame[name] >= frame["DAYS_BIRTH"]).all(), name


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
# Drift scenarios
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", data.SCENARIOS)
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
    new = frame["NAME_INCOME_TYPE"] == data._NEW_CATEGORY
    assert not base["NAME_INCOME_TYPE"].eq(data._NEW_CATEGORY).any()
    assert 0.08 <= new.mean() <= 0.12
    assert changed_columns(frame, base) <= {
        "NAME_INCOME_TYPE",
        "ORGANIZATION_TYPE",
        "OCCUPATION_TYPE",
        "AMT_INCOME_TOTAL",
    }
    assert (frame.loc[new, "ORGANIZATION_TYPE"] != "XNA").all()
    assert (frame.loc[new, "FLAG_EMP_PHONE"] == 1).all()
    assert frame.loc[new, "OCCUPATION_TYPE"].notna().all()
    assert frame.loc[~new].equals(base.loc[~new])


# ---------------------------------------------------------------------------------------------
# Reading the real CSV
# ---------------------------------------------------------------------------------------------


def test_csv_round_trip(tmp_path: Path) -> None:
    frame = data.generate_applications(2_000, seed=3)
    path = tmp_path / "application_train.csv"
    frame.to_csv(path, index=False)
    pd.testing.assert_frame_equal(data.load_application_csv(path), frame)


def test_csv_extra_columns_are_dropped_and_order_restored(tmp_path: Path) -> None:
    frame = data.generate_applications(500, seed=3)
    path = tmp_path / "shuffled.csv"
    frame[list(reversed(ALL_COLUMNS))].assign(EXTRA=1).to_csv(path, index=False)
    pd.testing.assert_frame_equal(data.load_application_csv(path), frame)


def test_csv_with_missing_columns_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "partial.csv"
    data.generate_applications(200, seed=3).drop(columns=["EXT_SOURCE_2", "FLAG_MOBIL"]).to_csv(path, index=False)
    with pytest.raises(ValueError, match="EXT_SOURCE_2") as error:
        data.load_application_csv(path)
    assert "FLAG_MOBIL" in str(error.value)


def test_csv_with_missing_integer_values_is_rejected(tmp_path: Path) -> None:
    frame = data.generate_applications(200, seed=3)
    frame["CNT_CHILDREN"] = frame["CNT_CHILDREN"].astype("float64")
    frame.loc[0, "CNT_CHILDREN"] = np.nan
    path = tmp_path / "holes.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(ValueError, match="CNT_CHILDREN"):
        data.load_application_csv(path)
