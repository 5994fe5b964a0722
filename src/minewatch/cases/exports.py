"""Enforcement lists from the cases under block: a DNS RPZ zone, an nftables script with
per-element timeouts, a hosts file, Suricata IP-reputation files and a STIX 2.1 bundle.

A case in `blocked` or `verifying` contributes its pools (names and addresses) and, for a
pool server, the host itself; a site or app case its domain names (RPZ, hosts, STIX),
URLs and package file hashes (STIX), never the address it is hosted on. Each entry
expires at the case's deadline, or `ttl` from now. A closed case contributes nothing:
writing the lists again withdraws its entries."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zone
import stix2
from sqlalchemy import select
from sqlalchemy.orm import Session

from minewatch.cases.models import Case, Status
from minewatch.detect.standing import NameStanding
from minewatch.model.findings import Finding
from minewatch.model.subject import SUBJECT_KINDS
from minewatch.sites.finding import SiteFinding

__all__ = ["BlockEntry", "block_entries", "write_exports"]

BLOCKING = (Status.BLOCKED.value, Status.VERIFYING.value)
RPZ_ORIGIN = "rpz.minewatch."
SURICATA_CATEGORY = 1


@dataclass(frozen=True)
class BlockEntry:
    kind: str  # "ip", "name", "url" or "file-sha256" (an app's package file)
    value: str
    case_id: int
    expires: datetime
    reason: str = "Cryptocurrency mining"


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def block_entries(session: Session, now: datetime, ttl: timedelta = timedelta(days=7)) -> list[BlockEntry]:
    """What the cases under block ask to block, one entry per value (the latest expiry)."""
    found: dict[tuple[str, str], BlockEntry] = {}
    for case in session.scalars(select(Case).where(Case.status.in_(BLOCKING))):
        expires = _aware(case.deadline) if case.deadline is not None else now + ttl
        if expires <= now:
            expires = now + ttl  # an overdue case stays blocked until someone acts on it
        if case.activity in SUBJECT_KINDS:
            values, reason = _subject_values(case)
        else:
            values, reason = _mining_values(case), "Cryptocurrency mining"
        for kind, value in values:
            entry = BlockEntry(kind, value, case.id, expires, reason)
            old = found.get((kind, value))
            if old is None or old.expires < expires:
                found[(kind, value)] = entry
    return sorted(found.values(), key=lambda e: (e.kind, e.value))


def _mining_values(case: Case) -> set[tuple[str, str]]:
    """A mining case's pools (names and addresses) and, for a pool server, the host."""
    values: set[tuple[str, str]] = set()
    if case.activity == "pool-server":
        values.add(("ip", case.host))
    for link in case.findings:
        for pool in Finding.from_json(json.loads(link.finding)).pools:
            # A pool known only by name (a lookup with no answer) has no address to block.
            if _is_address(pool.ip):
                values.add(("ip", pool.ip))
            if pool.name:
                values.add(("name", pool.name.rstrip(".").lower()))
    return values


def _subject_values(case: Case) -> tuple[set[tuple[str, str]], str]:
    """A site or app case's names, URLs and package files. Never the hosting address: one
    address serves many sites (shared hosting, CDNs), so blocking it would take others."""
    values: set[tuple[str, str]] = set()
    classes: list[str] = []
    for link in case.findings:
        f = SiteFinding.from_json(json.loads(link.finding), where=f"case {case.id}")
        classes.append(f.cls.value)
        # A platform's name (an app store, a social network) is never blocked whole for
        # one page or app on it: its URL (STIX) is what can be acted on.
        values.update(("name", n) for n in f.names if not _standing().known(n))
        values.update(("url", u) for u in (f.target, f.url, f.download_url) if u)
        if f.file_sha256:
            values.add(("file-sha256", f.file_sha256))
    what = classes[-1] if classes else "?"
    return values, f"Virtual-currency {case.activity} ({what})"


@cache
def _standing() -> NameStanding:
    return NameStanding()


def _rpz(entries: Iterable[BlockEntry], now: datetime) -> str:
    zone = dns.zone.Zone(dns.name.from_text(RPZ_ORIGIN))
    serial = int(now.timestamp())
    soa = f"localhost. hostmaster.localhost. {serial} 3600 600 604800 60"
    zone.find_rdataset("@", dns.rdatatype.SOA, create=True).add(
        dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.SOA, soa), 60
    )
    zone.find_rdataset("@", dns.rdatatype.NS, create=True).add(
        dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.NS, "localhost."), 60
    )
    nxdomain = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.CNAME, ".")
    for e in entries:
        if e.kind == "name":
            owners = [e.value, f"*.{e.value}"]
        elif e.kind != "ip":
            continue  # URLs and files: STIX only
        else:
            addr = ipaddress.ip_address(e.value)
            if addr.version == 4:
                owners = [f"32.{'.'.join(reversed(e.value.split('.')))}.rpz-ip"]
            else:
                groups = addr.exploded.split(":")
                owners = [f"128.{'.'.join(reversed(groups))}.rpz-ip"]
        for owner in owners:
            zone.find_rdataset(owner, dns.rdatatype.CNAME, create=True).add(nxdomain, 60)
    return str(zone.to_text(relativize=True))


def _nftables(entries: Iterable[BlockEntry], now: datetime) -> str:
    v4: list[str] = []
    v6: list[str] = []
    for e in entries:
        if e.kind != "ip":
            continue
        seconds = max(60, int((e.expires - now).total_seconds()))
        element = f"{e.value} timeout {seconds}s"
        (v4 if ipaddress.ip_address(e.value).version == 4 else v6).append(element)
    lines = [
        "# minewatch: addresses of the cases under block; each element expires with its case.",
        "table inet minewatch {",
        "  set blocked4 { type ipv4_addr; flags timeout;"
        + (f" elements = {{ {', '.join(v4)} }}" if v4 else "")
        + " }",
        "  set blocked6 { type ipv6_addr; flags timeout;"
        + (f" elements = {{ {', '.join(v6)} }}" if v6 else "")
        + " }",
        "  chain forward {",
        "    type filter hook forward priority 0; policy accept;",
        "    ip daddr @blocked4 drop",
        "    ip saddr @blocked4 drop",
        "    ip6 daddr @blocked6 drop",
        "    ip6 saddr @blocked6 drop",
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def _hosts(entries: Iterable[BlockEntry]) -> str:
    lines = ["# minewatch: names of the pools, sites and apps of the cases under block"]
    lines += [f"0.0.0.0 {e.value}" for e in entries if e.kind == "name"]
    return "\n".join(lines) + "\n"


def _stix(entries: Iterable[BlockEntry], now: datetime) -> str:
    identity = stix2.Identity(name="minewatch", identity_class="system")
    objects: list[object] = [identity]
    for e in entries:
        if e.kind == "name":
            pattern = f"[domain-name:value = '{_stix_quoted(e.value)}']"
        elif e.kind == "url":
            pattern = f"[url:value = '{_stix_quoted(e.value)}']"
        elif e.kind == "file-sha256":
            pattern = f"[file:hashes.'SHA-256' = '{e.value}']"
        else:
            kind = "ipv4-addr" if ipaddress.ip_address(e.value).version == 4 else "ipv6-addr"
            pattern = f"[{kind}:value = '{e.value}']"
        objects.append(
            stix2.Indicator(
                name=f"{e.reason}: {e.value} (case {e.case_id})",
                indicator_types=["malicious-activity"],
                pattern=pattern,
                pattern_type="stix",
                valid_from=now,
                valid_until=e.expires,
                created_by_ref=identity.id,
            )
        )
    return str(stix2.Bundle(objects=objects, allow_custom=False).serialize(pretty=True))


def _stix_quoted(text: str) -> str:
    """A string inside a STIX pattern's quotes: backslash and quote escaped."""
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def write_exports(
    session: Session, folder: Path, now: datetime, ttl: timedelta = timedelta(days=7)
) -> list[BlockEntry]:
    """Write every enforcement list into `folder` (replacing the last ones); returns the
    entries they hold."""
    entries = block_entries(session, now, ttl)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "minewatch.rpz").write_text(_rpz(entries, now))
    (folder / "minewatch.nft").write_text(_nftables(entries, now))
    (folder / "hosts").write_text(_hosts(entries))
    (folder / "suricata-categories.txt").write_text(
        f"{SURICATA_CATEGORY},Mining,Cryptocurrency mining pools and pool servers\n"
    )
    (folder / "suricata-reputation.txt").write_text(
        "".join(f"{e.value},{SURICATA_CATEGORY},100\n" for e in entries if e.kind == "ip")
    )
    (folder / "minewatch-stix.json").write_text(_stix(entries, now))
    return entries
