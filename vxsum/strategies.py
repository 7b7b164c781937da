"""Hypothesis strategies for property tests about checksums, NAT and the kernel model.

Needs the ``hypothesis`` extra (``pip install vxsum[hypothesis]``). This first part
covers the kernel model: kernel versions on either side of the NAT fix, kube-proxy
releases before and after PR 92035, and whole cluster configurations for
:func:`vxsum.scenario.run`. Strategies for frames and layers follow with the frame
builder. Everything shrinks towards the simplest case (the first listed choice).

>>> from hypothesis import given
>>> from vxsum.scenario import run
>>> @given(clusters(kernel=kernels(fixed=False), udp_csum=False, unmarks=False, vxlan_tx=True))
... def test_pre_fix(cluster):
...     wire = run(cluster, attempts=1).packets[0].wire
...     assert wire[40:42] == b"\\xff\\xff"
>>> test_pre_fix()
"""

from __future__ import annotations

try:
    from hypothesis import strategies as st
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError("vxsum.strategies needs hypothesis: pip install 'vxsum[hypothesis]'") from err

from functools import partial

from .kversion import Kernel
from .scenario import Cluster, KubeProxy

__all__ = ["clusters", "kernels", "kube_proxies", "seeds"]

# (series, first fixed patch or None when the series never got the fix, last patch seen)
_SERIES = [
    ((5, 4), 41, 300),
    ((4, 19), 123, 325),
    ((4, 14), 181, 336),
    ((5, 6), 13, 19),
    ((5, 5), None, 19),
    ((5, 3), None, 18),
    ((4, 18), None, 20),
    ((3, 10), None, 0),
]


@st.composite
def kernels(draw: st.DrawFn, fixed: bool | None = None) -> Kernel:
    """Linux releases; ``fixed`` picks those with (True) or without (False) the NAT fix."""
    choices: list[st.SearchStrategy[Kernel]] = []
    for (major, minor), first_fixed, last in _SERIES:
        if fixed is not True:
            top = (first_fixed - 1) if first_fixed is not None else last
            choices.append(st.integers(0, top).map(partial(Kernel, major, minor)))
        if fixed is not False and first_fixed is not None:
            choices.append(st.integers(first_fixed, last).map(partial(Kernel, major, minor)))
    if fixed is not False:
        choices.append(st.builds(Kernel, st.integers(5, 6), st.integers(7, 18), st.integers(0, 99)))
    kernel = draw(st.one_of(choices))
    assert fixed is None or kernel.nat_skips_zero_udp_checksum is fixed
    return kernel


@st.composite
def kube_proxies(draw: st.DrawFn, unmarks: bool | None = None) -> KubeProxy:
    """kube-proxy releases with ``--random-fully``; ``unmarks`` picks PR 92035's side."""
    if unmarks is None:
        unmarks = draw(st.booleans())
    if unmarks:
        return draw(
            st.one_of(
                st.builds(KubeProxy, st.just(1), st.just(16), st.integers(13, 15)),
                st.builds(KubeProxy, st.just(1), st.just(17), st.integers(9, 17)),
                st.builds(KubeProxy, st.just(1), st.just(18), st.integers(6, 20)),
                st.builds(KubeProxy, st.just(1), st.integers(19, 34), st.integers(0, 12)),
            )
        )
    return draw(
        st.one_of(
            st.builds(KubeProxy, st.just(1), st.just(18), st.integers(0, 5)),
            st.builds(KubeProxy, st.just(1), st.just(17), st.integers(0, 8)),
            st.builds(KubeProxy, st.just(1), st.just(16), st.integers(0, 12)),
        )
    )


def seeds() -> st.SearchStrategy[int]:
    """Seeds for the kernel's random choices in :func:`vxsum.scenario.run`."""
    return st.integers(0, 2**32 - 1)


@st.composite
def clusters(
    draw: st.DrawFn,
    *,
    kernel: st.SearchStrategy[Kernel] | None = None,
    udp_csum: bool | None = None,
    unmarks: bool | None = None,
    vxlan_tx: bool | None = None,
    underlay_tx: bool | None = None,
    veth: bool | None = None,
    calico: bool | None = None,
) -> Cluster:
    """Cluster configurations; every keyword pins one setting, None lets it vary."""

    def pick(value: bool | None) -> bool:
        return draw(st.booleans()) if value is None else value

    port, vni = (4789, 4096) if pick(calico) else (8472, 1)
    return Cluster(
        kernel=draw(kernel if kernel is not None else kernels()),
        kube_proxy=draw(kube_proxies(unmarks)),
        vxlan_port=port,
        vni=vni,
        udp_csum=pick(udp_csum),
        vxlan_tx_csum=pick(vxlan_tx),
        underlay_tx_csum=pick(underlay_tx),
        underlay_is_veth=pick(veth),
        txrehash=draw(st.booleans()),
    )
