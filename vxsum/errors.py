"""The one exception root of vxsum, and the parser's error.

Every error the library raises on purpose for bad *data* derives from
:class:`VxsumError`, so a tool can catch one name. Misuse of the API (a wrong
argument type, an offset outside the buffer you passed) raises the ordinary
``TypeError`` / ``ValueError`` instead: that is a bug in the caller, not a
property of a packet.
"""

from __future__ import annotations

__all__ = ["CaptureError", "ParseError", "VxsumError"]


class VxsumError(Exception):
    """Root of every error vxsum raises about the data it was given."""


class ParseError(VxsumError):
    """Bytes that cannot be parsed as the header they should hold.

    Structured, so tools need not parse the message: ``layer`` names the header
    (``"ipv4"``, ``"tcp"``, ...), ``offset`` is the byte offset in the frame where
    the problem is, ``needed`` and ``available`` are byte counts where the problem
    is a short buffer (``None`` otherwise), and ``reason`` is a short text.
    """

    def __init__(
        self,
        layer: str,
        offset: int,
        reason: str,
        *,
        needed: int | None = None,
        available: int | None = None,
    ) -> None:
        self.layer = layer
        self.offset = offset
        self.reason = reason
        self.needed = needed
        self.available = available
        detail = ""
        if needed is not None:
            detail = f" (needed {needed} bytes, {available} available)"
        super().__init__(f"{layer} at byte {offset}: {reason}{detail}")

    @property
    def truncated(self) -> bool:
        """True if the error is a short buffer rather than a bad field value."""
        return self.needed is not None


class CaptureError(VxsumError):
    """A capture file (pcap or pcapng) that cannot be read as its format says.

    Structured, so tools need not parse the message: ``path`` names the file,
    ``record`` is the 1-based number of the packet record concerned (as tcpdump and
    tshark count frames), or ``None`` where the problem is not in a packet record (the
    file header, a pcapng section or interface block, the compressed stream),
    ``offset`` is the byte offset in the file (in the decompressed stream for gzip
    files) where the record or block starts, and ``reason`` is a short text.
    """

    def __init__(self, path: str, record: int | None, offset: int, reason: str) -> None:
        self.path = path
        self.record = record
        self.offset = offset
        self.reason = reason
        where = f"record {record} at byte {offset}" if record is not None else f"byte {offset}"
        super().__init__(f"{path}: {where}: {reason}")

    def __reduce__(self) -> tuple[type[CaptureError], tuple[str, int | None, int, str]]:
        return (type(self), (self.path, self.record, self.offset, self.reason))
