"""``python -m vxsum``: the same as the ``vxsum`` command."""

import sys

from .cli.app import main

sys.exit(main())
