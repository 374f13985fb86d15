"""The record around the person: dates, contacts and documents, the external bureau scores, the
building, the social circle and the credit-bureau enquiries."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtr

from scoring.schema import (
    BUILDING_CATEGORIES,
    BUILDING_MEASURES,
    BUREAU_COLUMNS,
    DAYS_PER_YEAR,
    DOCUMENT_FLAGS,
    FIELDS,
    SOCIAL_CIRCLE_COLUMNS,
)
from scoring.synth.calibration import Columns, Traits, choice, from_value_freq, mix, quantile_function

# YEARS_* measures follow the building's age instead.
_BUILDING_SIZE_LOADING = {
    "APARTMENTS": 0.9,
    "BASEMENTAREA": 0.5,
    "COMMONAREA": 0.6,
    "ELEVATORS": 0.7,
    "ENTRANCES": 0.6,
    "FLOORSMAX": 0.6,
    "FLOORSMIN": 0.6,
    "LANDAREA": 0.4,
    "LIVINGAPARTMENTS": 0.9,
    "LIVINGAREA": 0.9,
    "NONLIVINGAPARTMENTS": 0.4,
    "NONLIVINGAREA": 0.4,
    "YEARS_BEGINEXPLUATATION": 0.0,
    "YEARS_BUILD": 0.0,
}


def draw_dates_and_contacts(c: Columns, traits: Traits, rng: np.random.Generator, profile: dict[str, Any]) -> None:
    numeric, n, age_z = profile["numeric"], len(traits["A"]), traits["A"]
    birth = c["DAYS_BIRTH"]
    # Older applicants changed registration, identity papers and phone longer ago.
    registration = quantile_function(numeric["DAYS_REGISTRATION"]["quantiles"], upper=0.0).at(
        ndtr(mix(rng, (-0.35, age_z)))
    )
    c["DAYS_REGISTRATION"] = np.maximum(np.round(registration), birth)
    id_publish = quantile_function(numeric["DAYS_ID_PUBLISH"]["quantiles"], upper=0.0).at(ndtr(mix(rng, (-0.3, age_z))))
    c["DAYS_ID_PUBLISH"] = np.maximum(np.round(id_publish), birth + 14 * DAYS_PER_YEAR).round()
    phone = quantile_function(numeric["DAYS_LAST_PHONE_CHANGE"]["quantiles"], upper=0.0).at(
        ndtr(mix(rng, (-0.1, age_z)))
    )
    c["DAYS_LAST_PHONE_CHANGE"] = np.round(phone)

    hour_freq = numeric["HOUR_APPR_PROCESS_START"]["value_freq"]
    hours = np.array([int(h) for h in hour_freq])
    c["HOUR_APPR_PROCESS_START"] = hours[choice(rng, n, list(hour_freq.values()))]
    weekday_freq = profile["categorical"]["WEEKDAY_APPR_PROCESS_START"]["freq"]
    c["WEEKDAY_APPR_PROCESS_START"] = choice(
        rng, n, [weekday_freq[d] for d in FIELDS["WEEKDAY_APPR_PROCESS_START"].categories]
    )

    pensioner = traits["pensioner"]
    c["FLAG_MOBIL"] = np.ones(n, dtype="int64")
    c["FLAG_WORK_PHONE"] = (rng.random(n) < np.where(pensioner, 0.03, 0.237)).astype("int64")
    c["FLAG_CONT_MOBILE"] = (rng.random(n) < numeric["FLAG_CONT_MOBILE"]["mean"]).astype("int64")
    c["FLAG_PHONE"] = (rng.random(n) < np.clip(0.281 + 0.07 * age_z, 0, 1)).astype("int64")
    c["FLAG_EMAIL"] = (rng.random(n) < np.where(traits["higher_education"], 0.09, 0.045)).astype("int64")
    _draw_address_flags(c, pensioner, age_z, rng)
    _draw_documents(c, rng, profile)


def _draw_address_flags(c: Columns, pensioner: np.ndarray, age_z: np.ndarray, rng: np.random.Generator) -> None:
    """Registered / living / work places: a different region implies a different city, and people
    without a job are counted as working where they live."""
    n = len(age_z)
    reg_not_live_city = rng.random(n) < np.clip(0.078 - 0.03 * age_z, 0.01, 1)
    live_not_work_city = ~pensioner & (rng.random(n) < 0.219)
    reg_not_work_city = live_not_work_city | (reg_not_live_city & (rng.random(n) < 0.6))
    reg_not_live_region = reg_not_live_city & (rng.random(n) < 0.19)
    live_not_work_region = live_not_work_city & (rng.random(n) < 0.226)
    reg_not_work_region = live_not_work_region | (reg_not_live_region & (rng.random(n) < 0.7))
    flags = {
        "REG_REGION_NOT_LIVE_REGION": reg_not_live_region,
        "REG_REGION_NOT_WORK_REGION": reg_not_work_region,
        "LIVE_REGION_NOT_WORK_REGION": live_not_work_region,
        "REG_CITY_NOT_LIVE_CITY": reg_not_live_city,
        "REG_CITY_NOT_WORK_CITY": reg_not_work_city,
        "LIVE_CITY_NOT_WORK_CITY": live_not_work_city,
    }
    for name, flag in flags.items():
        c[name] = flag.astype("int64")


def _draw_documents(c: Columns, rng: np.random.Generator, profile: dict[str, Any]) -> None:
    # An application carries one main document at most, so the flags are drawn as one choice
    # (document 3 for 71% of applicants, none for about 7%).
    means = np.array([profile["numeric"][d]["mean"] for d in DOCUMENT_FLAGS])
    chosen = choice(rng, len(c["DAYS_BIRTH"]), [*means, max(1.0 - means.sum(), 0.0)])
    for index, name in enumerate(DOCUMENT_FLAGS):
        c[name] = (chosen == index).astype("int64")


def draw_external_scores(c: Columns, traits: Traits, rng: np.random.Generator, profile: dict[str, Any]) -> None:
    """EXT_SOURCE_1..3: scores from three bureaus, each a noisy view of creditworthiness; the first
    leans heavily on age (r = 0.60). Weights solved from the published correlation matrix."""
    age_z, credit = traits["A"], traits["C"]
    scores = {
        "EXT_SOURCE_1": mix(rng, (0.60, age_z), (0.335, credit)),
        "EXT_SOURCE_2": mix(rng, (0.09, age_z), (0.477, credit)),
        "EXT_SOURCE_3": mix(rng, (0.205, age_z), (0.191, credit)),
    }
    n = len(age_z)
    es1_missing = rng.random(n) < profile["numeric"]["EXT_SOURCE_1"]["missing_rate"]
    # EXT_SOURCE_3 is missing a little more often when EXT_SOURCE_1 is (published pattern shares).
    es3_missing = rng.random(n) < np.where(es1_missing, 0.215, 0.178)
    es2_missing = rng.random(n) < profile["numeric"]["EXT_SOURCE_2"]["missing_rate"]
    masks = {"EXT_SOURCE_1": es1_missing, "EXT_SOURCE_2": es2_missing, "EXT_SOURCE_3": es3_missing}
    for name, score in scores.items():
        values = quantile_function(profile["numeric"][name]["quantiles"], lower=0.0, upper=1.0).at(ndtr(score))
        c[name] = np.where(masks[name], np.nan, values.round(6))
        traits[name] = score
        traits[name + "_missing"] = masks[name]


def draw_building(c: Columns, traits: Traits, rng: np.random.Generator, profile: dict[str, Any]) -> None:
    """The 47 building columns, known for about half of the applicants. Which ones are known is
    nested (a rarely filled measure is only there when the common ones are), the _AVG/_MODE/_MEDI
    triplet of a measure shares one mask, and the three statistics of a measure nearly agree."""
    numeric, categorical, n = profile["numeric"], profile["categorical"], len(traits["A"])
    depth = ndtr(mix(rng, (0.3, traits["W"]), (0.2, traits["S"])))  # urban, better-off: better documented
    size, age = rng.standard_normal(n), rng.standard_normal(n)
    traits["building_missing"] = np.ones(n, dtype=bool)
    traits["building_size"] = size
    for measure in BUILDING_MEASURES:
        present = depth < 1.0 - numeric[f"{measure}_AVG"]["missing_rate"]
        traits["building_missing"] &= ~present
        loading = _BUILDING_SIZE_LOADING[measure]
        z = mix(rng, (loading, size)) if loading else mix(rng, (0.8, age))
        for stat, noise in (("AVG", 0.0), ("MEDI", 0.06), ("MODE", 0.22)):
            column = f"{measure}_{stat}"
            jittered = np.sqrt(1 - noise**2) * z + noise * rng.standard_normal(n) if noise else z
            values = quantile_function(numeric[column]["quantiles"], lower=0.0, upper=1.0).at(ndtr(jittered))
            c[column] = np.where(present, values.round(4), np.nan)
    total_present = depth < 1.0 - numeric["TOTALAREA_MODE"]["missing_rate"]
    total = quantile_function(numeric["TOTALAREA_MODE"]["quantiles"], lower=0.0, upper=1.0).at(
        ndtr(mix(rng, (0.9, size)))
    )
    c["TOTALAREA_MODE"] = np.where(total_present, total.round(4), np.nan)
    traits["building_missing"] &= ~total_present
    for name in BUILDING_CATEGORIES:
        entry = categorical[name]
        present = depth < 1.0 - entry["missing_rate"]
        codes = choice(rng, n, [entry["freq"][label] for label in FIELDS[name].categories])
        c[name] = np.where(present, codes, -1)
        traits["building_missing"] &= ~present


def draw_social_and_bureau(c: Columns, traits: Traits, rng: np.random.Generator, profile: dict[str, Any]) -> None:
    numeric, n = profile["numeric"], len(traits["A"])
    observed = from_value_freq(numeric["OBS_30_CNT_SOCIAL_CIRCLE"]["value_freq"], rng, n)
    # Acquaintances in default are a subset of those observed; the 60-day counts nearly repeat the
    # 30-day ones and never count more defaults.
    defaulted = rng.binomial(observed.astype(int), 0.1)
    # Only a non-zero count can differ, so the published equal share is reached among those.
    social = profile["relationships"]["social_circle_block"]
    zero = numeric["OBS_30_CNT_SOCIAL_CIRCLE"]["value_freq"]["0.0"]
    differ = (1.0 - social["share_OBS30_eq_OBS60"]) / (1.0 - zero)
    observed_60 = np.where(rng.random(n) < differ, np.maximum(observed - 1, 0), observed)
    defaulted_60 = np.minimum(rng.binomial(defaulted, 0.7), observed_60)
    social_missing = rng.random(n) < numeric["OBS_30_CNT_SOCIAL_CIRCLE"]["missing_rate"]
    for name, values in zip(SOCIAL_CIRCLE_COLUMNS, (observed, defaulted, observed_60, defaulted_60), strict=True):
        c[name] = np.where(social_missing, np.nan, values.astype(float))
    traits["def_30"] = np.where(social_missing, 0, defaulted)

    bureau_missing = rng.random(n) < numeric[BUREAU_COLUMNS[0]]["missing_rate"]
    for name in BUREAU_COLUMNS:
        values = from_value_freq(numeric[name]["value_freq"], rng, n)
        c[name] = np.where(bureau_missing, np.nan, values)
    traits["bureau_missing"] = bureau_missing
