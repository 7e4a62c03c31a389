"""``python -m malmoi.cli``: the ``malmoi`` command with this interpreter."""

import sys

from malmoi.cli import main

sys.exit(main())
