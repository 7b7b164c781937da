"""``python -m vxsum.lab``: the real-kernel lab."""

import sys

from .run import main

sys.exit(main())
