"""The worked capture numbers of kernel-model.md section 7, recomputed.

The captures themselves are not public here; the numbers are. Each line of section 7
is an arithmetic claim that the checksum core and the mechanism fingerprints must
reproduce exactly.
"""

from __future__ import annotations

import vxsum
from vxsum.verdicts.rules import due_after_fill

SRC, DST = "172.30.44.4", "172.30.17.0"
# Offsets of the inner checksum field from the start of the outer UDP header:
# UDP 8 + VXLAN 8 + Ethernet 14 + IPv4 20, then 16 (TCP) or 6 (UDP).
INNER_TCP, INNER_UDP = 8 + 8 + 14 + 20 + 16, 8 + 8 + 14 + 20 + 6


def test_inner_seeds() -> None:
    assert vxsum.pseudo_header_sum_v4(SRC, DST, 6, 40) == 0x956F
    assert vxsum.pseudo_header_sum_v4(SRC, DST, 6, 32) == 0x9567
    assert vxsum.pseudo_header_sum_v4(SRC, DST, 17, 133) == 0x95D7


def test_outer_lco_values_are_right_once_the_inner_is_filled() -> None:
    # 'bad udp cksum 0x4a95 -> 0x80d1' with inner TCP 0x956f -> 0xcbab
    assert due_after_fill(0x80D1, True, 0x956F, 0xCBAB, INNER_TCP) == 0x4A95
    # 'bad udp cksum 0x7427 -> 0x6287' with inner UDP 0x95d7 -> 0x8437
    assert due_after_fill(0x6287, True, 0x95D7, 0x8437, INNER_UDP) == 0x7427
    # nothing pending: the value due is the one for the bytes as captured
    assert due_after_fill(0x80D1, False, 0x956F, 0xCBAB, INNER_TCP) == 0x80D1


def test_lco_moves_down_by_8_for_8_more_bytes() -> None:
    assert vxsum.core.ones_add(0x4A95, 8) == 0x4A9D


def test_netdev_report_outer_seed() -> None:
    # Kernel 5.4.23, flannel, tx off: the sender shows the outer seed 0x7F3E.
    assert vxsum.pseudo_header_sum_v4("192.3.59.220", "155.94.231.125", 17, 113) == 0x7F3E
