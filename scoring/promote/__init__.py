"""The promotion gate: compare a candidate model with the champion, promote it or refuse it, roll back."""
