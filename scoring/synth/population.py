"""Who applies: the hidden traits, the person, the household and the region, then the whole row.

`simulate` draws every column of n applicants in a fixed order (the order of the random draws is
part of what a seed means), and TARGET last, from the risk model.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
from scipy.special import expit, ndtri

from scoring.schema import DAYS_PER_YEAR, FIELDS, TARGET_COLUMN
from scoring.synth.calibration import (
    Columns,
    Traits,
    choice,
    choice_by_group,
    label_codes,
    load_profile,
    mix,
    ordinal_codes,
    quantile_function,
)
from scoring.synth.records import (
    draw_building,
    draw_dates_and_contacts,
    draw_external_scores,
    draw_social_and_bureau,
)
from scoring.synth.risk import risk_logit
from scoring.synth.scenarios import younger_age_levels
from scoring.synth.work import draw_amounts, draw_work

AGE_MEAN, AGE_SD = 43.94, 11.96  # published age mean/sd in years: standardises age everywhere


def simulate(n: int, rng: np.random.Generator, *, younger: bool = False) -> Columns:
    """All columns (categoricals as codes, -1 = missing) plus TARGET, for n applicants."""
    profile = load_profile()
    c: Columns = {}
    traits = _draw_person(c, n, rng, profile, younger=younger)
    _draw_household(c, traits, rng, profile)
    _draw_region(c, traits, rng, profile)
    draw_work(c, traits, rng, profile)
    draw_amounts(c, traits, rng, profile)
    draw_dates_and_contacts(c, traits, rng, profile)
    draw_external_scores(c, traits, rng, profile)
    draw_building(c, traits, rng, profile)
    draw_social_and_bureau(c, traits, rng, profile)
    c[TARGET_COLUMN] = (rng.random(n) < expit(risk_logit(c, traits))).astype("int64")
    return c


def _draw_person(c: Columns, n: int, rng: np.random.Generator, profile: dict[str, Any], *, younger: bool) -> Traits:
    numeric, categorical = profile["numeric"], profile["categorical"]
    u_age = rng.random(n)
    if younger:
        u_age = younger_age_levels(u_age)
    days_birth = np.round(quantile_function(numeric["DAYS_BIRTH"]["quantiles"], upper=-18 * DAYS_PER_YEAR).at(u_age))
    age = -days_birth / DAYS_PER_YEAR
    traits = {
        "age": age,
        "A": (age - AGE_MEAN) / AGE_SD,
        "C": rng.standard_normal(n),  # creditworthiness, never observed directly
    }
    traits["S"] = mix(rng, (0.3, traits["C"]))  # socio-economic standing, a little tied to credit
    c["DAYS_BIRTH"] = days_birth

    pensioner = rng.random(n) < _pensioner_probability(age)
    freq = categorical["NAME_INCOME_TYPE"]["freq"]
    working_types = ("Working", "Commercial associate", "State servant")
    drawn = np.array(label_codes("NAME_INCOME_TYPE", working_types))[choice(rng, n, [freq[t] for t in working_types])]
    c["NAME_INCOME_TYPE"] = np.where(pensioner, FIELDS["NAME_INCOME_TYPE"].categories.index("Pensioner"), drawn)
    traits["pensioner"] = pensioner

    gender_freq = categorical["CODE_GENDER"]["freq"]
    male = rng.random(n) < gender_freq["M"] / (gender_freq["M"] + gender_freq["F"])
    c["CODE_GENDER"] = np.where(male, label_codes("CODE_GENDER", ["M"])[0], label_codes("CODE_GENDER", ["F"])[0])
    traits["male"] = male

    education_order = (
        "Lower secondary",
        "Secondary / secondary special",
        "Incomplete higher",
        "Higher education",
        "Academic degree",
    )
    education_freq = categorical["NAME_EDUCATION_TYPE"]["freq"]
    level = ordinal_codes(mix(rng, (0.65, traits["S"])), [education_freq[e] for e in education_order])
    c["NAME_EDUCATION_TYPE"] = np.array(label_codes("NAME_EDUCATION_TYPE", education_order))[level]
    traits["higher_education"] = level >= 2
    return traits


def _pensioner_probability(age: np.ndarray) -> np.ndarray:
    # Retirement starts in the mid-fifties; a few younger applicants draw an invalidity pension.
    # Tuned so 18.0% of the base population are pensioners, with a median age near 60.
    return 0.01 + 0.95 * expit((age - 57.2) / 2.3)


def _draw_household(c: Columns, traits: Traits, rng: np.random.Generator, profile: dict[str, Any]) -> None:
    categorical, numeric = profile["categorical"], profile["numeric"]
    n, age_z = len(traits["A"]), traits["A"]
    statuses = ("Married", "Single / not married", "Civil marriage", "Separated", "Widow")
    freq = categorical["NAME_FAMILY_STATUS"]["freq"]
    # Younger applicants are more often single or in a civil marriage, older ones widowed.
    slopes = np.array([0.0, -1.1, -0.5, 0.1, 1.9])
    status = _choice_by_age(rng, age_z, np.array([freq[s] for s in statuses]), slopes)
    c["NAME_FAMILY_STATUS"] = np.array(label_codes("NAME_FAMILY_STATUS", statuses))[status]
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
    c["NAME_HOUSING_TYPE"] = np.array(label_codes("NAME_HOUSING_TYPE", housing))[house]

    suite_freq = categorical["NAME_TYPE_SUITE"]
    labels = FIELDS["NAME_TYPE_SUITE"].categories
    suite = choice(rng, n, [suite_freq["freq"][s] for s in labels])
    c["NAME_TYPE_SUITE"] = np.where(rng.random(n) < suite_freq["missing_rate"], -1, suite)

    # Older and better-off applicants own their home more often.
    realty = mix(rng, (0.3, age_z), (0.2, traits["S"])) > ndtri(categorical["FLAG_OWN_REALTY"]["freq"]["N"])
    c["FLAG_OWN_REALTY"] = np.where(
        realty, label_codes("FLAG_OWN_REALTY", ["Y"])[0], label_codes("FLAG_OWN_REALTY", ["N"])[0]
    )


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
    published = load_profile()["numeric"]["DAYS_BIRTH"]["quantiles"]
    days = quantile_function(published, upper=-18 * DAYS_PER_YEAR).at((np.arange(2000) + 0.5) / 2000)
    return (-days / DAYS_PER_YEAR - AGE_MEAN) / AGE_SD


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
    age = _base_age_grid() * AGE_SD + AGE_MEAN
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


def _draw_region(c: Columns, traits: Traits, rng: np.random.Generator, profile: dict[str, Any]) -> None:
    values, probs, wealth = _regions()
    region = choice(rng, len(traits["A"]), probs)
    c["REGION_POPULATION_RELATIVE"] = values[region]
    traits["W"] = wealth[region]
    # The rating is mostly a property of the region; richer regions are rated better (1).
    rating_freq = profile["numeric"]["REGION_RATING_CLIENT"]["value_freq"]
    rating = 1 + ordinal_codes(-mix(rng, (0.85, traits["W"])), [rating_freq[k] for k in ("1", "2", "3")])
    c["REGION_RATING_CLIENT"] = rating
    c["REGION_RATING_CLIENT_W_CITY"] = _rating_with_city(rating, rng, profile)
    traits["rating"] = rating


@cache
def _regions() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The discrete REGION_POPULATION_RELATIVE values, their shares and each region's wealth score.

    The 15 most frequent published values keep their shares; 64 more regions fill the rest of the
    published distribution. Wealth is a fixed region property: mostly its population rank.
    """
    profile = load_profile()
    top = profile["relationships"]["region_population_relative_top_values"]
    top_values = np.array([float(v) for v in top])
    top_shares = np.array(list(top.values()))
    fn = quantile_function(profile["numeric"]["REGION_POPULATION_RELATIVE"]["quantiles"])
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
    return choice_by_group(rng, rating, table[:, 1:]) + 1
