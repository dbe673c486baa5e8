"""`python -m crawler` runs the command-line interface."""

import sys

from crawler.cli import main

sys.exit(main())
