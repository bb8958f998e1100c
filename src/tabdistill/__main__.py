"""``python -m tabdistill``: the ``tabdistill`` command."""

import sys

from tabdistill.cli import main

sys.exit(main())
