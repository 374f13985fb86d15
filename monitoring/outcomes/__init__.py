"""Outcomes: what really happened to scored loans (defaulted or not), taken in and joined to predictions."""
