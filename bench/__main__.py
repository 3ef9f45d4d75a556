"""``.venv/bin/python -m bench``: run the suite (see bench/run.py)."""

import sys

from .run import main

sys.exit(main())
