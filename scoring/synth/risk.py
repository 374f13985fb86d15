"""The risk model behind TARGET: the log-odds of default of each generated applicant."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

import numpy as np

from scoring.schema import FIELDS
from scoring.synth.calibration import Columns, Traits, load_profile

_INTERCEPT = -3.06
_EXT_SOURCE_WEIGHTS = {"EXT_SOURCE_1": -0.41, "EXT_SOURCE_2": -0.50, "EXT_SOURCE_3": -0.55}
_AGE_WEIGHTS = (0.30, 0.06)  # below / above the mean age
_CATEGORY_EFFECTS: dict[str, dict[str, float]] = {
    "CODE_GENDER": {"M": 0.5},
    "NAME_INCOME_TYPE": {
        "Working": 0.12,
        "Commercial associate": -0.17,
        "State servant": -0.3,
        "Pensioner": 0.3,
    },
    "NAME_EDUCATION_TYPE": {
        "Lower secondary": 0.35,
        "Incomplete higher": -0.15,
        "Higher education": -0.35,
        "Academic degree": -0.9,
    },
    "NAME_FAMILY_STATUS": {"Single / not married": 0.15, "Civil marriage": 0.12, "Separated": 0.05},
    "NAME_HOUSING_TYPE": {
        "Rented apartment": 0.4,
        "Municipal apartment": 0.25,
        "With parents": 0.1,
        "Office apartment": -0.4,
        "Co-op apartment": -0.1,
    },
    "NAME_CONTRACT_TYPE": {"Revolving loans": -0.45},
    "FLAG_OWN_CAR": {"Y": -0.15},
}


def _category_effect(c: Columns, name: str, effects: Mapping[str, float]) -> np.ndarray:
    lookup = np.zeros(len(FIELDS[name].categories) + 1)  # the last slot serves code -1 (missing)
    for label, effect in effects.items():
        lookup[FIELDS[name].categories.index(label)] = effect
    return lookup[c[name]]


@cache
def _shrunk_effects(name: str, strength: float = 150.0) -> dict[str, float]:
    """Log-odds effects of an employer sector or occupation from the 5k-sample default rates, shrunk
    towards the overall rate in proportion to how few rows each rate rests on."""
    sample = load_profile()["default_rates"]["sample"][name]
    overall = load_profile()["default_rate"]
    effects = {}
    for label, entry in sample.items():
        rate = (entry["rate"] * entry["n"] + overall * strength) / (entry["n"] + strength)
        effects[label] = float(np.log(rate / (1 - rate)) - np.log(overall / (1 - overall)))
    return effects


def risk_logit(c: Columns, traits: Traits) -> np.ndarray:
    """Log-odds of default. The bureau scores carry most of the signal; age, work, region, loan
    terms and the household add the rest (weights tuned against the published default rates and
    the application-only AUC of about 0.76)."""
    # Age also acts through the scores (EXT_SOURCE_1 mostly); this direct term bends the total
    # effect so the default rate by age band follows the published curve.
    age_z = traits["A"]
    logit = _INTERCEPT + _AGE_WEIGHTS[0] * np.minimum(age_z, 0.0) + _AGE_WEIGHTS[1] * np.maximum(age_z, 0.0)
    for name, weight in _EXT_SOURCE_WEIGHTS.items():
        logit = logit + weight * traits[name]
    for name, effects in _CATEGORY_EFFECTS.items():
        logit = logit + _category_effect(c, name, effects)
    logit = logit + _category_effect(c, "OCCUPATION_TYPE", _shrunk_effects("OCCUPATION_TYPE"))
    logit = logit + _category_effect(c, "ORGANIZATION_TYPE", _shrunk_effects("ORGANIZATION_TYPE"))
    logit = logit + np.array([0.0, -0.35, 0.0, 0.55])[traits["rating"]]
    logit = logit + 0.3 * c["REG_CITY_NOT_LIVE_CITY"] + 0.15 * c["REG_CITY_NOT_WORK_CITY"]
    employed = np.where(traits["pensioner"], 0.0, c["DAYS_EMPLOYED"] / c["DAYS_BIRTH"])
    logit = logit - 1.8 * employed
    # Mid-length cash loans (a yearly payment near 5% of the credit) default most.
    rate = traits["payment_rate"]
    logit = logit + 0.45 * np.where(traits["revolving"], 0.0, np.exp(-(((rate - 0.05) / 0.012) ** 2)))
    logit = logit - 2.5 * np.where(traits["revolving"], 0.0, traits["goods_share"] - 0.9)
    logit = (
        logit
        + 0.15 * traits["building_missing"]
        - 0.1 * np.where(traits["building_missing"], 0.0, traits["building_size"])
    )
    logit = logit + 0.15 * c["FLAG_DOCUMENT_3"] + 0.3 * traits["bureau_missing"]
    logit = logit + 0.12 * np.minimum(traits["def_30"], 4) + 0.05 * c["CNT_CHILDREN"]
    logit = (
        logit
        + 0.25 * traits["EXT_SOURCE_3_missing"]
        + 0.15 * (traits["EXT_SOURCE_3_missing"] & traits["EXT_SOURCE_1_missing"])
    )
    recency = c["DAYS_LAST_PHONE_CHANGE"] / 1000 + c["DAYS_ID_PUBLISH"] / 3000 + c["DAYS_REGISTRATION"] / 5000
    logit = logit + 0.12 * recency - 0.08 * traits["income_z"]
    return logit
