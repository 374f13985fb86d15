"""`python -m benchmarks.load`: the load test as a command (the generator itself is tests/load.py).

python -m benchmarks.load --seconds 60 --concurrency 32      # the long version
python -m benchmarks.load --seconds 10 --concurrency 16      # the short version
"""

from __future__ import annotations

import sys

from tests.load import main

if __name__ == "__main__":
    sys.exit(main())
