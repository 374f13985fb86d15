"""Synthetic Home Credit applications: the data source of the whole project.

There is no real data in this repository, so `generate_applications` draws a population with the
full `application_train` schema, calibrated on the published aggregates kept in
`reference_profile.json` (quantiles, category frequencies, missing rates, default rates, structural
rules). `production_stream` draws fresh applicants from the same population with an optional drift,
and `load_application_csv` reads the real Kaggle file for users who have it.

How the population is built:
- a handful of hidden traits per applicant (age, creditworthiness, socio-economic standing, wealth
  of the region) drive the observed fields through Gaussian copulas, so each column follows its
  published quantiles while keeping the published correlations (EXT_SOURCE_1 with age, income with
  credit, region rating with income...);
- structural rules are applied exactly (pensioner <=> DAYS_EMPLOYED 365243 <=> ORGANIZATION_TYPE
  XNA <=> FLAG_EMP_PHONE 0, family size, revolving-loan annuity, shared missing masks...);
- TARGET is a Bernoulli draw from a logistic model of those traits, tuned so that the default rate,
  the default rates by group and the AUC a LightGBM model can reach match the real data.

Labels seen fewer than ~30 times in the 307,511 real rows (NAME_INCOME_TYPE Unemployed, Student,
Businessman and Maternity leave, NAME_FAMILY_STATUS Unknown, CODE_GENDER XNA) are never drawn for the
base population: nothing can be learnt from so few rows, and a handful of them would only add noise
to the drift reference. They stay valid schema labels; the `new_category` scenario uses one.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, ndtr, ndtri

from scoring.schema import (
    ALL_COLUMNS,
    DAYS_EMPLOYED_PENSIONER,
    DAYS_PER_YEAR,
    FIELDS,
    ID_COLUMN,
    RAW_COLUMNS,
    TARGET_COLUMN,
)

SCENARIOS: tuple[str, ...] = ("none", "income_inflation", "younger_applicants", "bureau_outage", "new_category")

PROFILE_PATH = Path(__file__).with_name("reference_profile.json")

Columns = dict[str, np.ndarray]

# Seed streams: the training set and the production stream never share random draws.
_TRAINING_STREAM, _PRODUCTION_STREAM, _DRIFT_STREAM = 0, 1, 2
# Production ids start far beyond any training id (training ids stay below ~1.2 x n + 100,002).
_PRODUCTION_ID_START = 10_000_000
_PRODUCTION_ID_SPAN = 10**12

_AGE_MEAN, _AGE_SD = 43.94, 11.96  # published age mean/sd in years: standardises age everywhere
_YOUNGER_POWER = 2.25  # younger_applicants: mean age about 8 years lower, median about 10
_INFLATION = 1.4  # income_inflation: nominal incomes grow by 40%
_BUREAU_OUTAGE_MISSING = 0.70  # bureau_outage: share of EXT_SOURCE_3 missing (about 0.20 normally)
_NEW_CATEGORY = "Businessman"
_NEW_CATEGORY_SHARE = 0.10

_BUILDING_MEASURES = (
    "APARTMENTS",
    "BASEMENTAREA",
    "YEARS_BEGINEXPLUATATION",
    "YEARS_BUILD",
    "COMMONAREA",
    "ELEVATORS",
    "ENTRANCES",
    "FLOORSMAX",
    "FLOORSMIN",
    "LANDAREA",
    "LIVINGAPARTMENTS",
    "LIVINGAREA",
    "NONLIVINGAPARTMENTS",
    "NONLIVINGAREA",
)
# How much each building measure follows the building's size (the rest is its own noise); the two
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
_BUREAU_COLUMNS = tuple(f"AMT_REQ_CREDIT_BUREAU_{p}" for p in ("HOUR", "DAY", "WEEK", "MON", "QRT", "YEAR"))
_SOCIAL_COLUMNS = (
    "OBS_30_CNT_SOCIAL_CIRCLE",
    "DEF_30_CNT_SOCIAL_CIRCLE",
    "OBS_60_CNT_SOCIAL_CIRCLE",
    "DEF_60_CNT_SOCIAL_CIRCLE",
)
_DOCUMENTS = tuple(f"FLAG_DOCUMENT_{i}" for i in range(2, 22))
_BASE_INCOME_TYPES = ("Working", "Commercial associate", "Pensioner", "State servant")
_HIGHER_EDUCATION = ("Higher education", "Incomplete higher", "Academic degree")

_QUANTILE_LEVELS = {
    "min": 0.0,
    "p01": 0.01,
    "p05": 0.05,
    "p10": 0.10,
    "p25": 0.25,
    "p50": 0.50,
    "p75": 0.75,
    "p90": 0.90,
    "p95": 0.95,
    "p99": 0.99,
    "max": 1.0,
}


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def generate_applications(n_rows: int = 307_511, *, seed: int = 0) -> pd.DataFrame:
    """A training population of `n_rows` applications with TARGET, like `application_train.csv`."""
    rng = np.random.default_rng([seed, _TRAINING_STREAM])
    columns = _simulate(n_rows, rng)
    span = max(int(n_rows * 1.16) + 1, 356_254)  # the real ids cover train + test, ~1.16 x train
    ids = 100_002 + np.sort(rng.choice(span, size=n_rows, replace=False))
    return _assemble(ids, columns)


def production_stream(n_rows: int, *, seed: int, scenario: str = "none") -> pd.DataFrame:
    """Fresh applicants of the same population, with TARGET, and the named drift applied.

    The same seed gives the same applicants whatever the scenario, so a drifted batch can be
    compared with its undrifted twin. TARGET comes from the same risk model as in training. Only
    `younger_applicants` changes who applies, and so the realised default rate; the other drifts
    corrupt or relabel inputs after TARGET is drawn (income inflation, bureau outage, new category)
    and leave it untouched, so the model's estimated and realised performance part ways.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; valid scenarios: {', '.join(SCENARIOS)}")
    rng = np.random.default_rng([seed, _PRODUCTION_STREAM])
    columns = _simulate(n_rows, rng, younger=scenario == "younger_applicants")
    drift_rng = np.random.default_rng([seed, _DRIFT_STREAM])
    if scenario == "income_inflation":
        _inflate_income(columns, drift_rng)
    elif scenario == "bureau_outage":
        _bureau_outage(columns, drift_rng)
    elif scenario == "new_category":
        _introduce_new_category(columns, drift_rng)
    ids = _PRODUCTION_ID_START + np.sort(rng.choice(_PRODUCTION_ID_SPAN, size=n_rows, replace=False))
    return _assemble(ids, columns)


def load_application_csv(path: str | Path) -> pd.DataFrame:
    """Read the real `application_train.csv` with the same columns and dtypes as the generator.

    Extra columns are dropped; a missing one is an error that lists them all.
    """
    frame = pd.read_csv(path)
    missing = [name for name in ALL_COLUMNS if name not in frame.columns]
    if missing:
        raise ValueError(f"{path}: {len(missing)} expected column(s) missing: {', '.join(missing)}")
    frame = frame.loc[:, list(ALL_COLUMNS)]
    for name in (ID_COLUMN, TARGET_COLUMN, *RAW_COLUMNS):
        frame[name] = _cast(frame[name], name)
    return frame


def reference_profile() -> dict[str, Any]:
    """The published aggregates the generator is calibrated on (a copy: callers may modify it)."""
    return copy.deepcopy(_profile())


# ---------------------------------------------------------------------------------------------
# Frames and dtypes
# ---------------------------------------------------------------------------------------------


def _kind(name: str) -> str:
    return "int" if name in (ID_COLUMN, TARGET_COLUMN) else FIELDS[name].kind


def _cast(series: pd.Series, name: str) -> pd.Series:
    kind = _kind(name)
    if kind == "category":
        # pandas 3 reads text as `str`; labels are kept as they are and missing stays NaN
        return series.astype("str")
    if kind in ("int", "flag"):
        if series.isna().any():
            raise ValueError(f"column {name} must not have missing values")
        return series.astype("int64")
    return series.astype("float64")


def _assemble(ids: np.ndarray, columns: Columns) -> pd.DataFrame:
    data: dict[str, Any] = {ID_COLUMN: ids.astype("int64"), TARGET_COLUMN: columns[TARGET_COLUMN]}
    for name in RAW_COLUMNS:
        values = columns[name]
        if FIELDS[name].kind == "category":
            labels = np.array([*FIELDS[name].categories, np.nan], dtype=object)
            data[name] = pd.array(labels[values], dtype="str")  # code -1 picks the trailing NaN
        else:
            data[name] = values.astype("int64" if FIELDS[name].kind in ("int", "flag") else "float64")
    return pd.DataFrame(data, columns=list(ALL_COLUMNS))


# ---------------------------------------------------------------------------------------------
# Small sampling tools
# ---------------------------------------------------------------------------------------------


@cache
def _profile() -> dict[str, Any]:
    """The committed profile, read on first use and shared read-only by the generator."""
    return json.loads(PROFILE_PATH.read_text(encoding="utf-8"))


@dataclass(frozen=True, slots=True)
class _Quantiles:
    """A piecewise-linear quantile function through published quantile levels."""

    levels: np.ndarray
    values: np.ndarray

    def at(self, u: np.ndarray) -> np.ndarray:
        return np.interp(u, self.levels, self.values)


def _quantiles(published: Mapping[str, float], *, lower: float | None = None, upper: float | None = None) -> _Quantiles:
    """Quantile function of a column; the published min/max are often single outliers (an income of
    1.17e8), so both ends are pulled in to at most twice the p01-p10 / p90-p99 spread."""
    q = {k: float(v) for k, v in published.items() if k in _QUANTILE_LEVELS}
    low_end = q["p01"] - 2.0 * (q["p10"] - q["p01"])
    high_end = q["p99"] + 2.0 * (q["p99"] - q["p90"])
    q["min"] = max(q.get("min", low_end), low_end)
    q["max"] = min(q.get("max", high_end), high_end)
    if lower is not None:
        q["min"] = max(q["min"], lower)
    if upper is not None:
        q["max"] = min(q["max"], upper)
    keys = sorted(q, key=_QUANTILE_LEVELS.__getitem__)
    values = np.maximum.accumulate(np.array([q[k] for k in keys]))
    return _Quantiles(np.array([_QUANTILE_LEVELS[k] for k in keys]), values)


def _choice(rng: np.random.Generator, n: int, probs: Sequence[float]) -> np.ndarray:
    """Category codes drawn with the given (not necessarily normalised) probabilities."""
    cumulative = np.cumsum(np.asarray(probs, dtype=float))
    return np.searchsorted(cumulative / cumulative[-1], rng.random(n), side="right").clip(0, len(probs) - 1)


def _choice_by_group(rng: np.random.Generator, groups: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Category codes where row i uses the probability row `table[groups[i]]`."""
    cumulative = np.cumsum(table, axis=1)
    cumulative /= cumulative[:, -1:]
    u = rng.random(len(groups))
    codes = (u[:, None] >= cumulative[groups]).sum(axis=1)
    return codes.clip(0, table.shape[1] - 1)


def _ordinal(z: np.ndarray, freqs: Sequence[float]) -> np.ndarray:
    """Ordered codes from a standard-normal score, cut so the codes have the given frequencies."""
    cumulative = np.cumsum(np.asarray(freqs, dtype=float))
    return np.searchsorted(ndtri(cumulative[:-1] / cumulative[-1]), z)


def _mix(rng: np.random.Generator, *terms: tuple[float, np.ndarray]) -> np.ndarray:
    """A standard-normal score: the weighted terms plus independent noise for the remaining variance."""
    total = sum(weight * value for weight, value in terms)
    rest = 1.0 - sum(weight**2 for weight, _ in terms)
    return total + np.sqrt(max(rest, 0.0)) * rng.standard_normal(len(terms[0][1]))


def _codes(name: str, labels: Sequence[str]) -> list[int]:
    categories = FIELDS[name].categories
    return [categories.index(label) for label in labels]


def _fit_conditional(cell_shares: np.ndarray, multipliers: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-cell category probabilities proportional to base x multiplier whose mixture over the cells
    matches `target`: the dependence is added without moving the published marginal."""
    base = target.copy()
    for _ in range(60):
        table = base * multipliers
        table /= table.sum(axis=1, keepdims=True)
        base *= target / np.maximum(cell_shares @ table, 1e-12)
    table = base * multipliers
    return table / table.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------------------------------------
# The population
# ---------------------------------------------------------------------------------------------


def _simulate(n: int, rng: np.random.Generator, *, younger: bool = False) -> Columns:
    """All columns (categoricals as codes, -1 = missing) plus TARGET, for n applicants."""
    profile = _profile()
    c: Columns = {}
    traits = _draw_person(c, n, rng, profile, younger=younger)
    _draw_household(c, traits, rng, profile)
    _draw_region(c, traits, rng, profile)
    _draw_work(c, traits, rng, profile)
    _draw_amounts(c, traits, rng, profile)
    _draw_dates_and_contacts(c, traits, rng, profile)
    _draw_external_scores(c, traits, rng, profile)
    _draw_building(c, traits, rng, profile)
    _draw_social_and_bureau(c, traits, rng, profile)
    c[TARGET_COLUMN] = (rng.random(n) < expit(_risk_logit(c, traits))).astype("int64")
    return c


def _draw_person(
    c: Columns, n: int, rng: np.random.Generator, profile: dict[str, Any], *, younger: bool
) -> dict[str, np.ndarray]:
    numeric, categorical = profile["numeric"], profile["categorical"]
    u_age = rng.random(n)
    if younger:
        # DAYS_BIRTH ascends, so pushing the quantile level up makes everyone younger while the
        # ages stay within the published range
        u_age = 1.0 - (1.0 - u_age) ** _YOUNGER_POWER
    days_birth = np.round(_quantiles(numeric["DAYS_BIRTH"]["quantiles"], upper=-18 * DAYS_PER_YEAR).at(u_age))
    age = -days_birth / DAYS_PER_YEAR
    traits = {
        "age": age,
        "A": (age - _AGE_MEAN) / _AGE_SD,
        "C": rng.standard_normal(n),  # creditworthiness, never observed directly
    }
    traits["S"] = _mix(rng, (0.3, traits["C"]))  # socio-economic standing, a little tied to credit
    c["DAYS_BIRTH"] = days_birth

    pensioner = rng.random(n) < _pensioner_probability(age)
    freq = categorical["NAME_INCOME_TYPE"]["freq"]
    working_types = ("Working", "Commercial associate", "State servant")
    drawn = np.array(_codes("NAME_INCOME_TYPE", working_types))[_choice(rng, n, [freq[t] for t in working_types])]
    c["NAME_INCOME_TYPE"] = np.where(pensioner, FIELDS["NAME_INCOME_TYPE"].categories.index("Pensioner"), drawn)
    traits["pensioner"] = pensioner

    gender_freq = categorical["CODE_GENDER"]["freq"]
    male = rng.random(n) < gender_freq["M"] / (gender_freq["M"] + gender_freq["F"])
    c["CODE_GENDER"] = np.where(male, _codes("CODE_GENDER", ["M"])[0], _codes("CODE_GENDER", ["F"])[0])
    traits["male"] = male

    education_order = (
        "Lower secondary",
        "Secondary / secondary special",
        "Incomplete higher",
        "Higher education",
        "Academic degree",
    )
    education_freq = categorical["NAME_EDUCATION_TYPE"]["freq"]
    level = _ordinal(_mix(rng, (0.65, traits["S"])), [education_freq[e] for e in education_order])
    c["NAME_EDUCATION_TYPE"] = np.array(_codes("NAME_EDUCATION_TYPE", education_order))[level]
    traits["higher_education"] = level >= 2
    return traits


def _pensioner_probability(age: np.ndarray) -> np.ndarray:
    # Retirement starts in the mid-fifties; a few younger applicants draw an invalidity pension.
    # Tuned so 18.0% of the base population are pensioners, with a median age near 60.
    return 0.01 + 0.95 * expit((age - 57.2) / 2.3)


def _draw_household(
    c: Columns, traits: dict[str, np.ndarray], rng: np.random.Generator, profile: dict[str, Any]
) -> None:
    categorical, numeric = profile["categorical"], profile["numeric"]
    n, age_z = len(traits["A"]), traits["A"]
    statuses = ("Married", "Single / not married", "Civil marriage", "Separated", "Widow")
    freq = categorical["NAME_FAMILY_STATUS"]["freq"]
    # Younger applicants are more often single or in a civil marriage, older ones widowed.
    slopes = np.array([0.0, -1.1, -0.5, 0.1, 1.9])
    status = _choice_by_age(rng, age_z, np.array([freq[s] for s in statuses]), slopes)
    c["NAME_FAMILY_STATUS"] = np.array(_codes("NAME_FAMILY_STATUS", statuses))[status]
    couple = (status == 0) | (status == 2)  # Married and Civil marriage live as a couple

    child_freq = numeric["CNT_CHILDREN"]["value_freq"]
    values = np.array(sorted(int(k) for k in child_freq))
    child_probs = np.array([child_freq[str(v)] for v in values])
    children = values[_ordinal_by_score(rng, _parenting_score(traits["age"]), child_probs)]
    c["CNT_CHILDREN"] = children
    c["CNT_FAM_MEMBERS"] = (children + np.where(couple, 2, 1)).astype(float)

    housing = FIELDS["NAME_HOUSING_TYPE"].categories
    housing_freq = categorical["NAME_HOUSING_TYPE"]["freq"]
    younger = {"With parents": -1.4, "Rented apartment": -0.5}  # age shift of the label's odds
    house = _choice_by_age(
        rng, age_z, np.array([housing_freq[h] for h in housing]), np.array([younger.get(h, 0.0) for h in housing])
    )
    c["NAME_HOUSING_TYPE"] = np.array(_codes("NAME_HOUSING_TYPE", housing))[house]

    suite_freq = categorical["NAME_TYPE_SUITE"]
    labels = FIELDS["NAME_TYPE_SUITE"].categories
    suite = _choice(rng, n, [suite_freq["freq"][s] for s in labels])
    c["NAME_TYPE_SUITE"] = np.where(rng.random(n) < suite_freq["missing_rate"], -1, suite)

    # Older and better-off applicants own their home more often.
    realty = _mix(rng, (0.3, age_z), (0.2, traits["S"])) > ndtri(categorical["FLAG_OWN_REALTY"]["freq"]["N"])
    c["FLAG_OWN_REALTY"] = np.where(realty, _codes("FLAG_OWN_REALTY", ["Y"])[0], _codes("FLAG_OWN_REALTY", ["N"])[0])


def _choice_by_age(rng: np.random.Generator, age_z: np.ndarray, freqs: np.ndarray, slopes: np.ndarray) -> np.ndarray:
    """Categories whose log-odds move linearly with standardised age, with intercepts fitted on the
    base age distribution so the marginal frequencies stay the published ones."""
    intercepts = _age_intercepts(tuple(freqs), tuple(slopes))
    logits = intercepts[None, :] + age_z[:, None] * slopes[None, :]
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    cumulative = np.cumsum(probs, axis=1)
    u = rng.random(len(age_z)) * cumulative[:, -1]
    return (u[:, None] >= cumulative).sum(axis=1).clip(0, len(freqs) - 1)


@cache
def _base_age_grid() -> np.ndarray:
    """Standardised ages at 2,000 evenly spaced quantile levels of the base population."""
    published = _profile()["numeric"]["DAYS_BIRTH"]["quantiles"]
    days = _quantiles(published, upper=-18 * DAYS_PER_YEAR).at((np.arange(2000) + 0.5) / 2000)
    return (-days / DAYS_PER_YEAR - _AGE_MEAN) / _AGE_SD


@cache
def _age_intercepts(freqs: tuple[float, ...], slopes: tuple[float, ...]) -> np.ndarray:
    target = np.array(freqs) / sum(freqs)
    slope = np.array(slopes)
    intercepts = np.log(target)
    grid = _base_age_grid()
    for _ in range(200):
        logits = intercepts[None, :] + grid[:, None] * slope[None, :]
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        intercepts += np.log(target / probs.mean(axis=0))
    return intercepts


def _parenting_score(age: np.ndarray) -> np.ndarray:
    """Log-odds shift of having children at home: highest in the mid-thirties."""
    return 1.6 * (np.exp(-(((age - 35.0) / 9.0) ** 2)) - 0.5)


def _ordinal_by_score(rng: np.random.Generator, score: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """Ordered codes from score + logistic noise, with cut points fitted on the base population."""
    cuts = _ordinal_cuts(tuple(freqs))
    noise = rng.logistic(size=len(score))
    return np.searchsorted(cuts, score + noise)


@cache
def _ordinal_cuts(freqs: tuple[float, ...]) -> np.ndarray:
    # Cut points for the children count, whose score is a bump of age (see _draw_household).
    age = _base_age_grid() * _AGE_SD + _AGE_MEAN
    score = _parenting_score(age)
    cumulative = np.cumsum(np.array(freqs) / sum(freqs))[:-1]
    cuts = []
    for level in cumulative:
        low, high = -20.0, 20.0
        for _ in range(60):
            mid = (low + high) / 2
            if expit(mid - score).mean() < level:
                low = mid
            else:
                high = mid
        cuts.append((low + high) / 2)
    return np.array(cuts)


def _draw_region(c: Columns, traits: dict[str, np.ndarray], rng: np.random.Generator, profile: dict[str, Any]) -> None:
    values, probs, wealth = _regions()
    region = _choice(rng, len(traits["A"]), probs)
    c["REGION_POPULATION_RELATIVE"] = values[region]
    traits["W"] = wealth[region]
    # The rating is mostly a property of the region; richer regions are rated better (1).
    rating_freq = profile["numeric"]["REGION_RATING_CLIENT"]["value_freq"]
    rating = 1 + _ordinal(-_mix(rng, (0.85, traits["W"])), [rating_freq[k] for k in ("1", "2", "3")])
    c["REGION_RATING_CLIENT"] = rating
    c["REGION_RATING_CLIENT_W_CITY"] = _rating_with_city(rating, rng, profile)
    traits["rating"] = rating


@cache
def _regions() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The discrete REGION_POPULATION_RELATIVE values, their shares and each region's wealth score.

    The 15 most frequent published values keep their shares; 64 more regions fill the rest of the
    published distribution. Wealth is a fixed region property: mostly its population rank.
    """
    profile = _profile()
    top = profile["relationships"]["region_population_relative_top_values"]
    top_values = np.array([float(v) for v in top])
    top_shares = np.array(list(top.values()))
    fn = _quantiles(profile["numeric"]["REGION_POPULATION_RELATIVE"]["quantiles"])
    grid = np.linspace(fn.values[0], fn.values[-1], 4001)
    overall = np.interp(grid, fn.values, fn.levels)
    from_top = (top_shares[None, :] * (top_values[None, :] <= grid[:, None])).sum(axis=1)
    rest = np.maximum.accumulate(np.clip(overall - from_top, 0.0, None))
    rest /= rest[-1]
    n_rest = 64
    rest_values = np.interp((np.arange(n_rest) + 0.5) / n_rest, rest, grid).round(6)
    values = np.concatenate([top_values, rest_values])
    shares = np.concatenate([top_shares, np.full(n_rest, (1.0 - top_shares.sum()) / n_rest)])
    rank = np.argsort(np.argsort(values)) / (len(values) - 1)
    fixed = np.random.default_rng(20180517).standard_normal(len(values))  # regions do not change
    wealth = 0.8 * ndtri(0.02 + 0.96 * rank) + 0.6 * fixed
    wealth = (wealth - shares @ wealth) / np.sqrt(shares @ (wealth - shares @ wealth) ** 2)
    return values, shares, wealth


def _rating_with_city(rating: np.ndarray, rng: np.random.Generator, profile: dict[str, Any]) -> np.ndarray:
    """The city-adjusted rating is never worse than the region's; the mix follows the published
    cross-table (keys: city rating -> region rating -> count)."""
    crosstab = profile["relationships"]["region_rating_w_city_by_rating"]
    table = np.zeros((4, 4))
    for city, by_region in crosstab.items():
        for region, count in by_region.items():
            table[int(region), int(city)] = count
    table[0, 1] = 1.0  # unused row, keeps the table well formed
    return _choice_by_group(rng, rating, table[:, 1:]) + 1


def _draw_work(c: Columns, traits: dict[str, np.ndarray], rng: np.random.Generator, profile: dict[str, Any]) -> None:
    n, pensioner = len(traits["A"]), traits["pensioner"]
    quantiles = profile["numeric"]["DAYS_EMPLOYED"]["quantiles"]
    # Older workers have held their job longer; the age score is centred on the employed, who are
    # younger than the whole population (mean 40.4 years, sd 10.0).
    working_age = (traits["age"] - 40.4) / 10.0
    employed_days = _employment_quantiles(quantiles, profile["days_employed_pensioner_share"]).at(
        ndtr(-_mix(rng, (0.6, working_age), (0.2, traits["C"])))
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


def _employment_quantiles(published: Mapping[str, float], pensioner_share: float) -> _Quantiles:
    """Quantiles of DAYS_EMPLOYED among the employed: the published levels count the pensioners'
    365243 as the largest values, so level q of the whole column is level q / (1 - share) here."""
    employed = 1.0 - pensioner_share
    points = [(0.0, published["min"])]
    points += [
        (_QUANTILE_LEVELS[k] / employed, v)
        for k, v in published.items()
        if k != "min" and v < 0 and _QUANTILE_LEVELS[k] / employed < 1.0
    ]
    points.append((1.0, 0.0))
    levels, values = zip(*points, strict=True)
    return _Quantiles(np.array(levels), np.maximum.accumulate(np.array(values)))


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


def _draw_occupation(traits: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    table = _occupation_table()
    cell = traits["male"].astype(int) * 2 + traits["higher_education"].astype(int)
    return _choice_by_group(rng, cell, table)


@cache
def _occupation_table() -> np.ndarray:
    profile = _profile()
    labels = FIELDS["OCCUPATION_TYPE"].categories
    target = np.array([profile["categorical"]["OCCUPATION_TYPE"]["freq"][o] for o in labels])
    gender = np.array([_OCCUPATION_GENDER.get(o, 1.0) for o in labels])
    degree = np.array([_OCCUPATION_DEGREE.get(o, 1.0) for o in labels])
    multipliers = np.stack([np.ones_like(gender), degree, gender, gender * degree])  # F, F+deg, M, M+deg
    male = profile["categorical"]["CODE_GENDER"]["freq"]["M"]
    educated = sum(profile["categorical"]["NAME_EDUCATION_TYPE"]["freq"][e] for e in _HIGHER_EDUCATION)
    shares = np.array([(1 - male) * (1 - educated), (1 - male) * educated, male * (1 - educated), male * educated])
    return _fit_conditional(shares, multipliers, target / target.sum())


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
    return _choice_by_group(rng, cell, table)


@cache
def _organisation_table() -> np.ndarray:
    """Employer sector given Working / State servant / Commercial associate (XNA is for pensioners)."""
    profile = _profile()
    labels = FIELDS["ORGANIZATION_TYPE"].categories
    freq = profile["categorical"]["ORGANIZATION_TYPE"]["freq"]
    target = np.array([0.0 if o == "XNA" else freq[o] for o in labels])
    public = np.array([o in _PUBLIC_SECTOR for o in labels])
    private = np.array([o in _PRIVATE_SECTOR for o in labels])
    multipliers = np.stack([np.ones(len(labels)), np.where(public, 12.0, 0.15), np.where(private, 1.6, 0.7)])
    types = profile["categorical"]["NAME_INCOME_TYPE"]["freq"]
    shares = np.array([types["Working"], types["State servant"], types["Commercial associate"]])
    return _fit_conditional(shares / shares.sum(), multipliers, target / target.sum())


def _round_to(values: np.ndarray, step: float) -> np.ndarray:
    return np.round(values / step) * step


def _draw_amounts(c: Columns, traits: dict[str, np.ndarray], rng: np.random.Generator, profile: dict[str, Any]) -> None:
    n = len(traits["A"])
    male_z = (traits["male"] - 0.34) / 0.47
    income_z = _mix(rng, (0.55, traits["S"]), (0.3, traits["W"]), (0.15, male_z))
    traits["income_z"] = income_z
    c["AMT_INCOME_TOTAL"] = _income(c["NAME_INCOME_TYPE"], ndtr(income_z), rng, profile)

    categorical, relations = profile["categorical"], profile["relationships"]
    revolving = rng.random(n) < categorical["NAME_CONTRACT_TYPE"]["freq"]["Revolving loans"]
    c["NAME_CONTRACT_TYPE"] = revolving.astype("int64")  # codes: 0 cash, 1 revolving
    loan_u = ndtr(_mix(rng, (0.5, income_z)))

    # Revolving lines: round amounts, goods price equal to the limit, a fixed 5% yearly annuity.
    revolving_limit = _round_to(
        _quantiles(relations["revolving_loans"]["credit_quantiles"], lower=135_000.0, upper=1_350_000.0).at(loan_u),
        45_000.0,
    )
    # Cash loans: the goods price is a round figure; the credit adds insurance and fees on top of
    # it, unless the two are equal.
    cash_credit = _quantiles(relations["cash_loans_credit_quantiles"], lower=45_000.0).at(loan_u)
    goods_share = _goods_share(rng, n, profile)
    goods = np.maximum(_round_to(cash_credit * goods_share, 4_500.0), 40_500.0)
    cash_credit = np.where(goods_share == 1.0, goods, np.maximum(np.round(cash_credit * 2.0) / 2.0, goods))
    credit = np.where(revolving, revolving_limit, cash_credit)
    rate = _quantiles(profile["ratio_quantiles"]["ANNUITY_over_CREDIT (PAYMENT_RATE / CREDIT_TERM)"]).at(
        ndtr(_mix(rng, (-0.6, (np.log(credit) - 13.0) / 0.7)))
    )  # bigger loans run longer
    rate = np.where(revolving, 0.05, rate)
    c["AMT_CREDIT"] = credit
    c["AMT_ANNUITY"] = np.where(rng.random(n) < 4e-5, np.nan, np.round(credit * rate * 2.0) / 2.0)
    goods_missing = revolving & (rng.random(n) > relations["revolving_loans"]["share_goods_eq_credit"])
    c["AMT_GOODS_PRICE"] = np.where(revolving, np.where(goods_missing, np.nan, credit), goods)
    traits["revolving"], traits["goods_share"], traits["payment_rate"] = revolving, goods / cash_credit, rate

    car_freq = categorical["FLAG_OWN_CAR"]["freq"]["Y"]
    own_car = _mix(rng, (0.45, male_z), (0.35, income_z)) > ndtri(1 - car_freq)
    c["FLAG_OWN_CAR"] = own_car.astype("int64")  # codes: 0 N, 1 Y
    car_age = np.round(_quantiles(profile["numeric"]["OWN_CAR_AGE"]["quantiles"], lower=0.0).at(rng.random(n)))
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
        income[rows] = _quantiles(by_type[name], lower=floor).at(u[rows])
    share = profile["relationships"]["amount_granularity"]["AMT_INCOME_TOTAL"]["share_multiple_of_4500"]
    rounded = np.where(rng.random(len(u)) < share, _round_to(income, 4_500.0), np.round(income))
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
            (_QUANTILE_LEVELS[k] / below, v)
            for k, v in published.items()
            if v < 1.0 and _QUANTILE_LEVELS[k] / below < 1.0
        ]
        + [(1.0, 0.97)]
    )
    levels, values = zip(*points, strict=True)
    share = np.interp(rng.random(n), levels, values)
    return np.where(rng.random(n) < equal_cash, 1.0, share)


def _draw_dates_and_contacts(
    c: Columns, traits: dict[str, np.ndarray], rng: np.random.Generator, profile: dict[str, Any]
) -> None:
    numeric, n, age_z = profile["numeric"], len(traits["A"]), traits["A"]
    birth = c["DAYS_BIRTH"]
    # Older applicants changed registration, identity papers and phone longer ago.
    registration = _quantiles(numeric["DAYS_REGISTRATION"]["quantiles"], upper=0.0).at(ndtr(_mix(rng, (-0.35, age_z))))
    c["DAYS_REGISTRATION"] = np.maximum(np.round(registration), birth)
    id_publish = _quantiles(numeric["DAYS_ID_PUBLISH"]["quantiles"], upper=0.0).at(ndtr(_mix(rng, (-0.3, age_z))))
    c["DAYS_ID_PUBLISH"] = np.maximum(np.round(id_publish), birth + 14 * DAYS_PER_YEAR).round()
    phone = _quantiles(numeric["DAYS_LAST_PHONE_CHANGE"]["quantiles"], upper=0.0).at(ndtr(_mix(rng, (-0.1, age_z))))
    c["DAYS_LAST_PHONE_CHANGE"] = np.round(phone)

    hour_freq = numeric["HOUR_APPR_PROCESS_START"]["value_freq"]
    hours = np.array([int(h) for h in hour_freq])
    c["HOUR_APPR_PROCESS_START"] = hours[_choice(rng, n, list(hour_freq.values()))]
    weekday_freq = profile["categorical"]["WEEKDAY_APPR_PROCESS_START"]["freq"]
    c["WEEKDAY_APPR_PROCESS_START"] = _choice(
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
    means = np.array([profile["numeric"][d]["mean"] for d in _DOCUMENTS])
    chosen = _choice(rng, len(c["DAYS_BIRTH"]), [*means, max(1.0 - means.sum(), 0.0)])
    for index, name in enumerate(_DOCUMENTS):
        c[name] = (chosen == index).astype("int64")


def _draw_external_scores(
    c: Columns, traits: dict[str, np.ndarray], rng: np.random.Generator, profile: dict[str, Any]
) -> None:
    """EXT_SOURCE_1..3: scores from three bureaus, each a noisy view of creditworthiness; the first
    leans heavily on age (r = 0.60). Weights solved from the published correlation matrix."""
    age_z, credit = traits["A"], traits["C"]
    scores = {
        "EXT_SOURCE_1": _mix(rng, (0.60, age_z), (0.335, credit)),
        "EXT_SOURCE_2": _mix(rng, (0.09, age_z), (0.477, credit)),
        "EXT_SOURCE_3": _mix(rng, (0.205, age_z), (0.191, credit)),
    }
    n = len(age_z)
    es1_missing = rng.random(n) < profile["numeric"]["EXT_SOURCE_1"]["missing_rate"]
    # EXT_SOURCE_3 is missing a little more often when EXT_SOURCE_1 is (published pattern shares).
    es3_missing = rng.random(n) < np.where(es1_missing, 0.215, 0.178)
    es2_missing = rng.random(n) < profile["numeric"]["EXT_SOURCE_2"]["missing_rate"]
    masks = {"EXT_SOURCE_1": es1_missing, "EXT_SOURCE_2": es2_missing, "EXT_SOURCE_3": es3_missing}
    for name, score in scores.items():
        values = _quantiles(profile["numeric"][name]["quantiles"], lower=0.0, upper=1.0).at(ndtr(score))
        c[name] = np.where(masks[name], np.nan, values.round(6))
        traits[name] = score
        traits[name + "_missing"] = masks[name]


def _draw_building(
    c: Columns, traits: dict[str, np.ndarray], rng: np.random.Generator, profile: dict[str, Any]
) -> None:
    """The 47 building columns, known for about half of the applicants. Which ones are known is
    nested (a rarely filled measure is only there when the common ones are), the _AVG/_MODE/_MEDI
    triplet of a measure shares one mask, and the three statistics of a measure nearly agree."""
    numeric, categorical, n = profile["numeric"], profile["categorical"], len(traits["A"])
    depth = ndtr(_mix(rng, (0.3, traits["W"]), (0.2, traits["S"])))  # urban, better-off: better documented
    size, age = rng.standard_normal(n), rng.standard_normal(n)
    traits["building_missing"] = np.ones(n, dtype=bool)
    traits["building_size"] = size
    for measure in _BUILDING_MEASURES:
        present = depth < 1.0 - numeric[f"{measure}_AVG"]["missing_rate"]
        traits["building_missing"] &= ~present
        loading = _BUILDING_SIZE_LOADING[measure]
        z = _mix(rng, (loading, size)) if loading else _mix(rng, (0.8, age))
        for stat, noise in (("AVG", 0.0), ("MEDI", 0.06), ("MODE", 0.22)):
            column = f"{measure}_{stat}"
            jittered = np.sqrt(1 - noise**2) * z + noise * rng.standard_normal(n) if noise else z
            values = _quantiles(numeric[column]["quantiles"], lower=0.0, upper=1.0).at(ndtr(jittered))
            c[column] = np.where(present, values.round(4), np.nan)
    total_present = depth < 1.0 - numeric["TOTALAREA_MODE"]["missing_rate"]
    total = _quantiles(numeric["TOTALAREA_MODE"]["quantiles"], lower=0.0, upper=1.0).at(ndtr(_mix(rng, (0.9, size))))
    c["TOTALAREA_MODE"] = np.where(total_present, total.round(4), np.nan)
    traits["building_missing"] &= ~total_present
    for name in ("FONDKAPREMONT_MODE", "HOUSETYPE_MODE", "WALLSMATERIAL_MODE", "EMERGENCYSTATE_MODE"):
        entry = categorical[name]
        present = depth < 1.0 - entry["missing_rate"]
        codes = _choice(rng, n, [entry["freq"][label] for label in FIELDS[name].categories])
        c[name] = np.where(present, codes, -1)
        traits["building_missing"] &= ~present


def _draw_social_and_bureau(
    c: Columns, traits: dict[str, np.ndarray], rng: np.random.Generator, profile: dict[str, Any]
) -> None:
    numeric, n = profile["numeric"], len(traits["A"])
    observed = _from_value_freq(numeric["OBS_30_CNT_SOCIAL_CIRCLE"]["value_freq"], rng, n)
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
    for name, values in zip(_SOCIAL_COLUMNS, (observed, defaulted, observed_60, defaulted_60), strict=True):
        c[name] = np.where(social_missing, np.nan, values.astype(float))
    traits["def_30"] = np.where(social_missing, 0, defaulted)

    bureau_missing = rng.random(n) < numeric[_BUREAU_COLUMNS[0]]["missing_rate"]
    for name in _BUREAU_COLUMNS:
        values = _from_value_freq(numeric[name]["value_freq"], rng, n)
        c[name] = np.where(bureau_missing, np.nan, values)
    traits["bureau_missing"] = bureau_missing


def _from_value_freq(value_freq: Mapping[str, float], rng: np.random.Generator, n: int) -> np.ndarray:
    values = np.array([float(v) for v in value_freq])
    return values[_choice(rng, n, list(value_freq.values()))]


# ---------------------------------------------------------------------------------------------
# The risk model behind TARGET
# ---------------------------------------------------------------------------------------------

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
    sample = _profile()["default_rates"]["sample"][name]
    overall = _profile()["default_rate"]
    effects = {}
    for label, entry in sample.items():
        rate = (entry["rate"] * entry["n"] + overall * strength) / (entry["n"] + strength)
        effects[label] = float(np.log(rate / (1 - rate)) - np.log(overall / (1 - overall)))
    return effects


def _risk_logit(c: Columns, traits: dict[str, np.ndarray]) -> np.ndarray:
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


# ---------------------------------------------------------------------------------------------
# Drift scenarios applied after the population is drawn
# ---------------------------------------------------------------------------------------------


def _inflate_income(c: Columns, rng: np.random.Generator) -> None:
    inflated = c["AMT_INCOME_TOTAL"] * _INFLATION * rng.uniform(0.95, 1.05, len(c["AMT_INCOME_TOTAL"]))
    c["AMT_INCOME_TOTAL"] = np.maximum(_round_to(inflated, 4_500.0), 4_500.0)


def _bureau_outage(c: Columns, rng: np.random.Generator) -> None:
    values = c["EXT_SOURCE_3"]
    # Knock out enough of the scores still present for the total missing share to reach the target.
    usual = _profile()["numeric"]["EXT_SOURCE_3"]["missing_rate"]
    extra = (_BUREAU_OUTAGE_MISSING - usual) / (1.0 - usual)
    c["EXT_SOURCE_3"] = np.where(rng.random(len(values)) < extra, np.nan, values)


def _introduce_new_category(c: Columns, rng: np.random.Generator) -> None:
    """Relabel ~10% of the employed applicants as businessmen, a label the model never saw, with
    side fields that fit: an employer in business, a manager's job and a higher income."""
    types, orgs = FIELDS["NAME_INCOME_TYPE"].categories, FIELDS["ORGANIZATION_TYPE"].categories
    employed = c["NAME_INCOME_TYPE"] != types.index("Pensioner")
    chosen = employed & (rng.random(len(employed)) < _NEW_CATEGORY_SHARE / max(employed.mean(), 1e-9))
    c["NAME_INCOME_TYPE"] = np.where(chosen, types.index(_NEW_CATEGORY), c["NAME_INCOME_TYPE"])
    business = np.array(
        [orgs.index(o) for o in ("Business Entity Type 3", "Self-employed", "Business Entity Type 2", "Trade: type 7")]
    )
    c["ORGANIZATION_TYPE"] = np.where(
        chosen, business[_choice(rng, len(chosen), [0.5, 0.3, 0.1, 0.1])], c["ORGANIZATION_TYPE"]
    )
    manager = FIELDS["OCCUPATION_TYPE"].categories.index("Managers")
    c["OCCUPATION_TYPE"] = np.where(chosen, manager, c["OCCUPATION_TYPE"])
    c["AMT_INCOME_TOTAL"] = np.where(chosen, _round_to(c["AMT_INCOME_TOTAL"] * 1.5, 4_500.0), c["AMT_INCOME_TOTAL"])
