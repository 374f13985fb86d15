"""Copy the figures the data generator and its tests need into `scoring/synth/reference_profile.json`.

The full profile of the Kaggle data lives outside the repository (`../shared/data/`), which a clean
clone in CI does not have. This script keeps a small, committed extract of it: numeric quantiles,
category frequencies, missing rates and published default rates. Re-run it when the profile changes:

    python scripts/extract_profile.py [path/to/home_credit_profile.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "home_credit_profile.json"
TARGET = REPO / "scoring" / "synth" / "reference_profile.json"

SAMPLE_LEVELS = ("p01", "p05", "p10", "p90", "p95", "p99")
FULL_LEVELS = ("p25", "p50", "p75")
LEVEL_ORDER = ("min", "p01", "p05", "p10", "p25", "p50", "p75", "p90", "p95", "p99", "max")
# Discrete counts whose sample value frequencies are worth more than interpolated quantiles.
VALUE_FREQ_COLUMNS = (
    "CNT_CHILDREN",
    "HOUR_APPR_PROCESS_START",
    "REGION_RATING_CLIENT",
    "REGION_RATING_CLIENT_W_CITY",
    "OBS_30_CNT_SOCIAL_CIRCLE",
    "DEF_30_CNT_SOCIAL_CIRCLE",
    "AMT_REQ_CREDIT_BUREAU_HOUR",
    "AMT_REQ_CREDIT_BUREAU_DAY",
    "AMT_REQ_CREDIT_BUREAU_WEEK",
    "AMT_REQ_CREDIT_BUREAU_MON",
    "AMT_REQ_CREDIT_BUREAU_QRT",
    "AMT_REQ_CREDIT_BUREAU_YEAR",
)
RELATIONSHIP_KEYS = {
    "share_goods_price_equal_credit": "share_goods_price_equal_credit",
    "revolving_loans": "revolving_loans",
    "cash_loans_credit_quantiles": "cash_loans_credit_quantiles",
    "income_quantiles_by_income_type": "income_quantiles_by_income_type",
    "age_years_by_income_type_median": "age_years_by_income_type_median",
    "occupation_missing_by_income_type": "occupation_missing_by_income_type",
    "region_population_relative_top_values": "region_population_relative_top_values",
    "region_rating_crosstab": "region_rating_w_city_by_rating",
    "ext_source_missing_patterns (ES1,ES2,ES3; M=missing)": "ext_source_missing_patterns",
    "building_block": "building_block",
    "social_circle_block": "social_circle_block",
    "amt_req_credit_bureau_block": "amt_req_credit_bureau_block",
    "fam_minus_children_value_freq": "fam_minus_children_value_freq",
    "amount_granularity": "amount_granularity",
}


def _quantiles(column: dict[str, Any]) -> dict[str, float]:
    """Full-data min/p25/p50/p75/max where published, the 5k-sample estimate for the other levels."""
    full = column.get("stats_full", {})
    sample = column.get("sample_estimate", {}).get("quantiles", {})
    merged = {level: sample[level] for level in SAMPLE_LEVELS if sample.get(level) is not None}
    merged |= {level: full[level] for level in (*FULL_LEVELS, "min", "max") if full.get(level) is not None}
    return {level: float(merged[level]) for level in LEVEL_ORDER if level in merged}


def _numeric(column: dict[str, Any], name: str) -> dict[str, Any]:
    sample = column.get("sample_estimate", {})
    entry: dict[str, Any] = {"missing_rate": column["missing_rate_full"], "quantiles": _quantiles(column)}
    if "mean" in column.get("stats_full", {}):
        entry["mean"] = column["stats_full"]["mean"]
    if name in VALUE_FREQ_COLUMNS and "value_freq" in sample:
        entry["value_freq"] = sample["value_freq"]
    return entry


def _default_rates(profile: dict[str, Any]) -> dict[str, Any]:
    columns = profile["columns"]
    rates: dict[str, Any] = {
        "age_bins_years": profile["age_bins_default_rate_full"]["bins_years"],
        "NAME_INCOME_TYPE": columns["NAME_INCOME_TYPE"]["default_rate_by_category_full"],
    }
    for name in (
        "CODE_GENDER",
        "NAME_EDUCATION_TYPE",
        "OCCUPATION_TYPE",
        "REG_CITY_NOT_LIVE_CITY",
        "EMERGENCYSTATE_MODE",
    ):
        derived = columns[name].get("default_rate_derived_full", {})
        rates[name] = {level: value["rate_in_level"] for level, value in derived.items()}
    sample_keys = (
        "NAME_CONTRACT_TYPE",
        "NAME_FAMILY_STATUS",
        "NAME_HOUSING_TYPE",
        "OCCUPATION_TYPE",
        "ORGANIZATION_TYPE",
        "NAME_EDUCATION_TYPE",
    )
    rates["sample"] = {name: columns[name]["sample_estimate"]["default_rate_by_category"] for name in sample_keys}
    rates["sample"]["REGION_RATING_CLIENT"] = columns["REGION_RATING_CLIENT"]["sample_estimate"][
        "default_rate_by_value"
    ]
    return rates


def extract(profile: dict[str, Any]) -> dict[str, Any]:
    numeric, categorical = {}, {}
    for name, column in profile["columns"].items():
        if column["kind"] == "categorical":
            categorical[name] = {"missing_rate": column["missing_rate_full"], "freq": column["category_freq_full"]}
        else:
            numeric[name] = _numeric(column, name)
    relations = profile["relationships_sample_estimates"]
    return {
        "_about": "Extract of ../shared/data/home_credit_profile.json made by scripts/extract_profile.py. "
        "Full-data figures (307,511 rows) where published; p01/p05/p10/p90/p95/p99 and "
        "'sample' entries are estimates from a 5,000-row random sample.",
        "default_rate": profile["dataset"]["default_rate"],
        "sk_id_curr_range": profile["dataset"]["sk_id_curr_range"],
        "numeric": numeric,
        "categorical": categorical,
        "ratio_quantiles": relations["ratio_quantiles"],
        "relationships": {new: relations[old] for old, new in RELATIONSHIP_KEYS.items()},
        "ext_source_corr": profile["ext_source_corr_full"]["matrix"],
        "default_rates": _default_rates(profile),
        "days_employed_pensioner_share": profile["anomalies"]["DAYS_EMPLOYED_365243"]["share"],
    }


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    profile = json.loads(source.read_text(encoding="utf-8"))
    TARGET.write_text(json.dumps(extract(profile), indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {TARGET.relative_to(REPO)} from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
