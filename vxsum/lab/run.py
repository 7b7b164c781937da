"""The real-kernel lab: the kernel model's oracle, built in network namespaces.

``python -m vxsum.lab`` (root, Linux; needs iproute2, iptables, conntrack, ethtool,
tcpdump) builds the two-node overlay of real-kernel-lab.md, sends bounded traffic from
a host process on node A to a service whose pod runs behind node B, captures the
underlay at both ends and reads B's counters and A's conntrack table. :mod:`vxsum.lab.check`
then compares every captured checksum field with the model's prediction.

Everything stays inside namespaces created here (names start with ``vxl``), with
addresses from 198.18.0.0/15 and 2001:db8:7::/64 (underlay) and 100.64.0.0/10 (pods
and services); packet counts and times are bounded, and the namespaces are deleted
afterwards, also when a step fails.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["LabConfig", "LabRun", "LabUnavailable", "lab_unavailable", "run_lab"]

TOOLS = ("ip", "iptables", "ip6tables", "conntrack", "ethtool", "tcpdump", "nstat", "bridge")
NODE_A4, NODE_B4 = "198.18.0.1", "198.18.0.2"
NODE_A6, NODE_B6 = "2001:db8:7::1", "2001:db8:7::2"
SNAT_A4, SNAT_A6 = "198.18.0.11", "2001:db8:7::11"  # the outer SNAT target (outer_snat)
VXLAN_A, VXLAN_B, POD, POD_GW = "100.96.0.0", "100.96.1.0", "100.96.1.2", "100.96.1.1"
VIP, PORT = "100.100.0.10", 53


class LabUnavailable(RuntimeError):
    """The machine cannot run the lab (not root, not Linux, a tool missing)."""


def lab_unavailable() -> str | None:
    """Why the lab cannot run here, or None if it can."""
    if sys.platform != "linux":
        return "the lab needs Linux network namespaces"
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces, iptables)"
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        return (
            "missing tools: "
            + ", ".join(missing)
            + " (Debian: iproute2 iptables conntrack ethtool tcpdump)"
        )
    return None


@dataclass(frozen=True, slots=True)
class LabConfig:
    """One cell of the lab matrix."""

    udp_csum: bool = True  # VXLAN outer checksum (udpcsum / noudp6zerocsumtx)
    post_92035: bool = False  # kube-proxy rules that clear the mark before MASQUERADE
    vxlan_tx: bool = True  # tx-checksum-ip-generic on flannel.1
    underlay_tx: bool = True  # tx checksum offload on the veth underlay of node A
    ipv6_underlay: bool = False
    outer_snat: bool = False  # an extra SNAT of the outer packets to a second address of A
    vxlan_port: int = 8472
    vni: int = 1
    udp_exchanges: int = 4
    tcp_connects: int = 4
    tcp_timeout: float = 3.5

    @property
    def label(self) -> str:
        def on(flag: bool) -> str:
            return "on" if flag else "off"

        return (
            f"{'v6' if self.ipv6_underlay else 'v4'} udpcsum={on(self.udp_csum)} "
            f"{'post' if self.post_92035 else 'pre'}-92035 vxlan-tx={on(self.vxlan_tx)} "
            f"underlay-tx={on(self.underlay_tx)}{' outer-snat' if self.outer_snat else ''}"
        )


@dataclass
class LabRun:
    """What one run produced: captures, counters, conntrack text and the client's results."""

    config: LabConfig
    capture_a: Path
    capture_b: Path
    counters_b: dict[str, int]
    conntrack_a: str
    udp_ok: int
    tcp_times: list[float | None] = field(default_factory=list)  # None: connect failed
    txrehash: int = 1


_CLIENT = r"""
import json, socket, sys, threading, time
n_udp, n_tcp, timeout = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
ok = 0
for i in range(n_udp):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1.0)
    s.sendto(b"vxsum-lab-%d" % i, ("%VIP%", %PORT%))
    try:
        s.recvfrom(100); ok += 1
    except OSError:
        pass
    s.close()
times = [None] * n_tcp
def connect(k):
    s = socket.socket(); s.settimeout(timeout); t = time.monotonic()
    try:
        s.connect(("%VIP%", %PORT%)); times[k] = round(time.monotonic() - t, 3)
    except OSError:
        pass
    s.close()
threads = [threading.Thread(target=connect, args=(k,)) for k in range(n_tcp)]
[t.start() for t in threads]; [t.join() for t in threads]
print(json.dumps({"udp_ok": ok, "tcp": times}))
""".replace("%VIP%", VIP).replace("%PORT%", str(PORT))

_SERVER = r"""
import socket, threading, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", %PORT%))
def echo():
    while True:
        d, a = u.recvfrom(2048); u.sendto(d, a)
threading.Thread(target=echo, daemon=True).start()
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("0.0.0.0", %PORT%)); t.listen(64); t.settimeout(60)
end = time.monotonic() + 60
while time.monotonic() < end:
    try:
        c, _ = t.accept(); c.close()
    except OSError:
        break
""".replace("%PORT%", str(PORT))


def _sh(*args: str, ns: str | None = None, check: bool = True) -> str:
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


class _Namespaces:
    """Creates the lab's namespaces and deletes them on exit, whatever happened."""

    def __init__(self) -> None:
        tag = f"vxl{os.getpid() % 100000}x{int(time.time() * 1000) % 10000}"
        self.a, self.b, self.pod = f"{tag}a", f"{tag}b", f"{tag}p"
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> _Namespaces:
        for ns in (self.a, self.b, self.pod):
            _sh("ip", "netns", "add", ns)
            _sh("ip", "link", "set", "lo", "up", ns=ns)
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
        for ns in (self.a, self.b, self.pod):
            _sh("ip", "netns", "del", ns, check=False)

    def spawn(self, ns: str, *args: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.procs.append(proc)
        return proc


def _cmd(ns: str | None, command: str) -> str:
    """Run one command line (split on spaces) in namespace ``ns``."""
    return _sh(*command.split(), ns=ns)


def _build(ns: _Namespaces, cfg: LabConfig) -> None:
    a, b, pod = ns.a, ns.b, ns.pod
    v6 = cfg.ipv6_underlay
    _cmd(None, f"ip link add a0 netns {a} type veth peer name b0 netns {b}")
    for n, dev, v4addr, v6addr in ((a, "a0", NODE_A4, NODE_A6), (b, "b0", NODE_B4, NODE_B6)):
        _cmd(n, f"ip addr add {v4addr}/24 dev {dev}")
        if v6:
            _cmd(n, f"ip addr add {v6addr}/64 dev {dev} nodad")
        _cmd(n, f"ip link set {dev} up")
    if v6:
        csum = (
            "noudp6zerocsumtx noudp6zerocsumrx" if cfg.udp_csum else "udp6zerocsumtx udp6zerocsumrx"
        )
    else:
        csum = "udpcsum" if cfg.udp_csum else "noudpcsum"
    under = {a: NODE_A6 if v6 else NODE_A4, b: NODE_B6 if v6 else NODE_B4}
    macs = {}
    for n, dev, me in ((a, "a0", VXLAN_A), (b, "b0", VXLAN_B)):
        _cmd(
            n,
            f"ip link add flannel.1 type vxlan id {cfg.vni} dstport {cfg.vxlan_port} "
            f"local {under[n]} dev {dev} nolearning {csum}",
        )
        _cmd(n, f"ip addr add {me}/32 dev flannel.1")
        _cmd(n, "ip link set flannel.1 up")
        macs[n] = json.loads(_cmd(n, "ip -j link show flannel.1"))[0]["address"]
    for n, peer, peer_vx, peer_net in (
        (a, b, VXLAN_B, "100.96.1.0/24"),
        (b, a, VXLAN_A, "100.96.0.0/24"),
    ):
        _cmd(n, f"ip neigh add {peer_vx} lladdr {macs[peer]} dev flannel.1")
        _cmd(n, f"bridge fdb append {macs[peer]} dev flannel.1 dst {under[peer]}")
        _cmd(n, f"ip route add {peer_net} via {peer_vx} dev flannel.1 onlink")
    _cmd(None, f"ip link add pb0 netns {b} type veth peer name eth0 netns {pod}")
    _cmd(b, f"ip addr add {POD_GW}/24 dev pb0")
    _cmd(b, "ip link set pb0 up")
    _cmd(pod, f"ip addr add {POD}/24 dev eth0")
    _cmd(pod, "ip link set eth0 up")
    _cmd(pod, f"ip route add default via {POD_GW}")
    _cmd(b, "sysctl -qw net.ipv4.ip_forward=1")
    # The service address is routed through the underlay, so a host process sends from
    # the node address and its socket sees the underlay's offload (real-kernel-lab.md).
    _cmd(a, f"ip route add {VIP}/32 dev a0 src {NODE_A4}")
    _kube_proxy_rules(a, cfg.post_92035)
    if cfg.outer_snat:  # real-kernel-lab.md: "An outer address rewrite, seen"
        tool, local, extra, plen = (
            ("ip6tables", NODE_A6, SNAT_A6, 64) if v6 else ("iptables", NODE_A4, SNAT_A4, 24)
        )
        _cmd(a, f"ip addr add {extra}/{plen} dev a0{' nodad' if v6 else ''}")
        _cmd(
            a,
            f"{tool} -t nat -I POSTROUTING -s {local} -p udp --dport {cfg.vxlan_port} "
            f"-j SNAT --to-source {extra}",
        )
    _cmd(a, f"ethtool -K a0 tx {'on' if cfg.underlay_tx else 'off'}")
    _cmd(a, f"ethtool -K flannel.1 tx-checksum-ip-generic {'on' if cfg.vxlan_tx else 'off'}")


def _kube_proxy_rules(ns: str, post_92035: bool) -> None:
    """KUBE-MARK-MASQ, the service DNAT and KUBE-POSTROUTING before or after PR 92035."""
    for tool in ("iptables", "ip6tables"):  # the outer packets may be IPv6
        nat = f"{tool} -t nat"
        _cmd(ns, f"{nat} -N KUBE-MARK-MASQ")
        _cmd(ns, f"{nat} -A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000")
        _cmd(ns, f"{nat} -N KUBE-POSTROUTING")
        _cmd(ns, f"{nat} -A POSTROUTING -j KUBE-POSTROUTING")
        if post_92035:
            _cmd(ns, f"{nat} -A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN")
            _cmd(ns, f"{nat} -A KUBE-POSTROUTING -j MARK --xor-mark 0x4000")
            _cmd(ns, f"{nat} -A KUBE-POSTROUTING -j MASQUERADE --random-fully")
        else:
            _cmd(
                ns,
                f"{nat} -A KUBE-POSTROUTING -m mark --mark 0x4000/0x4000 "
                "-j MASQUERADE --random-fully",
            )
    for proto in ("udp", "tcp"):
        service = f"iptables -t nat -A OUTPUT -d {VIP}/32 -p {proto} --dport {PORT}"
        _cmd(ns, f"{service} ! -s 100.96.0.0/16 -j KUBE-MARK-MASQ")
        _cmd(ns, f"{service} -j DNAT --to-destination {POD}:{PORT}")


def _wait_for(proc: subprocess.Popen[bytes], text: bytes, timeout: float) -> None:
    """Read ``proc``'s stderr until ``text`` appears (tcpdump's start-up line)."""
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    seen = b""
    while text not in seen:
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} did not start: {seen.decode(errors='replace')}")
        seen += proc.stderr.read1(4096) if hasattr(proc.stderr, "read1") else b""


def _counters(ns: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in _sh("nstat", "-az", ns=ns).splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


def run_lab(cfg: LabConfig, workdir: Path) -> LabRun:
    """Build the overlay for ``cfg``, send the traffic, capture, and tear everything down."""
    reason = lab_unavailable()
    if reason:
        raise LabUnavailable(reason)
    workdir.mkdir(parents=True, exist_ok=True)
    cap_a, cap_b = workdir / "node-a.pcap", workdir / "node-b.pcap"
    with _Namespaces() as ns:
        _build(ns, cfg)
        ns.spawn(ns.pod, sys.executable, "-c", _SERVER)
        dumps = [
            ns.spawn(ns.a, "tcpdump", "-i", "a0", "--immediate-mode", "-U", "-w", str(cap_a)),
            ns.spawn(ns.b, "tcpdump", "-i", "b0", "--immediate-mode", "-U", "-w", str(cap_b)),
        ]
        for dump in dumps:  # tcpdump says "listening on" once it captures
            _wait_for(dump, b"listening on", timeout=15)
        time.sleep(float(os.environ.get("VXSUM_LAB_SETTLE", "0.3")))  # let the servers bind
        client = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                ns.a,
                sys.executable,
                "-c",
                _CLIENT,
                str(cfg.udp_exchanges),
                str(cfg.tcp_connects),
                str(cfg.tcp_timeout),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        time.sleep(0.5)
        for dump in dumps:
            dump.send_signal(signal.SIGINT)
            dump.wait(timeout=10)
        if client.returncode != 0:
            raise RuntimeError(f"lab client failed: {client.stderr.strip()}")
        result = json.loads(client.stdout)
        rehash = _sh("sysctl", "-n", "net.core.txrehash", ns=ns.a, check=False).strip()
        return LabRun(
            cfg,
            cap_a,
            cap_b,
            _counters(ns.b),
            _sh("conntrack", "-L", ns=ns.a, check=False),
            result["udp_ok"],
            result["tcp"],
            int(rehash) if rehash.isdigit() else 1,
        )
