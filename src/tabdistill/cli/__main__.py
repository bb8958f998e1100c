"""``python -m tabdistill.cli``: the ``tabdistill`` command."""

import sys

from tabdistill.cli import main

sys.exit(main())
