"""The VXLAN capture the analyze benchmarks read: :func:`vxsum.testing.captures.vxlan_capture`.

``python benchmarks/vxlan_capture.py N OUT`` writes one of N packets.
"""

from __future__ import annotations

import sys
from pathlib import Path

from vxsum.testing.captures import vxlan_capture

write_vxlan_capture = vxlan_capture

if __name__ == "__main__":
    print(write_vxlan_capture(Path(sys.argv[2]), int(sys.argv[1])), "broken")
