"""``python -m isvs_graph``: the ``isvs-graph`` command line."""

import sys

from .cli import main

sys.exit(main())
