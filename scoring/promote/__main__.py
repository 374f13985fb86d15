"""`python -m scoring.promote`: see `scoring.promote.cli`."""

import sys

from scoring.promote.cli import main

sys.exit(main())
