"""The registry of detectors. Each is one function from a ScanContext to Evidence;
adding a signal is adding a function and a line in DETECTORS."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from minewatch.detect.behaviour import FLOW, eligible, feature_matrix, load_model
from minewatch.detect.context import ScanContext
from minewatch.intel.indicators import Category, Indicator
from minewatch.model.findings import Activity, Endpoint, Evidence, EvidenceKind

__all__ = ["COLUMNS_READ", "DETECTORS", "ROW_COLUMNS", "Detector", "run_detectors"]

Detector = Callable[[ScanContext], Iterator[Evidence]]

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
    for row in _rows(f, mask):
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
            flow_id=row["flow_id"],
            bytes=_bytes(row),
        )


def behaviour_timing(ctx: ScanContext) -> Iterator[Evidence]:
    """A long connection whose payload cannot be read but which moves like stratum
    (detect/behaviour.py). Weaker than reading the protocol or knowing the pool."""
    model = load_model()
    candidates = ctx.flows.filter(eligible(ctx.flows))
    if candidates.num_rows == 0:
        return
    x = feature_matrix(candidates)
    scores = model.score(x)
    extra = ("application", "c2s_bursts", "small_answers", "c2s_burst_cv")
    picked = pa.array(scores >= model.threshold)
    for row, score in zip(_rows(candidates, picked, extra), scores[scores >= model.threshold], strict=True):
        first, last = _times(row)
        spread = "unknown" if row["c2s_burst_cv"] is None else f"{row['c2s_burst_cv']:.0%}"
        what = "TLS connection" if row["application"] == "tls" else "connection with an unreadable payload"
        detail = (
            f"{what} to {row['server_ip']}:{row['server_port']} for {(last - first).total_seconds():.0f} s "
            f"moves like stratum: {row['small_answers']} of {row['c2s_bursts'] - 2} client messages answered "
            f"at once with fewer bytes, client messages of near-equal size (spread {spread}); "
            f"behavioural model score {score:.2f}, weaker evidence than reading the protocol or a known pool"
        )
        yield Evidence(
            row["client_ip"],
            Activity.MINING,
            EvidenceKind.BEHAVIOUR,
            round(0.3 + 0.3 * float(score), 2),
            detail,
            first,
            last,
            peer=_peer(row),
            protocol=row["application"],
            conn_id=row["conn_id"],
            source=ctx.source,
            flow_id=row["flow_id"],
            bytes=_bytes(row),
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
    for row in _rows(candidates, picked, ("c2s_packets", "s2c_packets")):
        first, last = _times(row)
        detail = (
            f"flow record to {row['server_ip']}:{row['server_port']}, a port mining pools use, for "
            f"{(last - first).total_seconds():.0f} s: {row['c2s_packets']} packets out and "
            f"{row['s2c_packets']} back, sizes and rate like a mining session's "
            "(every counter within the range of real mining sessions); counters only, the weakest "
            "evidence: corroborate with DNS, intel or a capture"
        )
        yield Evidence(
            row["client_ip"],
            Activity.MINING,
            EvidenceKind.BEHAVIOUR,
            0.35,
            detail,
            first,
            last,
            peer=_peer(row),
            conn_id=row["conn_id"],
            source=ctx.source,
            flow_id=row["flow_id"],
            bytes=_bytes(row),
        )


def _intel_evidence(row: dict[str, Any], ind: Indicator, how: str, strength: float, source: str) -> Evidence:
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
        peer=_peer(row),
        coin=ind.coin,
        conn_id=row["conn_id"],
        source=source,
        flow_id=row["flow_id"],
        bytes=_bytes(row),
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
    for row, ind in _intel_rows(ctx, "server_name", ctx.intel.match_domain, ("sni", "http_host")):
        direct = row["server_name"] in (row["sni"], row["http_host"])
        how = "connects to" if direct else "connects to an address resolved from"
        yield _intel_evidence(row, ind, how, 0.85 if direct else 0.75, ctx.source)


def intel_server_ip(ctx: ScanContext) -> Iterator[Evidence]:
    """A connection to an address on an indicator list (weaker: addresses change hands)."""
    for row, ind in _intel_rows(ctx, "server_ip", ctx.intel.match_ip, candidates=ctx.intel.ip_candidates):
        yield _intel_evidence(row, ind, "connects to listed address", 0.6, ctx.source)


def intel_dns_query(ctx: ScanContext) -> Iterator[Evidence]:
    """A DNS query for a listed name: the asking host means to reach it."""
    for row, ind in _intel_rows(ctx, "dns_query", ctx.intel.match_domain, ("dns_query",)):
        yield _intel_evidence(row, ind, "looks up", 0.5, ctx.source)


def crypto_p2p(ctx: ScanContext) -> Iterator[Evidence]:
    """Cryptocurrency peer-to-peer traffic: a node, not a miner."""
    f = ctx.flows
    mask = pc.is_in(f["application"], pa.array(list(_P2P)))
    for row in _rows(f, pc.fill_null(mask, False), ("application",)):
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
            flow_id=row["flow_id"],
            bytes=_bytes(row),
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


DETECTORS: tuple[Detector, ...] = (
    dissected_mining,
    sv2_noise_handshake,
    behaviour_timing,
    behaviour_flow_counters,
    intel_server_name,
    intel_server_ip,
    intel_dns_query,
    crypto_p2p,
)


# Every flow column a detector reads: detection over stored flows (a store, a cluster
# engine) reads only these. tests/test_flowlogs.py checks that they are enough.
COLUMNS_READ = (
    *ROW_COLUMNS,
    "ip_proto",
    "c2s_packets",
    "s2c_packets",
    "application",
    "sni",
    "http_host",
    "dns_query",
    "c2s_first_payload",
    "s2c_first_payload",
    "c2s_bursts",
    "s2c_bursts",
    "small_answers",
    "c2s_burst_cv",
    "mining",
)


def run_detectors(ctx: ScanContext, detectors: tuple[Detector, ...] = DETECTORS) -> list[Evidence]:
    """All evidence the detectors find in one input."""
    return [ev for detector in detectors for ev in detector(ctx)]
