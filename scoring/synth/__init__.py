"""Synthetic Home Credit applications: the data source of the whole project.

There is no real data in this repository, so `generate.generate_applications` draws a population with
the full `application_train` schema, calibrated on the published aggregates kept in
`reference_profile.json` (quantiles, category frequencies, missing rates, default rates, structural
rules). `generate.production_stream` draws fresh applicants from the same population with an optional
drift (`scenarios`), and `kaggle.load_application_csv` reads the real Kaggle file for users who have it.

How the population is built (`population`, `work`, `records`):
- a handful of hidden traits per applicant (age, creditworthiness, socio-economic standing, wealth
  of the region) drive the observed fields through Gaussian copulas, so each column follows its
  published quantiles while keeping the published correlations (EXT_SOURCE_1 with age, income with
  credit, region rating with income...);
- structural rules are applied exactly (pensioner <=> DAYS_EMPLOYED 365243 <=> ORGANIZATION_TYPE
  XNA <=> FLAG_EMP_PHONE 0, family size, revolving-loan annuity, shared missing masks...);
- TARGET is a Bernoulli draw from a logistic model of those traits (`risk`), tuned so that the
  default rate, the default rates by group and the AUC a LightGBM model can reach match the real data.

Labels seen fewer than ~30 times in the 307,511 real rows (NAME_INCOME_TYPE Unemployed, Student,
Businessman and Maternity leave, NAME_FAMILY_STATUS Unknown, CODE_GENDER XNA) are never drawn for the
base population: nothing can be learnt from so few rows, and a handful of them would only add noise
to the drift reference. They stay valid schema labels; the `new_category` scenario uses one.
"""
