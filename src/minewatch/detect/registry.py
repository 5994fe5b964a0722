"""The registry of detectors: one record per detector saying what it runs, which flow
columns it reads, which stored rows it needs and what kind of evidence it gives. A live
scan (scan.py) and detection over stored flows (detect/stored.py) both run from here, so
adding a signal is one function in detect/detectors.py and one record below."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from minewatch.detect import detectors as d
from minewatch.detect.behaviour import MIN_DURATION_S, MIN_FLOW_PACKETS, USUAL_POOL_PORTS
from minewatch.detect.context import ScanContext
from minewatch.intel.indicators import IndicatorSet
from minewatch.model.findings import Evidence, EvidenceKind

__all__ = ["COLUMNS_READ", "DETECTORS", "Detector", "by_name", "columns_read", "run_detectors"]

# SQL over stored flows, true for every row a detector might turn into evidence; given the
# indicators and whether addresses are the store's numeric columns (server_ip4, server_ip6).
StoreFilter = Callable[[IndicatorSet, bool], tuple[str, ...]]


@dataclass(frozen=True)
class Detector:
    """One detector: `run` turns an input's flows into evidence of `kind`; it reads
    ROW_COLUMNS and `reads`; over a store it is given the rows `store_filter` admits
    (and every other record of their connections, for their bytes)."""

    name: str
    run: Callable[[ScanContext], Iterator[Evidence]]
    kind: EvidenceKind
    reads: tuple[str, ...]
    store_filter: StoreFilter

    def __call__(self, ctx: ScanContext) -> Iterator[Evidence]:
        return self.run(ctx)


def _sql(*clauses: str) -> StoreFilter:
    return lambda _intel, _numeric: clauses


def _net_octets(intel: IndicatorSet) -> tuple[list[str], bool]:
    """First octets any listed IPv4 network covers (a cheap, conservative test), and
    whether any IPv6 network is listed."""
    octets: set[int] = set()
    v6 = False
    for ind in intel:
        if ind.kind in ("ip", "domain"):
            continue
        net = ipaddress.ip_network(ind.value, strict=False)
        if net.version == 6:
            v6 = True
            continue
        octets.update(range(int(net.network_address) >> 24, (int(net.broadcast_address) >> 24) + 1))
    return [str(o) for o in sorted(octets)], v6


def _listed_addresses(intel: IndicatorSet, numeric: bool) -> tuple[str, ...]:
    """Rows to a listed address (`listed_ips`: columns ip and ip4, registered by the caller)."""
    octets, v6 = _net_octets(intel)
    if numeric:
        listed = ["server_ip4 IN (SELECT ip4 FROM listed_ips)", "server_ip6 IN (SELECT ip FROM listed_ips)"]
        if octets:  # networks, by first octet
            listed.append(f"server_ip4 >> 24 IN ({', '.join(octets)})")
        if v6:
            listed.append("server_ip6 IS NOT NULL")
    else:
        listed = ["server_ip IN (SELECT ip FROM listed_ips)"]
        if octets:
            listed.append(f"split_part(server_ip, '.', 1) IN ({', '.join(repr(o) for o in octets)})")
        if v6:
            listed.append("contains(server_ip, ':')")
    return tuple(listed)


_POOL_PORTS = ", ".join(str(p) for p in USUAL_POOL_PORTS)
_BURSTS = (
    "c2s_bursts",
    "s2c_bursts",
    "s2c_pushes",
    "small_answers",
    "c2s_burst_mean",
    "s2c_burst_mean",
    "c2s_burst_cv",
    "c2s_gap_cv",
    "c2s_gap_peak",
    "s2c_gap_peak",
)

DETECTORS: tuple[Detector, ...] = (
    Detector(
        "dissected-mining",
        d.dissected_mining,
        EvidenceKind.DISSECTOR,
        ("mining", "end_reason"),
        _sql("mining IS NOT NULL"),
    ),
    Detector(
        "sv2-noise-handshake",
        d.sv2_noise_handshake,
        EvidenceKind.BEHAVIOUR,
        ("c2s_first_payload", "s2c_first_payload", "application"),
        _sql("c2s_first_payload IS NOT NULL"),
    ),
    Detector(
        "behaviour-timing",
        d.behaviour_timing,
        EvidenceKind.BEHAVIOUR,
        ("ip_proto", "application", "mining", "server_name", "sampling_rate", *_BURSTS),
        _sql("c2s_bursts IS NOT NULL"),
    ),
    Detector(
        "behaviour-flow-counters",
        d.behaviour_flow_counters,
        EvidenceKind.BEHAVIOUR,
        ("ip_proto", "application", "mining", "c2s_bursts", "c2s_packets", "s2c_packets", "sampling_rate"),
        _sql(
            f"ip_proto = 6 AND server_port IN ({_POOL_PORTS}) AND c2s_packets >= {MIN_FLOW_PACKETS} "
            f"AND s2c_packets >= {MIN_FLOW_PACKETS} "
            f"AND last_seen - first_seen >= INTERVAL {int(MIN_DURATION_S)} SECOND"
        ),
    ),
    Detector(
        "intel-server-name",
        d.intel_server_name,
        EvidenceKind.INTEL,
        ("sni", "http_host", "mining"),
        _sql("server_name IS NOT NULL"),
    ),
    Detector("intel-server-ip", d.intel_server_ip, EvidenceKind.INTEL, ("mining",), _listed_addresses),
    Detector(
        "intel-dns-query",
        d.intel_dns_query,
        EvidenceKind.INTEL,
        ("dns_query", "dns_answers", "mining"),
        _sql("dns_query IS NOT NULL"),
    ),
    Detector("crypto-p2p", d.crypto_p2p, EvidenceKind.P2P, ("application",), _sql("application IS NOT NULL")),
)


def by_name(*names: str) -> tuple[Detector, ...]:
    """The registered detectors of these names, in the order given. Raises KeyError."""
    known = {det.name: det for det in DETECTORS}
    return tuple(known[n] for n in names)


def columns_read(chosen: Sequence[Detector] = DETECTORS) -> tuple[str, ...]:
    """The flow columns `chosen` read, ROW_COLUMNS first."""
    return tuple(dict.fromkeys((*d.ROW_COLUMNS, *(c for det in chosen for c in det.reads))))


# Every flow column a detector reads: detection over stored flows (a store, a cluster
# engine) reads only these. tests/test_flowlogs.py checks that they are enough.
COLUMNS_READ = columns_read()


def run_detectors(ctx: ScanContext, chosen: Sequence[Detector] = DETECTORS) -> list[Evidence]:
    """All evidence the detectors find in one input."""
    return [ev for det in chosen for ev in det.run(ctx)]
