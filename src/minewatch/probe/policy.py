"""Which addresses may be probed: never one the user excludes, and private, loopback,
link-local, multicast and reserved ranges only when asked (`--probe-private`)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from minewatch.errors import OptionError

__all__ = ["Policy", "parse_exclusions"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _network(text: str, where: str) -> Network:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        expected = "an address or network such as 203.0.113.0/24, or a file of them"
        raise OptionError(where, text, expected) from None


def parse_exclusions(values: list[str] | tuple[str, ...]) -> tuple[Network, ...]:
    """Networks from `--probe-exclude` values: each a CIDR or address, or a file with one
    per line (`#` comments). OptionError for anything else."""
    out: list[Network] = []
    for value in values:
        path = Path(value)
        if not path.is_file():
            out.append(_network(value, "--probe-exclude"))
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            text = line.split("#", 1)[0].strip()
            if text:
                out.append(_network(text, f"--probe-exclude {value}:{n}"))
    return tuple(out)


@dataclass(frozen=True)
class Policy:
    excluded: tuple[Network, ...] = ()
    allow_private: bool = False

    def refusal(self, ip: str) -> str | None:
        """Why `ip` must not be probed, or None if it may."""
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return f"not an address: {ip!r}"
        # An IPv4 address written as IPv6 (::ffff:a.b.c.d, 64:ff9b::a.b.c.d, 6to4's
        # 2002:AABB:CCDD::) is that address.
        if isinstance(addr, ipaddress.IPv6Address):
            if addr.ipv4_mapped is not None:
                addr = addr.ipv4_mapped
            elif addr.sixtofour is not None:
                addr = addr.sixtofour
            elif addr in _NAT64:
                addr = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        for net in self.excluded:
            if addr.version == net.version and addr in net:
                return f"excluded ({net})"
        if self.allow_private:
            return None
        for what, hit in (
            ("loopback", addr.is_loopback),
            ("link-local", addr.is_link_local),
            ("multicast", addr.is_multicast),
            ("unspecified", addr.is_unspecified),
            ("reserved", addr.is_reserved),
            ("private", addr.is_private),
            ("non-public", not addr.is_global),  # shared (100.64/10), 6to4 of private, ...
        ):
            if hit:
                return f"{what} address (probe with --probe-private)"
        return None


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
