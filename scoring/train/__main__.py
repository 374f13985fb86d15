"""`python -m scoring.train`: see `scoring.train.cli`."""

from scoring.train.cli import main

main()
