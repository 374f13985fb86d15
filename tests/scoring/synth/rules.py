"""What every generated frame must satisfy, shared by the generator's tests: the schema, the hard
bounds and the structural rules of the real `application_train` file."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.schema import (
    ALL_COLUMNS,
    BUILDING_MEASURES,
    BUREAU_COLUMNS,
    DAYS_EMPLOYED_PENSIONER,
    DAYS_PER_YEAR,
    FIELDS,
    NUMERIC,
    RAW_COLUMNS,
    SOCIAL_CIRCLE_COLUMNS,
)

N_ROWS = 50_000
N_STREAM = 20_000


def age_years(frame: pd.DataFrame) -> pd.Series:
    return -frame["DAYS_BIRTH"] / DAYS_PER_YEAR


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
    for block in (list(BUREAU_COLUMNS), list(SOCIAL_CIRCLE_COLUMNS)):
        mask = frame[block].isna()
        assert (mask.any(axis=1) == mask.all(axis=1)).all(), block
    for measure in BUILDING_MEASURES:
        mask = frame[[f"{measure}_{stat}" for stat in ("AVG", "MODE", "MEDI")]].isna()
        assert (mask.any(axis=1) == mask.all(axis=1)).all(), measure
    for name in ("DAYS_REGISTRATION", "DAYS_ID_PUBLISH"):
        assert (frame[name] >= frame["DAYS_BIRTH"]).all(), name
