"""Reasons behind a decision, for people: words, units and a stable code per reason.

The model's factors (`scoring.model.Factor`) name model columns in model units (`DAYS_BIRTH = -9030`,
`GOODS_CREDIT_RATIO = 0.68`). A credit officer, an adverse-action letter and an audit need "Age 24.7
years", "Goods price is 68 % of the credit" and a code that does not change when the wording does.
A protected attribute (scoring.schema.PROTECTED_COLUMNS) is never given as a reason, even if a
future model were to use it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from scoring.model import Factor
from scoring.schema import DAYS_PER_YEAR, FIELDS, PROTECTED_COLUMNS

MISSING = "missing"


@dataclass(frozen=True, slots=True)
class Reason:
    code: str  # stable: the feature's code and the direction, e.g. "EXT_MEAN-RAISES"
    text: str  # "Average external score 0.11 (low)"
    raises_risk: bool
    weight: float  # the factor's contribution, for ordering and bar length only

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text, "effect": "raises risk" if self.raises_risk else "lowers risk"}


def _score_level(value: float) -> str:
    return "low" if value < 0.35 else "high" if value > 0.65 else "average"


def _score(label: str) -> Callable[[float], str]:
    return lambda v: f"{label} {v:.2f} ({_score_level(v)})"


def _years_ago(label: str) -> Callable[[float], str]:
    return lambda v: f"{label} {abs(v) / DAYS_PER_YEAR:.1f} years ago"


def _amount(label: str) -> Callable[[float], str]:
    return lambda v: f"{label} {v:,.0f}"


def _percent(template: str) -> Callable[[float], str]:
    return lambda v: template.format(f"{v:.0%}".replace("%", " %"))


# feature -> (stable code, how to say its value); codes are part of the service's contract: never reuse one.
SAYINGS: dict[str, tuple[str, Callable[[float], str]]] = {
    "EXT_SOURCE_MEAN": ("EXT_MEAN", _score("Average external score")),
    "EXT_SOURCE_1": ("EXT_1", _score("External score 1")),
    "EXT_SOURCE_2": ("EXT_2", _score("External score 2")),
    "EXT_SOURCE_3": ("EXT_3", _score("External score 3")),
    "EXT_SOURCE_PROD": ("EXT_PROD", lambda v: f"Product of the three external scores {v:.3f}"),
    "GOODS_CREDIT_RATIO": ("GOODS_CREDIT", _percent("Goods price is {} of the credit")),
    "ANNUITY_CREDIT_RATIO": (
        "REPAY_RATE",
        lambda v: (
            f"Yearly repayment is {v:.1%} of the credit".replace("%", " %")
            + (f" (about {1 / v:.0f} years to repay)" if v > 0 else "")
        ),
    ),
    "ANNUITY_INCOME_RATIO": ("ANNUITY_INCOME", _percent("Yearly repayment is {} of the income")),
    "CREDIT_INCOME_RATIO": ("CREDIT_INCOME", lambda v: f"Credit is {v:.1f} × the annual income"),
    "EMPLOYED_BIRTH_RATIO": ("JOB_SHARE_OF_LIFE", _percent("In the current job for {} of their life")),
    "INCOME_PER_PERSON": ("INCOME_PER_PERSON", _amount("Income per household member")),
    "DAYS_EMPLOYED_ANOMALY": ("NOT_EMPLOYED", lambda v: "Not employed / pensioner" if v else "Employed"),
    "DAYS_BIRTH": ("AGE", lambda v: f"Age {abs(v) / DAYS_PER_YEAR:.1f} years"),
    "DAYS_EMPLOYED": ("JOB_YEARS", lambda v: f"Years in current job {abs(v) / DAYS_PER_YEAR:.1f}"),
    "DAYS_ID_PUBLISH": ("ID_CHANGED", _years_ago("ID document issued")),
    "DAYS_REGISTRATION": ("REGISTRATION", _years_ago("Registration changed")),
    "DAYS_LAST_PHONE_CHANGE": ("PHONE_CHANGED", _years_ago("Phone changed")),
    "AMT_INCOME_TOTAL": ("INCOME", _amount("Annual income")),
    "AMT_CREDIT": ("CREDIT", _amount("Credit amount")),
    "AMT_ANNUITY": ("ANNUITY", _amount("Yearly repayment")),
    "AMT_GOODS_PRICE": ("GOODS_PRICE", _amount("Price of the goods")),
    "REGION_RATING_CLIENT": ("REGION_RATING", lambda v: f"Region rating {v:.0f} (1 best, 3 worst)"),
    "REGION_RATING_CLIENT_W_CITY": (
        "REGION_CITY_RATING",
        lambda v: f"Region and city rating {v:.0f} (1 best, 3 worst)",
    ),
}
_LABELS = {
    "ORGANIZATION_TYPE": "Employer sector",
    "OCCUPATION_TYPE": "Occupation",
    "NAME_EDUCATION_TYPE": "Education",
    "NAME_INCOME_TYPE": "Income type",
    "NAME_CONTRACT_TYPE": "Contract type",
    "NAME_FAMILY_STATUS": "Family status",
    "NAME_HOUSING_TYPE": "Housing",
}


def _label(name: str) -> str:
    """A readable name for a field without its own saying: the form's, else the schema's description."""
    if name in _LABELS:
        return _LABELS[name]
    spec = FIELDS.get(name)
    return spec.description.rstrip(".") if spec is not None and spec.description else name


def describe(name: str, value: Any) -> str:
    """A feature and its value as a sentence fragment, "missing" when the model had no value."""
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    saying = SAYINGS.get(name)
    if saying is not None:
        return f"{_plain(name)}: {MISSING}" if missing else saying[1](float(value))
    if missing:
        return f"{_label(name)}: {MISSING}"
    if isinstance(value, str):
        return f"{_label(name)}: {value}"
    spec = FIELDS.get(name)
    if spec is not None and spec.unit.startswith("days"):
        return f"{_label(name)}: {abs(float(value)) / DAYS_PER_YEAR:.1f} years ago"
    return f"{_label(name)}: {float(value):,.4g}"


_PLAIN = {
    "EXT_SOURCE_MEAN": "Average external score",
    "EXT_SOURCE_1": "External score 1",
    "EXT_SOURCE_2": "External score 2",
    "EXT_SOURCE_3": "External score 3",
    "EXT_SOURCE_PROD": "Product of the external scores",
    "GOODS_CREDIT_RATIO": "Goods price as a share of the credit",
    "ANNUITY_CREDIT_RATIO": "Yearly repayment as a share of the credit",
    "ANNUITY_INCOME_RATIO": "Yearly repayment as a share of the income",
    "CREDIT_INCOME_RATIO": "Credit as a multiple of the income",
    "EMPLOYED_BIRTH_RATIO": "Share of life in the current job",
    "INCOME_PER_PERSON": "Income per household member",
    "DAYS_EMPLOYED_ANOMALY": "Employment status",
    "DAYS_BIRTH": "Age",
    "DAYS_EMPLOYED": "Years in current job",
    "DAYS_ID_PUBLISH": "ID document date",
    "DAYS_REGISTRATION": "Registration date",
    "DAYS_LAST_PHONE_CHANGE": "Last phone change",
    "AMT_INCOME_TOTAL": "Annual income",
    "AMT_CREDIT": "Credit amount",
    "AMT_ANNUITY": "Yearly repayment",
    "AMT_GOODS_PRICE": "Price of the goods",
    "REGION_RATING_CLIENT": "Region rating",
    "REGION_RATING_CLIENT_W_CITY": "Region and city rating",
}


def _plain(name: str) -> str:
    return _PLAIN.get(name, _label(name))


def reason_code(name: str, raises_risk: bool) -> str:
    """The stable code of a reason: the feature's code (its name when it has none) and the direction."""
    code = SAYINGS[name][0] if name in SAYINGS else name
    return f"{code}-{'RAISES' if raises_risk else 'LOWERS'}"


def reasons(factors: Iterable[Factor | dict[str, Any]]) -> list[Reason]:
    """The factors as reasons, strongest first, protected attributes left out."""
    out = []
    for factor in factors:
        if isinstance(factor, dict):
            name, value, weight = factor["feature"], factor["value"], float(factor["contribution"])
        else:
            name, value, weight = factor.feature, factor.value, factor.contribution
        if name in PROTECTED_COLUMNS:
            continue
        out.append(Reason(reason_code(name, weight > 0), describe(name, value), weight > 0, weight))
    return sorted(out, key=lambda r: -abs(r.weight))
