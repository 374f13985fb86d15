"""Drift scenarios: what can change in production, applied to a freshly drawn population.

`younger_applicants` changes who applies (it acts on the age draw, so TARGET follows); the others
corrupt or relabel inputs after TARGET is drawn and leave it untouched. `bureau_inflation` is the
one that degrades the model for real: the external scores look better than the risk they stand for,
so the model approves clients it would have refused and the realized cost rises.
"""

from __future__ import annotations

import numpy as np

from scoring.schema import FIELDS
from scoring.synth.calibration import Columns, choice, load_profile, round_to

SCENARIOS: tuple[str, ...] = (
    "none",
    "income_inflation",
    "younger_applicants",
    "bureau_outage",
    "new_category",
    "bureau_inflation",
)

_YOUNGER_POWER = 2.25  # younger_applicants: mean age about 8 years lower, median about 10
_INFLATION = 1.4  # income_inflation: nominal incomes grow by 40%
_BUREAU_OUTAGE_MISSING = 0.70  # bureau_outage: share of EXT_SOURCE_3 missing (about 0.20 normally)
NEW_CATEGORY = "Businessman"  # new_category: an income type the base population never has
_NEW_CATEGORY_SHARE = 0.10
_BUREAU_INFLATION_KEEP = 0.55  # bureau_inflation: distance of EXT_SOURCE_2/3 to 1 shrunk to 55 %


def check_scenario(scenario: str) -> None:
    """Raise ValueError naming the valid scenarios when `scenario` is not one of them."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; valid scenarios: {', '.join(SCENARIOS)}")


def younger_age_levels(u_age: np.ndarray) -> np.ndarray:
    """Quantile levels of DAYS_BIRTH for `younger_applicants`: DAYS_BIRTH ascends, so pushing the
    level up makes everyone younger while the ages stay within the published range."""
    return 1.0 - (1.0 - u_age) ** _YOUNGER_POWER


def apply_drift(c: Columns, scenario: str, rng: np.random.Generator) -> None:
    """Apply the input drift of `scenario` to the drawn columns, in place (no-op for the others)."""
    if scenario == "income_inflation":
        inflate_income(c, rng)
    elif scenario == "bureau_outage":
        bureau_outage(c, rng)
    elif scenario == "new_category":
        introduce_new_category(c, rng)
    elif scenario == "bureau_inflation":
        inflate_bureau_scores(c)


def inflate_income(c: Columns, rng: np.random.Generator) -> None:
    inflated = c["AMT_INCOME_TOTAL"] * _INFLATION * rng.uniform(0.95, 1.05, len(c["AMT_INCOME_TOTAL"]))
    c["AMT_INCOME_TOTAL"] = np.maximum(round_to(inflated, 4_500.0), 4_500.0)


def bureau_outage(c: Columns, rng: np.random.Generator) -> None:
    values = c["EXT_SOURCE_3"]
    # Knock out enough of the scores still present for the total missing share to reach the target.
    usual = load_profile()["numeric"]["EXT_SOURCE_3"]["missing_rate"]
    extra = (_BUREAU_OUTAGE_MISSING - usual) / (1.0 - usual)
    c["EXT_SOURCE_3"] = np.where(rng.random(len(values)) < extra, np.nan, values)


def introduce_new_category(c: Columns, rng: np.random.Generator) -> None:
    """Relabel ~10% of the employed applicants as businessmen, a label the model never saw, with
    side fields that fit: an employer in business, a manager's job and a higher income."""
    types, orgs = FIELDS["NAME_INCOME_TYPE"].categories, FIELDS["ORGANIZATION_TYPE"].categories
    employed = c["NAME_INCOME_TYPE"] != types.index("Pensioner")
    chosen = employed & (rng.random(len(employed)) < _NEW_CATEGORY_SHARE / max(employed.mean(), 1e-9))
    c["NAME_INCOME_TYPE"] = np.where(chosen, types.index(NEW_CATEGORY), c["NAME_INCOME_TYPE"])
    business = np.array(
        [orgs.index(o) for o in ("Business Entity Type 3", "Self-employed", "Business Entity Type 2", "Trade: type 7")]
    )
    c["ORGANIZATION_TYPE"] = np.where(
        chosen, business[choice(rng, len(chosen), [0.5, 0.3, 0.1, 0.1])], c["ORGANIZATION_TYPE"]
    )
    manager = FIELDS["OCCUPATION_TYPE"].categories.index("Managers")
    c["OCCUPATION_TYPE"] = np.where(chosen, manager, c["OCCUPATION_TYPE"])
    c["AMT_INCOME_TOTAL"] = np.where(chosen, round_to(c["AMT_INCOME_TOTAL"] * 1.5, 4_500.0), c["AMT_INCOME_TOTAL"])


def inflate_bureau_scores(c: Columns) -> None:
    """An upstream bureau recalibrated: EXT_SOURCE_2 and _3 move towards 1 (safer-looking) while the
    risk they were drawn from stays, so the model under-estimates it. Missing scores stay missing."""
    for name in ("EXT_SOURCE_2", "EXT_SOURCE_3"):
        c[name] = 1.0 - (1.0 - c[name]) * _BUREAU_INFLATION_KEEP
