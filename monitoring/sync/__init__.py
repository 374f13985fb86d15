"""Hugging Face Dataset sync of the prediction log: scheduler, push ledger, dataset card, settings."""
