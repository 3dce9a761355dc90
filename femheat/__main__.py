"""``python -m femheat ...``: the ``femheat`` command line (:mod:`femheat.cli`)."""

import sys

from .cli import main

sys.exit(main())
