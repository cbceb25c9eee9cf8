"""`python -m app` is the `backprop-lens` command."""

import sys

from app.cli import main

sys.exit(main())
