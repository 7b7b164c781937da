"""``python -m vxsum``: the same as the ``vxsum`` command."""

import sys

from .cli.main import main

sys.exit(main())
