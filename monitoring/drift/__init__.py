"""Drift, data quality and label-free performance of the logged predictions (NannyML underneath)."""
