"""The detectors: each one function from a ScanContext to Evidence. What each reads and
which stored rows it needs is declared beside the others in detect/registry.py, the one
place a new detector is added."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from minewatch.detect.behaviour import FLOW, behaviour_strength, eligible, feature_matrix, load_model
from minewatch.detect.context import ScanContext
from minewatch.detect.standing import ODDS_AGAINST
from minewatch.intel.indicators import Category, Indicator
from minewatch.model.findings import Activity, Endpoint, Evidence, EvidenceKind
from minewatch.model.sampling import scaled_counts

__all__ = [
    "ROW_COLUMNS",
    "behaviour_flow_counters",
    "behaviour_timing",
    "crypto_p2p",
    "dissected_mining",
    "intel_dns_query",
    "intel_server_ip",
    "intel_server_name",
    "sv2_noise_handshake",
]

_ACTIVITY = {
    Category.POOL: Activity.MINING,
    Category.WEB_MINER: Activity.WEB_MINER,
    Category.EXCHANGE: Activity.EXCHANGE,
}
_P2P = {
    "bitcoin-p2p": ("Bitcoin", 0.95),
    "litecoin-p2p": ("Litecoin", 0.95),
    "dogecoin-p2p": ("Dogecoin", 0.95),
    "monero-p2p": ("Monero", 0.95),
    "ethereum-p2p": ("Ethereum", 0.8),
}
ROW_COLUMNS = (
    "flow_id",
    "conn_id",
    "first_seen",
    "last_seen",
    "client_ip",
    "server_ip",
    "server_port",
    "server_name",
    "c2s_bytes",
    "s2c_bytes",
)


def _rows(
    table: pa.Table, mask: pa.ChunkedArray | pa.Array, extra: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    picked = table.filter(mask)
    if picked.num_rows == 0:
        return []
    return picked.select([*ROW_COLUMNS, *extra]).to_pylist()  # type: ignore[no-any-return]


def _peer(row: dict[str, Any]) -> Endpoint:
    return Endpoint(row["server_ip"], row["server_port"], row.get("server_name"))


def _short(text: str, keep: int = 24) -> str:
    return text if len(text) <= keep else text[: keep - 1] + "…"


def _bytes(row: dict[str, Any]) -> int:
    return int(row["c2s_bytes"] + row["s2c_bytes"])


def _times(row: dict[str, Any]) -> tuple[datetime, datetime]:
    return row["first_seen"], row["last_seen"]


# A connection for counting bytes: one client, one server address and port.
CONN_KEYS = ("client_ip", "server_ip", "server_port")
ConnKey = tuple[str, str, int]


def _connections(flows: pa.Table, rows: list[dict[str, Any]]) -> dict[ConnKey, tuple[int, int]]:
    """For each connection of `rows`: its first flow id in `flows` and the bytes of all
    its records there. Evidence on a connection carries these, so fusion counts each
    record once however many detectors, or records, point at it (detect/fusion.py)."""
    if not rows:
        return {}
    servers = pa.array(sorted({r["server_ip"] for r in rows}), pa.string())
    picked = flows.filter(pc.is_in(flows["server_ip"], value_set=servers))
    grouped = (
        picked.select([*CONN_KEYS, "flow_id", "c2s_bytes", "s2c_bytes"])
        .group_by(list(CONN_KEYS), use_threads=False)
        .aggregate([("flow_id", "min"), ("c2s_bytes", "sum"), ("s2c_bytes", "sum")])
    )
    names = (*CONN_KEYS, "flow_id_min", "c2s_bytes_sum", "s2c_bytes_sum")
    cols = [grouped[n].to_pylist() for n in names]
    return {(c, s, p): (f, up + down) for c, s, p, f, up, down in zip(*cols, strict=True)}


def _record(row: dict[str, Any], conns: dict[ConnKey, tuple[int, int]]) -> dict[str, Any]:
    """The flow id and bytes an evidence on `row`'s connection carries."""
    flow_id, total = conns[(row["client_ip"], row["server_ip"], row["server_port"])]
    return {"flow_id": flow_id, "bytes": total}


def dissected_mining(ctx: ScanContext) -> Iterator[Evidence]:
    """A connection whose messages parse as a mining protocol."""
    if not ctx.sessions:
        return
    wanted = pa.array(list(ctx.sessions), pa.uint64())
    seen: set[int] = set()
    for row in _rows(ctx.flows, pc.is_in(ctx.flows["conn_id"], wanted)):
        conn = row["conn_id"]
        if conn in seen:
            continue  # a connection split by the active timeout has one session
        seen.add(conn)
        s = ctx.sessions[conn]
        peer = _peer(row)
        login = f", login {_short(s.logins[0])}" if s.logins else ""
        detail = (
            f"{s.protocol} session with {peer.ip}:{peer.port}: {s.jobs} jobs, "
            f"{s.accepted} of {s.submitted} shares accepted{login}"
        )
        first, last = _times(row)
        # A long connection began, and carried bytes, before its last record.
        first, before = ctx.conn_started.get(conn, (first, 0))
        yield Evidence(
            row["client_ip"],
            Activity.MINING,
            EvidenceKind.DISSECTOR,
            s.confidence,
            detail,
            first,
            last,
            peer=peer,
            protocol=s.protocol,
            algorithm=s.algorithm,
            conn_id=conn,
            source=ctx.source,
            flow_id=row["flow_id"],
            bytes=before + _bytes(row),
        )
        if s.server_confirmed and row["server_ip"] in ctx.home:
            yield Evidence(
                row["server_ip"],
                Activity.POOL_SERVER,
                EvidenceKind.DISSECTOR,
                min(s.confidence, 0.95),
                f"serves {s.protocol} to {row['client_ip']} on port {peer.port}",
                first,
                last,
                peer=Endpoint(row["client_ip"], 0, None),
                protocol=s.protocol,
                source=ctx.source,
            )


def sv2_noise_handshake(ctx: ScanContext) -> Iterator[Evidence]:
    """Stratum V2 over Noise: a 64-byte client key answered by a 234-byte server message
    (stratum-mining/sv2-spec 04; noise-sv2 INITIATOR_EXPECTED_HANDSHAKE_MESSAGE_SIZE)."""
    f = ctx.flows
    mask = pc.and_(pc.equal(f["c2s_first_payload"], 64), pc.equal(f["s2c_first_payload"], 234))
    mask = pc.and_(pc.fill_null(mask, False), pc.is_null(f["application"]))
    rows = _rows(f, mask)
    conns = _connections(f, rows)
    for row in rows:
        first, last = _times(row)
        yield Evidence(
            row["client_ip"],
            Activity.MINING,
            EvidenceKind.BEHAVIOUR,
            0.6,
            f"Stratum V2 Noise handshake with {row['server_ip']}:{row['server_port']}"
            " (64-byte key, 234-byte reply)",
            first,
            last,
            peer=_peer(row),
            protocol="stratum-v2",
            conn_id=row["conn_id"],
            source=ctx.source,
            **_record(row, conns),
        )


def behaviour_timing(ctx: ScanContext) -> Iterator[Evidence]:
    """A long connection whose payload cannot be read but which moves like stratum
    (detect/behaviour.py). Weaker than reading the protocol or knowing the pool; a server
    name of standing (detect/standing.py) weighs against it."""
    model = load_model()
    candidates = ctx.flows.filter(eligible(ctx.flows))
    if candidates.num_rows == 0:
        return
    scores = model.score(feature_matrix(candidates))
    names = candidates["server_name"] if "server_name" in candidates.column_names else None
    known = ctx.standing.mask(names) if names is not None else np.zeros(len(scores), bool)
    scores = np.where(known, scores / (scores + (1.0 - scores) * ODDS_AGAINST), scores)
    hit = scores >= model.threshold
    extra = ("application", "c2s_bursts", "small_answers", "c2s_burst_cv", "c2s_gap_cv", "c2s_gap_peak")
    rows = _rows(candidates, pa.array(hit), extra)
    conns = _connections(ctx.flows, rows)
    for row, score in zip(rows, scores[hit], strict=True):
        first, last = _times(row)
        yield Evidence(
            row["client_ip"],
            Activity.MINING,
            EvidenceKind.BEHAVIOUR,
            behaviour_strength(model, float(score)),
            _timing_detail(row, float(score), first, last),
            first,
            last,
            peer=_peer(row),
            protocol=row["application"],
            conn_id=row["conn_id"],
            source=ctx.source,
            **_record(row, conns),
        )


def _pct(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.0%}"


def _timing_detail(row: dict[str, Any], score: float, first: datetime, last: datetime) -> str:
    what = "TLS connection" if row["application"] == "tls" else "connection with an unreadable payload"
    return (
        f"{what} to {row['server_ip']}:{row['server_port']} for {(last - first).total_seconds():.0f} s "
        f"moves like stratum: {row['small_answers']} of {row['c2s_bursts'] - 2} client messages answered "
        f"at once with fewer bytes, client messages of near-equal size (spread {_pct(row['c2s_burst_cv'])}), "
        f"sent at random like shares rather than by a clock (gap spread {_pct(row['c2s_gap_cv'])}, "
        f"{_pct(row['c2s_gap_peak'])} of gaps at one period); behavioural model score {score:.2f}, "
        "weaker evidence than reading the protocol, a known pool or a probe"
    )


def behaviour_flow_counters(ctx: ScanContext) -> Iterator[Evidence]:
    """A flow-export record (no payload, no bursts) to a port pools use, whose packets,
    bytes and rate per direction look like a mining session (detect/behaviour.py FLOW).
    The weakest signal minewatch gives: it says so, and asks for corroboration."""
    candidates = ctx.flows.filter(FLOW.eligible(ctx.flows))
    if FLOW.gate is not None:
        candidates = candidates.filter(FLOW.gate(candidates))
    if candidates.num_rows == 0:
        return
    model = load_model("flow")
    scores = model.score(FLOW.matrix(candidates))
    picked = pa.array(scores >= model.threshold)
    rows = _rows(candidates, picked, ("c2s_packets", "s2c_packets", "sampling_rate"))
    # A flagged host's traffic is all its records of that connection, not only the ones
    # the model judged (the rest fall outside its range, mostly short reconnects).
    conns = _connections(ctx.flows, rows)
    strength = behaviour_strength(model, 1.0)
    for row in rows:
        first, last = _times(row)
        detail = (
            f"flow record to {row['server_ip']}:{row['server_port']}, a port mining pools use, for "
            f"{(last - first).total_seconds():.0f} s: {row['c2s_packets']} packets out and "
            f"{row['s2c_packets']} back, sizes and rate like a mining session's "
            "(every counter within the range of real mining sessions); counters only, the weakest "
            "evidence: corroborate with DNS, intel or a capture"
            f"{scaled_counts(row.get('sampling_rate'))}"
        )
        yield Evidence(
            row["client_ip"],
            Activity.MINING,
            EvidenceKind.BEHAVIOUR,
            strength,
            detail,
            first,
            last,
            peer=_peer(row),
            conn_id=row["conn_id"],
            source=ctx.source,
            **_record(row, conns),
        )


def _intel_evidence(
    row: dict[str, Any],
    ind: Indicator,
    how: str,
    strength: float,
    source: str,
    peer: Endpoint,
    record: dict[str, Any],
) -> Evidence:
    activity = _ACTIVITY[ind.category]
    verb = {
        Activity.MINING: "mining pool",
        Activity.WEB_MINER: "web-mining service",
        Activity.EXCHANGE: "exchange",
    }
    first, last = _times(row)
    records = f"; {row['records']} flow records" if row["records"] > 1 else ""
    return Evidence(
        row["client_ip"],
        activity,
        EvidenceKind.INTEL,
        strength,
        f"{how} {ind.value}, a known {verb[activity]} ({ind.source}){records}",
        first,
        last,
        peer=peer,
        coin=ind.coin,
        conn_id=row["conn_id"],
        source=source,
        **record,
    )


# One piece of intel evidence per client, server and name, however many flow records
# (a flow export repeats a long connection every active timeout; a miner reconnects).
_GROUP_KEYS = ("client_ip", "server_ip", "server_port", "server_name", "session")
_GROUP_AGGREGATES = (
    ("first_seen", "min"),
    ("last_seen", "max"),
    ("c2s_bytes", "sum"),
    ("s2c_bytes", "sum"),
    ("flow_id", "min"),
    ("conn_id", "min"),
    ("flow_id", "count"),
)


def _grouped_rows(
    table: pa.Table, mask: pa.ChunkedArray | pa.Array, extra: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Rows under `mask`, merged per _GROUP_KEYS and `extra`: times span the group, bytes add up,
    `records` counts them. A dissected connection stays on its own (`session`), so its
    bytes are never counted twice with its session's."""
    picked = table.filter(mask)
    if picked.num_rows == 0:
        return []
    if "mining" in picked.column_names:
        session = pc.if_else(pc.is_valid(picked["mining"]), picked["conn_id"], pa.scalar(None, pa.uint64()))
    else:  # stored flow exports, read without the (always empty) mining block
        session = pa.nulls(picked.num_rows, pa.uint64())
    picked = picked.select([*ROW_COLUMNS, *extra]).append_column("session", session)
    keys = list(dict.fromkeys((*_GROUP_KEYS, *extra)))
    grouped = picked.group_by(keys, use_threads=False).aggregate(list(_GROUP_AGGREGATES))
    names = {f"{c}_{how}": c for c, how in _GROUP_AGGREGATES}
    names["flow_id_count"] = "records"
    rows: list[dict[str, Any]] = grouped.rename_columns(
        [names.get(n, n) for n in grouped.column_names]
    ).to_pylist()
    rows.sort(key=lambda r: (r["first_seen"], r["conn_id"]))
    return rows


def _intel_rows(
    ctx: ScanContext,
    column: str,
    match: Callable[[str], Indicator | None],
    extra: tuple[str, ...] = (),
    candidates: Callable[[pa.Array], pa.Array] | None = None,
) -> Iterator[tuple[dict[str, Any], Indicator]]:
    """Flows whose `column` matches an indicator, grouped (_grouped_rows); each distinct
    value is matched once, and only those `candidates` (a vectorised pre-filter) lets
    through."""
    col = ctx.flows[column]
    if candidates is not None:
        # Over every row at once: cheaper than finding the distinct values first.
        col = col.filter(candidates(col))
    values = pc.unique(pc.drop_null(col)).to_pylist()
    hits = {v: ind for v in values if (ind := match(v)) is not None}
    if not hits:
        return
    mask = pc.is_in(ctx.flows[column], pa.array(list(hits)))
    wanted = tuple(c for c in dict.fromkeys((column, *extra)) if c not in ROW_COLUMNS)
    for row in _grouped_rows(ctx.flows, mask, wanted):
        yield row, hits[row[column]]


def intel_server_name(ctx: ScanContext) -> Iterator[Evidence]:
    """A connection to a name (TLS SNI, HTTP Host, or DNS answer) on an indicator list."""
    rows = list(_intel_rows(ctx, "server_name", ctx.intel.match_domain, ("sni", "http_host")))
    conns = _connections(ctx.flows, [row for row, _ in rows])
    for row, ind in rows:
        direct = row["server_name"] in (row["sni"], row["http_host"])
        how = "connects to" if direct else "connects to an address resolved from"
        strength = 0.85 if direct else 0.75
        yield _intel_evidence(row, ind, how, strength, ctx.source, _peer(row), _record(row, conns))


def intel_server_ip(ctx: ScanContext) -> Iterator[Evidence]:
    """A connection to an address on an indicator list (weaker: addresses change hands)."""
    rows = list(_intel_rows(ctx, "server_ip", ctx.intel.match_ip, candidates=ctx.intel.ip_candidates))
    conns = _connections(ctx.flows, [row for row, _ in rows])
    for row, ind in rows:
        how = "connects to listed address"
        yield _intel_evidence(row, ind, how, 0.6, ctx.source, _peer(row), _record(row, conns))


def _first_addresses(flows: pa.Table, names: list[str]) -> dict[str, str]:
    """The first address a DNS answer gave each of `names` (CNAMEs skipped)."""
    found: dict[str, str] = {}
    picked = flows.filter(pc.is_in(flows["dns_query"], pa.array(names, pa.string())))
    for row in picked.select(["dns_query", "dns_answers"]).to_pylist():
        for answer in row["dns_answers"] or ():
            try:
                ipaddress.ip_address(answer)
            except ValueError:
                continue
            found.setdefault(row["dns_query"], answer)
            break
    return found


def intel_dns_query(ctx: ScanContext) -> Iterator[Evidence]:
    """A DNS query for a listed name: the asking host means to reach it. The pool is the
    name (at the address the answer gave, if any), never the resolver asked; and the
    lookup's bytes are not mining traffic."""
    rows = list(_intel_rows(ctx, "dns_query", ctx.intel.match_domain, ("dns_query",)))
    if not rows:
        return
    addresses = _first_addresses(ctx.flows, sorted({row["dns_query"] for row, _ in rows}))
    for row, ind in rows:
        name = row["dns_query"]
        # Port 0: a lookup does not say which port the pool will be reached on.
        peer = Endpoint(addresses.get(name, ""), 0, name)
        record = {"flow_id": row["flow_id"], "bytes": 0}
        yield _intel_evidence(row, ind, "looks up", 0.5, ctx.source, peer, record)


def crypto_p2p(ctx: ScanContext) -> Iterator[Evidence]:
    """Cryptocurrency peer-to-peer traffic: a node, not a miner."""
    f = ctx.flows
    mask = pc.is_in(f["application"], pa.array(list(_P2P)))
    rows = _rows(f, pc.fill_null(mask, False), ("application",))
    conns = _connections(f, rows)
    for row in rows:
        chain, strength = _P2P[row["application"]]
        first, last = _times(row)
        peer = _peer(row)
        yield Evidence(
            row["client_ip"],
            Activity.CRYPTO_NODE,
            EvidenceKind.P2P,
            strength,
            f"{chain} peer-to-peer protocol with {peer.ip}:{peer.port}",
            first,
            last,
            peer=peer,
            protocol=row["application"],
            conn_id=row["conn_id"],
            source=ctx.source,
            **_record(row, conns),
        )
        if row["server_ip"] in ctx.home:
            yield Evidence(
                row["server_ip"],
                Activity.CRYPTO_NODE,
                EvidenceKind.P2P,
                strength,
                f"accepts {chain} peer-to-peer connections on port {peer.port}",
                first,
                last,
                protocol=row["application"],
                source=ctx.source,
            )
