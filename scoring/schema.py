"""The application schema: the 120 raw Home Credit `application_train` feature columns.

One table says, for every field, its type, its category labels, whether an application may
omit it, and the hard bounds outside which a value is impossible (not merely unusual: unusual
values are judged against the training range stored with the model). Validation, the data
generator, the form, the OpenAPI schema and the log reader all read this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["float", "int", "flag", "category"]

ID_COLUMN = "SK_ID_CURR"
TARGET_COLUMN = "TARGET"
# Kept in the data for the fairness report, never given to the model (anti-discrimination).
PROTECTED_COLUMNS = ("CODE_GENDER",)

DAYS_EMPLOYED_PENSIONER = 365243  # placeholder used by the source system for "not employed"
DAYS_PER_YEAR = 365.25
MAX_DAYS_BACK = -36_525  # nothing in an application happened more than 100 years ago


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Kind
    description: str
    categories: tuple[str, ...] = ()
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""


_BUILDING_MEASURE_TEXT = {
    "APARTMENTS": "apartment count",
    "BASEMENTAREA": "basement area",
    "YEARS_BEGINEXPLUATATION": "years since the building entered service",
    "YEARS_BUILD": "age of the building",
    "COMMONAREA": "common area",
    "ELEVATORS": "number of elevators",
    "ENTRANCES": "number of entrances",
    "FLOORSMAX": "highest floor",
    "FLOORSMIN": "lowest floor",
    "LANDAREA": "land area",
    "LIVINGAPARTMENTS": "living apartments",
    "LIVINGAREA": "living area",
    "NONLIVINGAPARTMENTS": "non-living apartments",
    "NONLIVINGAREA": "non-living area",
}
_BUILDING_STATS = {"AVG": "mean", "MODE": "mode", "MEDI": "median"}
_BUREAU_PERIODS = {
    "HOUR": "hour",
    "DAY": "day (excluding the last hour)",
    "WEEK": "week (excluding the last day)",
    "MON": "month (excluding the last week)",
    "QRT": "quarter (excluding the last month)",
    "YEAR": "year (excluding the last quarter)",
}

# Field-name groups, in application_train order; the generator draws each group as one block.
# Each building measure comes as three columns, `<measure>_AVG`, `_MODE` and `_MEDI`.
BUILDING_MEASURES: tuple[str, ...] = tuple(_BUILDING_MEASURE_TEXT)
# The building's categorical descriptors (TOTALAREA_MODE, numeric, sits among them in the file).
BUILDING_CATEGORIES = ("FONDKAPREMONT_MODE", "HOUSETYPE_MODE", "WALLSMATERIAL_MODE", "EMERGENCYSTATE_MODE")
SOCIAL_CIRCLE_COLUMNS = (
    "OBS_30_CNT_SOCIAL_CIRCLE",
    "DEF_30_CNT_SOCIAL_CIRCLE",
    "OBS_60_CNT_SOCIAL_CIRCLE",
    "DEF_60_CNT_SOCIAL_CIRCLE",
)
DOCUMENT_FLAGS: tuple[str, ...] = tuple(f"FLAG_DOCUMENT_{i}" for i in range(2, 22))
BUREAU_COLUMNS: tuple[str, ...] = tuple(f"AMT_REQ_CREDIT_BUREAU_{period}" for period in _BUREAU_PERIODS)


def _amount(name: str, text: str, *, required: bool = False) -> Field:
    return Field(name, "float", text, required=required, minimum=0.0, maximum=1e9, unit="currency")


def _days(name: str, text: str, kind: Kind = "int", *, maximum: float = 0.0) -> Field:
    return Field(name, kind, text, minimum=MAX_DAYS_BACK, maximum=maximum, unit="days before application")


def _flag(name: str, text: str) -> Field:
    return Field(name, "flag", text, minimum=0, maximum=1)


def _share(name: str, text: str) -> Field:
    return Field(name, "float", text, minimum=0.0, maximum=1.0)


def _count(name: str, text: str, kind: Kind = "float", *, maximum: float = 1000) -> Field:
    return Field(name, kind, text, minimum=0, maximum=maximum)


def _category(name: str, text: str, categories: tuple[str, ...], *, required: bool = False) -> Field:
    return Field(name, "category", text, categories=categories, required=required)


_YES_NO = ("N", "Y")

_HEAD: list[Field] = [
    _category(
        "NAME_CONTRACT_TYPE",
        "Kind of loan: cash loan or revolving credit.",
        ("Cash loans", "Revolving loans"),
        required=True,
    ),
    _category("CODE_GENDER", "Applicant's gender (fairness reporting only, not a model input).", ("F", "M", "XNA")),
    _category("FLAG_OWN_CAR", "Whether the applicant owns a car (Y/N).", _YES_NO),
    _category("FLAG_OWN_REALTY", "Whether the applicant owns a house or flat (Y/N).", _YES_NO),
    _count("CNT_CHILDREN", "Number of children of the applicant.", "int", maximum=30),
    _amount("AMT_INCOME_TOTAL", "Applicant's declared annual income.", required=True),
    _amount("AMT_CREDIT", "Amount of credit requested.", required=True),
    _amount("AMT_ANNUITY", "Yearly repayment of the loan.", required=True),
    _amount("AMT_GOODS_PRICE", "Price of the goods financed (consumer loans)."),
    _category(
        "NAME_TYPE_SUITE",
        "Who came with the applicant to apply.",
        ("Unaccompanied", "Family", "Spouse, partner", "Children", "Other_B", "Other_A", "Group of people"),
    ),
    _category(
        "NAME_INCOME_TYPE",
        "Source of the applicant's income.",
        (
            "Working",
            "Commercial associate",
            "Pensioner",
            "State servant",
            "Unemployed",
            "Student",
            "Businessman",
            "Maternity leave",
        ),
    ),
    _category(
        "NAME_EDUCATION_TYPE",
        "Highest level of education reached.",
        (
            "Secondary / secondary special",
            "Higher education",
            "Incomplete higher",
            "Lower secondary",
            "Academic degree",
        ),
    ),
    _category(
        "NAME_FAMILY_STATUS",
        "Marital status.",
        ("Married", "Single / not married", "Civil marriage", "Separated", "Widow", "Unknown"),
    ),
    _category(
        "NAME_HOUSING_TYPE",
        "Housing situation.",
        (
            "House / apartment",
            "With parents",
            "Municipal apartment",
            "Rented apartment",
            "Office apartment",
            "Co-op apartment",
        ),
    ),
    _share("REGION_POPULATION_RELATIVE", "Relative population of the applicant's region (normalised)."),
    Field(
        "DAYS_BIRTH",
        "int",
        "Age in days, counted back from the application (negative).",
        required=True,
        minimum=-100 * DAYS_PER_YEAR,
        maximum=-18 * DAYS_PER_YEAR,
        unit="days before application",
    ),
    Field(
        "DAYS_EMPLOYED",
        "int",
        "Days since the current employment started (negative); 365243 means not employed.",
        minimum=MAX_DAYS_BACK,
        maximum=DAYS_EMPLOYED_PENSIONER,
        unit="days before application",
    ),
    _days("DAYS_REGISTRATION", "Days since the applicant last changed registration.", "float"),
    _days("DAYS_ID_PUBLISH", "Days since the identity document was last changed."),
    _count("OWN_CAR_AGE", "Age of the applicant's car in years.", maximum=100),
    _flag("FLAG_MOBIL", "1 if a mobile phone number was given."),
    _flag("FLAG_EMP_PHONE", "1 if an employer phone number was given."),
    _flag("FLAG_WORK_PHONE", "1 if a work phone number was given."),
    _flag("FLAG_CONT_MOBILE", "1 if the mobile phone was reachable."),
    _flag("FLAG_PHONE", "1 if a home phone number was given."),
    _flag("FLAG_EMAIL", "1 if an e-mail address was given."),
    _category(
        "OCCUPATION_TYPE",
        "Applicant's occupation.",
        (
            "Laborers",
            "Sales staff",
            "Core staff",
            "Managers",
            "Drivers",
            "High skill tech staff",
            "Accountants",
            "Medicine staff",
            "Security staff",
            "Cooking staff",
            "Cleaning staff",
            "Private service staff",
            "Low-skill Laborers",
            "Waiters/barmen staff",
            "Secretaries",
            "Realty agents",
            "HR staff",
            "IT staff",
        ),
    ),
    Field("CNT_FAM_MEMBERS", "float", "Household size, the applicant included.", minimum=1, maximum=40),
    Field(
        "REGION_RATING_CLIENT",
        "int",
        "Home Credit's rating of the applicant's region (1 best, 3 worst).",
        minimum=1,
        maximum=3,
    ),
    Field(
        "REGION_RATING_CLIENT_W_CITY",
        "int",
        "Region rating taking the city into account (1 to 3).",
        minimum=1,
        maximum=3,
    ),
    _category(
        "WEEKDAY_APPR_PROCESS_START",
        "Day of the week the application was made.",
        ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"),
    ),
    Field("HOUR_APPR_PROCESS_START", "int", "Hour of the day the application was made.", minimum=0, maximum=23),
    _flag("REG_REGION_NOT_LIVE_REGION", "1 if the registered and the living region differ."),
    _flag("REG_REGION_NOT_WORK_REGION", "1 if the registered and the work region differ."),
    _flag("LIVE_REGION_NOT_WORK_REGION", "1 if the living and the work region differ."),
    _flag("REG_CITY_NOT_LIVE_CITY", "1 if the registered and the living city differ."),
    _flag("REG_CITY_NOT_WORK_CITY", "1 if the registered and the work city differ."),
    _flag("LIVE_CITY_NOT_WORK_CITY", "1 if the living and the work city differ."),
    _category(
        "ORGANIZATION_TYPE",
        "Sector of the employer; XNA when the applicant has no employer.",
        (
            "Business Entity Type 3",
            "XNA",
            "Self-employed",
            "Other",
            "Medicine",
            "Business Entity Type 2",
            "Government",
            "School",
            "Trade: type 7",
            "Kindergarten",
            "Construction",
            "Business Entity Type 1",
            "Transport: type 4",
            "Trade: type 3",
            "Industry: type 9",
            "Industry: type 3",
            "Security",
            "Housing",
            "Industry: type 11",
            "Military",
            "Bank",
            "Agriculture",
            "Police",
            "Transport: type 2",
            "Postal",
            "Security Ministries",
            "Trade: type 2",
            "Restaurant",
            "Services",
            "University",
            "Industry: type 7",
            "Transport: type 3",
            "Industry: type 1",
            "Hotel",
            "Electricity",
            "Industry: type 4",
            "Trade: type 6",
            "Industry: type 5",
            "Insurance",
            "Telecom",
            "Emergency",
            "Industry: type 2",
            "Advertising",
            "Realtor",
            "Culture",
            "Industry: type 12",
            "Trade: type 1",
            "Mobile",
            "Legal Services",
            "Cleaning",
            "Transport: type 1",
            "Industry: type 6",
            "Industry: type 10",
            "Religion",
            "Industry: type 13",
            "Trade: type 4",
            "Trade: type 5",
            "Industry: type 8",
        ),
    ),
    _share("EXT_SOURCE_1", "External credit score no. 1 (normalised, 0 to 1)."),
    _share("EXT_SOURCE_2", "External credit score no. 2 (normalised, 0 to 1)."),
    _share("EXT_SOURCE_3", "External credit score no. 3 (normalised, 0 to 1)."),
]


def _building_fields() -> list[Field]:
    numeric = [
        _share(f"{measure}_{stat}", f"Building where the applicant lives: {text} ({label}, normalised).")
        for stat, label in _BUILDING_STATS.items()
        for measure, text in _BUILDING_MEASURE_TEXT.items()
    ]
    modes = [
        _category(
            "FONDKAPREMONT_MODE",
            "Building: kind of repair-fund account (mode).",
            ("reg oper account", "reg oper spec account", "not specified", "org spec account"),
        ),
        _category(
            "HOUSETYPE_MODE",
            "Building: kind of housing (mode).",
            ("block of flats", "specific housing", "terraced house"),
        ),
        _share("TOTALAREA_MODE", "Building: total area (mode, normalised)."),
        _category(
            "WALLSMATERIAL_MODE",
            "Building: wall material (mode).",
            ("Panel", "Stone, brick", "Block", "Wooden", "Mixed", "Monolithic", "Others"),
        ),
        _category("EMERGENCYSTATE_MODE", "Building: whether it is in an emergency state (mode).", ("No", "Yes")),
    ]
    return numeric + modes


def _tail_fields() -> list[Field]:
    seen = {"OBS": "seen", "DEF": "who defaulted"}
    social = [
        _count(name, f"People around the applicant {seen[name[:3]]} {name[4:6]}+ days past due.")
        for name in SOCIAL_CIRCLE_COLUMNS
    ]
    social.append(_days("DAYS_LAST_PHONE_CHANGE", "Days since the applicant last changed phone.", "float"))
    documents = [_flag(name, f"1 if document no. {name.rsplit('_', 1)[1]} was supplied.") for name in DOCUMENT_FLAGS]
    bureau = [
        _count(name, f"Credit-bureau enquiries about the applicant in the {text} before the application.")
        for name, text in zip(BUREAU_COLUMNS, _BUREAU_PERIODS.values(), strict=True)
    ]
    return social + documents + bureau


FIELDS: dict[str, Field] = {f.name: f for f in [*_HEAD, *_building_fields(), *_tail_fields()]}
RAW_COLUMNS: tuple[str, ...] = tuple(FIELDS)  # the 120 feature columns, in application_train order
REQUIRED: tuple[str, ...] = tuple(name for name, f in FIELDS.items() if f.required)
CATEGORICAL: tuple[str, ...] = tuple(name for name, f in FIELDS.items() if f.kind == "category")
NUMERIC: tuple[str, ...] = tuple(name for name, f in FIELDS.items() if f.kind != "category")
ALL_COLUMNS: tuple[str, ...] = (ID_COLUMN, TARGET_COLUMN, *RAW_COLUMNS)

assert len(RAW_COLUMNS) == 120, len(RAW_COLUMNS)
