"""Generated flow records naming test sites, for the candidates and trading-traces tests:
a DNS lookup, a TLS connection (SNI), an HTTP request (Host) or a connection to an
address a lookup gave (resolved_name), as FLOW_SCHEMA rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pyarrow as pa

from minewatch.model.schema import FLOW_SCHEMA

START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
_IDS = count(1)


def flow(
    client: str, server: str, port: int, minute: float = 0.0, size: int = 1000, **extra: Any
) -> dict[str, Any]:
    i = next(_IDS)
    first = START + timedelta(minutes=minute)
    return {
        "flow_id": i,
        "conn_id": i,
        "first_seen": first,
        "last_seen": first + timedelta(seconds=30),
        "ip_proto": 17 if port == 53 else 6,
        "client_ip": client,
        "client_port": 40000 + i % 20000,
        "server_ip": server,
        "server_port": port,
        "c2s_packets": 2,
        "s2c_packets": 2,
        "c2s_bytes": size // 4,
        "s2c_bytes": size - size // 4,
        "tcp_flags": 0,
        "end_reason": "idle",
        **extra,
    }


def lookup(client: str, name: str, answers: list[str] | None = None, minute: float = 0.0) -> dict[str, Any]:
    return flow(client, "8.8.8.8", 53, minute, 200, dns_query=name, dns_answers=answers, application="dns")


def tls(client: str, server: str, name: str, minute: float = 0.0, size: int = 1000) -> dict[str, Any]:
    return flow(client, server, 443, minute, size, sni=name, server_name=name, application="tls")


def http(client: str, server: str, host: str, minute: float = 0.0, size: int = 1000) -> dict[str, Any]:
    return flow(client, server, 80, minute, size, http_host=host, server_name=host, application="http")


def resolved(client: str, server: str, name: str, minute: float = 0.0, size: int = 1000) -> dict[str, Any]:
    return flow(client, server, 8443, minute, size, resolved_name=name, server_name=name)


def table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, FLOW_SCHEMA)
