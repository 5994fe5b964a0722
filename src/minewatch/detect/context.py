"""What every detector is given."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

from minewatch.detect.standing import NameStanding
from minewatch.intel.indicators import IndicatorSet
from minewatch.protocols.base import MiningSession

__all__ = ["ACTIVE_TIMEOUT", "DEFAULT_HOME_NETWORKS", "HomeNetworks", "ScanContext"]

# The end reason of a long connection's interim records: its session is on its last one.
ACTIVE_TIMEOUT = "active-timeout"

# The address space a sensor usually watches: private, shared, loopback and link-local.
DEFAULT_HOME_NETWORKS = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "fc00::/7",
    "fe80::/10",
    "::1/128",
)


class HomeNetworks:
    """The networks whose hosts are ours: a pool server or node found there is reported."""

    def __init__(self, cidrs: tuple[str, ...] = DEFAULT_HOME_NETWORKS) -> None:
        self.networks = tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)

    def __contains__(self, ip: object) -> bool:
        if not isinstance(ip, str):
            return False
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(addr in net for net in self.networks)


@dataclass(frozen=True)
class ScanContext:
    """One input's flows (with `server_name` and `source`), its dissected sessions by
    connection, the indicators and the home networks. `conn_started` says when the
    connections cut by the active timeout began and how many bytes they carried before
    their last record."""

    source: str
    flows: pa.Table
    sessions: dict[int, MiningSession]
    intel: IndicatorSet
    home: HomeNetworks
    conn_started: dict[int, tuple[datetime, int]] = field(default_factory=dict)
    # Server names whose standing weighs against mining (detect/standing.py).
    standing: NameStanding = field(default_factory=NameStanding)
