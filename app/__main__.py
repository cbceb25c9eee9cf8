"""`python -m backprop_lens` is the `backprop-lens` command."""

import sys

from backprop_lens.cli import main

sys.exit(main())
