"""The ``vxsum`` command: one module per sub-command (:mod:`~vxsum.cli.analyze`,
:mod:`~vxsum.cli.explain`, :mod:`~vxsum.cli.repro`, :mod:`~vxsum.cli.demo`), put together
by :mod:`~vxsum.cli.app`; :mod:`~vxsum.cli.summary` draws the progress bar and the
summary. The only place that knows argparse, rich and exit codes.
"""

from .app import main

__all__ = ["main"]
