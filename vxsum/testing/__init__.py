"""Testing with vxsum: hypothesis strategies for packets, checksum states, NAT and the
kernel model (:mod:`vxsum.testing.strategies`, needs the ``hypothesis`` extra), and the
entry point that registers them with hypothesis (:mod:`vxsum.testing.hook`).

Import the strategies themselves: ``from vxsum.testing import strategies``.
"""

__all__: list[str] = []
