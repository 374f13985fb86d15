"""Work and money: employment, occupation, employer sector, income, the loan and the car."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from scoring.schema import DAYS_EMPLOYED_PENSIONER, DAYS_PER_YEAR, FIELDS
from scoring.synth.calibration import (
    QUANTILE_LEVELS,
    Columns,
    Quantiles,
    Traits,
    choice_by_group,
    fit_conditional,
    load_profile,
    mix,
    quantile_function,
    round_to,
)

_BASE_INCOME_TYPES = ("Working", "Commercial associate", "Pensioner", "State servant")
_HIGHER_EDUCATION = ("Higher education", "Incomplete higher", "Academic degree")


def draw_work(c: Columns, traits: Traits, rng: np.random.Generator, profile: dict[str, Any]) -> None:
    n, pensioner = len(traits["A"]), traits["pensioner"]
    quantiles = profile["numeric"]["DAYS_EMPLOYED"]["quantiles"]
    # Older workers have held their job longer; the age score is centred on the employed, who are
    # younger than the whole population (mean 40.4 years, sd 10.0).
    working_age = (traits["age"] - 40.4) / 10.0
    employed_days = _employment_quantiles(quantiles, profile["days_employed_pensioner_share"]).at(
        ndtr(-mix(rng, (0.6, working_age), (0.2, traits["C"])))
    )
    # Nobody has worked since before their sixteenth birthday.
    employed_days = np.maximum(np.round(employed_days), c["DAYS_BIRTH"] + 16 * DAYS_PER_YEAR).round()
    c["DAYS_EMPLOYED"] = np.where(pensioner, DAYS_EMPLOYED_PENSIONER, np.minimum(employed_days, 0))
    c["FLAG_EMP_PHONE"] = (~pensioner).astype("int64")

    occupation_missing = profile["relationships"]["occupation_missing_by_income_type"]
    by_code = np.array([occupation_missing.get(t, 0.0) for t in FIELDS["NAME_INCOME_TYPE"].categories])
    p_missing = by_code[c["NAME_INCOME_TYPE"]]
    c["OCCUPATION_TYPE"] = np.where(rng.random(n) < p_missing, -1, _draw_occupation(traits, rng))

    organisation = _draw_organisation(c["NAME_INCOME_TYPE"], rng)
    c["ORGANIZATION_TYPE"] = np.where(pensioner, FIELDS["ORGANIZATION_TYPE"].categories.index("XNA"), organisation)


def _employment_quantiles(published: Mapping[str, float], pensioner_share: float) -> Quantiles:
    """Quantiles of DAYS_EMPLOYED among the employed: the published levels count the pensioners'
    365243 as the largest values, so level q of the whole column is level q / (1 - share) here."""
    employed = 1.0 - pensioner_share
    points = [(0.0, published["min"])]
    points += [
        (QUANTILE_LEVELS[k] / employed, v)
        for k, v in published.items()
        if k != "min" and v < 0 and QUANTILE_LEVELS[k] / employed < 1.0
    ]
    points.append((1.0, 0.0))
    levels, values = zip(*points, strict=True)
    return Quantiles(np.array(levels), np.maximum.accumulate(np.array(values)))


# Occupations chosen more often by men (>1) or women (<1), and with a degree (>1) or without (<1).
_OCCUPATION_GENDER = {
    "Laborers": 1.8,
    "Drivers": 12.0,
    "Security staff": 3.0,
    "Low-skill Laborers": 2.0,
    "High skill tech staff": 1.8,
    "IT staff": 2.0,
    "Sales staff": 0.5,
    "Core staff": 0.5,
    "Accountants": 0.15,
    "Medicine staff": 0.2,
    "Cooking staff": 0.4,
    "Cleaning staff": 0.3,
    "Secretaries": 0.15,
    "HR staff": 0.2,
    "Waiters/barmen staff": 0.5,
}
_OCCUPATION_DEGREE = {
    "Managers": 2.5,
    "Core staff": 1.8,
    "Accountants": 2.5,
    "High skill tech staff": 1.6,
    "IT staff": 3.0,
    "HR staff": 2.0,
    "Medicine staff": 1.5,
    "Laborers": 0.45,
    "Drivers": 0.5,
    "Low-skill Laborers": 0.25,
    "Cleaning staff": 0.3,
    "Cooking staff": 0.4,
    "Security staff": 0.4,
    "Waiters/barmen staff": 0.5,
    "Sales staff": 0.8,
}


def _draw_occupation(traits: Traits, rng: np.random.Generator) -> np.ndarray:
    table = _occupation_table()
    cell = traits["male"].astype(int) * 2 + traits["higher_education"].astype(int)
    return choice_by_group(rng, cell, table)


@cache
def _occupation_table() -> np.ndarray:
    profile = load_profile()
    labels = FIELDS["OCCUPATION_TYPE"].categories
    target = np.array([profile["categorical"]["OCCUPATION_TYPE"]["freq"][o] for o in labels])
    gender = np.array([_OCCUPATION_GENDER.get(o, 1.0) for o in labels])
    degree = np.array([_OCCUPATION_DEGREE.get(o, 1.0) for o in labels])
    multipliers = np.stack([np.ones_like(gender), degree, gender, gender * degree])  # F, F+deg, M, M+deg
    male = profile["categorical"]["CODE_GENDER"]["freq"]["M"]
    educated = sum(profile["categorical"]["NAME_EDUCATION_TYPE"]["freq"][e] for e in _HIGHER_EDUCATION)
    shares = np.array([(1 - male) * (1 - educated), (1 - male) * educated, male * (1 - educated), male * educated])
    return fit_conditional(shares, multipliers, target / target.sum())


_PUBLIC_SECTOR = (
    "Government",
    "School",
    "Kindergarten",
    "Medicine",
    "Military",
    "Police",
    "Security Ministries",
    "University",
    "Postal",
    "Emergency",
    "Culture",
    "Religion",
    "Electricity",
    "Housing",
)
_PRIVATE_SECTOR = (
    "Business Entity Type 1",
    "Business Entity Type 2",
    "Business Entity Type 3",
    "Self-employed",
    "Trade: type 1",
    "Trade: type 2",
    "Trade: type 3",
    "Trade: type 7",
    "Realtor",
    "Advertising",
)


def _draw_organisation(income_type: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    table = _organisation_table()
    types = FIELDS["NAME_INCOME_TYPE"].categories
    cell = np.select(
        [income_type == types.index("State servant"), income_type == types.index("Commercial associate")],
        [1, 2],
        default=0,
    )
    return choice_by_group(rng, cell, table)


@cache
def _organisation_table() -> np.ndarray:
    """Employer sector given Working / State servant / Commercial associate (XNA is for pensioners)."""
    profile = load_profile()
    labels = FIELDS["ORGANIZATION_TYPE"].categories
    freq = profile["categorical"]["ORGANIZATION_TYPE"]["freq"]
    target = np.array([0.0 if o == "XNA" else freq[o] for o in labels])
    public = np.array([o in _PUBLIC_SECTOR for o in labels])
    private = np.array([o in _PRIVATE_SECTOR for o in labels])
    multipliers = np.stack([np.ones(len(labels)), np.where(public, 12.0, 0.15), np.where(private, 1.6, 0.7)])
    types = profile["categorical"]["NAME_INCOME_TYPE"]["freq"]
    shares = np.array([types["Working"], types["State servant"], types["Commercial associate"]])
    return fit_conditional(shares / shares.sum(), multipliers, target / target.sum())


def draw_amounts(c: Columns, traits: Traits, rng: np.random.Generator, profile: dict[str, Any]) -> None:
    n = len(traits["A"])
    male_z = (traits["male"] - 0.34) / 0.47
    income_z = mix(rng, (0.55, traits["S"]), (0.3, traits["W"]), (0.15, male_z))
    traits["income_z"] = income_z
    c["AMT_INCOME_TOTAL"] = _income(c["NAME_INCOME_TYPE"], ndtr(income_z), rng, profile)

    categorical, relations = profile["categorical"], profile["relationships"]
    revolving = rng.random(n) < categorical["NAME_CONTRACT_TYPE"]["freq"]["Revolving loans"]
    c["NAME_CONTRACT_TYPE"] = revolving.astype("int64")  # codes: 0 cash, 1 revolving
    loan_u = ndtr(mix(rng, (0.5, income_z)))

    # Revolving lines: round amounts, goods price equal to the limit, a fixed 5% yearly annuity.
    revolving_limit = round_to(
        quantile_function(relations["revolving_loans"]["credit_quantiles"], lower=135_000.0, upper=1_350_000.0).at(
            loan_u
        ),
        45_000.0,
    )
    # Cash loans: the goods price is a round figure; the credit adds insurance and fees on top of
    # it, unless the two are equal.
    cash_credit = quantile_function(relations["cash_loans_credit_quantiles"], lower=45_000.0).at(loan_u)
    goods_share = _goods_share(rng, n, profile)
    goods = np.maximum(round_to(cash_credit * goods_share, 4_500.0), 40_500.0)
    cash_credit = np.where(goods_share == 1.0, goods, np.maximum(np.round(cash_credit * 2.0) / 2.0, goods))
    credit = np.where(revolving, revolving_limit, cash_credit)
    rate = quantile_function(profile["ratio_quantiles"]["ANNUITY_over_CREDIT (PAYMENT_RATE / CREDIT_TERM)"]).at(
        ndtr(mix(rng, (-0.6, (np.log(credit) - 13.0) / 0.7)))
    )  # bigger loans run longer
    rate = np.where(revolving, 0.05, rate)
    c["AMT_CREDIT"] = credit
    c["AMT_ANNUITY"] = np.where(rng.random(n) < 4e-5, np.nan, np.round(credit * rate * 2.0) / 2.0)
    goods_missing = revolving & (rng.random(n) > relations["revolving_loans"]["share_goods_eq_credit"])
    c["AMT_GOODS_PRICE"] = np.where(revolving, np.where(goods_missing, np.nan, credit), goods)
    traits["revolving"], traits["goods_share"], traits["payment_rate"] = revolving, goods / cash_credit, rate

    car_freq = categorical["FLAG_OWN_CAR"]["freq"]["Y"]
    own_car = mix(rng, (0.45, male_z), (0.35, income_z)) > ndtri(1 - car_freq)
    c["FLAG_OWN_CAR"] = own_car.astype("int64")  # codes: 0 N, 1 Y
    car_age = np.round(quantile_function(profile["numeric"]["OWN_CAR_AGE"]["quantiles"], lower=0.0).at(rng.random(n)))
    c["OWN_CAR_AGE"] = np.where(own_car, car_age, np.nan)
    traits["own_car"] = own_car


def _income(income_type: np.ndarray, u: np.ndarray, rng: np.random.Generator, profile: dict[str, Any]) -> np.ndarray:
    """Declared income from its published quantiles for each income type, rounded like the real
    file: almost always to a multiple of 4,500, otherwise to the unit."""
    by_type = profile["relationships"]["income_quantiles_by_income_type"]
    floor = profile["numeric"]["AMT_INCOME_TOTAL"]["quantiles"]["min"]
    income = np.zeros(len(u))
    types = FIELDS["NAME_INCOME_TYPE"].categories
    for name in _BASE_INCOME_TYPES:
        rows = income_type == types.index(name)
        income[rows] = quantile_function(by_type[name], lower=floor).at(u[rows])
    share = profile["relationships"]["amount_granularity"]["AMT_INCOME_TOTAL"]["share_multiple_of_4500"]
    rounded = np.where(rng.random(len(u)) < share, round_to(income, 4_500.0), np.round(income))
    return np.maximum(rounded, floor)


def _goods_share(rng: np.random.Generator, n: int, profile: dict[str, Any]) -> np.ndarray:
    """GOODS / CREDIT for cash loans: 1 for part of the loans, otherwise mostly 0.70-0.97.

    The published quantiles mix both loan kinds; revolving loans are almost all at 1, so the
    cash-loan share at 1 is what remains of the published 35%.
    """
    published = profile["ratio_quantiles"]["GOODS_PRICE_over_CREDIT"]
    revolving = profile["categorical"]["NAME_CONTRACT_TYPE"]["freq"]["Revolving loans"]
    equal = profile["relationships"]["share_goods_price_equal_credit"]
    equal_cash = (equal - revolving) / (1 - revolving)
    below = 1.0 - equal  # share of all loans with GOODS < CREDIT, they hold the lowest levels
    points = (
        [(0.0, 0.60)]
        + [
            (QUANTILE_LEVELS[k] / below, v)
            for k, v in published.items()
            if v < 1.0 and QUANTILE_LEVELS[k] / below < 1.0
        ]
        + [(1.0, 0.97)]
    )
    levels, values = zip(*points, strict=True)
    share = np.interp(rng.random(n), levels, values)
    return np.where(rng.random(n) < equal_cash, 1.0, share)
