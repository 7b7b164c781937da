"""The one exception root of vxsum.

Every error the library raises on purpose for bad *data* derives from
:class:`VxsumError`, so a tool can catch one name. Misuse of the API (a wrong
argument type, an offset outside the buffer you passed) raises the ordinary
``TypeError`` / ``ValueError`` instead: that is a bug in the caller, not a
property of a packet.
"""

from __future__ import annotations

__all__ = ["VxsumError"]


class VxsumError(Exception):
    """Root of every error vxsum raises about the data it was given."""
