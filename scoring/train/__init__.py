"""Train, evaluate, track and export the credit-default model (`python -m scoring.train`).

Stratified holdout (the monitoring reference) + stratified K-fold search on the rest; the business
threshold minimises the business cost (`scoring.costs`) on out-of-fold probabilities; everything is
tracked in MLflow, the model is registered as `credit-scoring@champion` and exported to `model/` with
its metadata, the reference set and a model card.

- `cli`: the command line and `main`, which runs the stages in order;
- `config`: the LightGBM parameters, the search space and the names used in MLflow;
- `pipeline`: data, split, cross-validated search, final fit, holdout evaluation;
- `tracking`: everything written to MLflow (params, metrics, plots, registered model);
- `export`: the metadata and the deployable `model/` folder; `card`: its README; `plots`: the figures;
- `from_log`: labelled production rows (log + outcomes) back into training rows, for `--from-log`.
"""
