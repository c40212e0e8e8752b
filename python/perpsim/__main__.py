"""``python -m perpsim``: the ``perpsim`` command."""

import sys

from .cli import main

sys.exit(main())
