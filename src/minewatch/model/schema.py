"""Arrow schemas of the flow and message tables.

The engine (engine/src/out.rs) produces these columns; the mining block is added in Python
by the dissectors. A test checks that the engine and this module agree.
"""

from __future__ import annotations

from enum import IntEnum

import pyarrow as pa

__all__ = [
    "EXPORT_RECORD_SCHEMA",
    "FLOW_SCHEMA",
    "MESSAGE_SCHEMA",
    "MINING_TYPE",
    "RECORD_SCHEMA",
    "SAMPLING_RATE",
    "MessageKind",
    "Direction",
]

_TS = pa.timestamp("us", tz="UTC")


class Direction(IntEnum):
    CLIENT_TO_SERVER = 0
    SERVER_TO_CLIENT = 1


class MessageKind(IntEnum):
    """What a row of the message table holds (engine/src/stream.rs `MsgKind`)."""

    JSON_LINE = 0
    HTTP_HEAD = 1
    HTTP_BODY = 2
    SV2_FRAME = 3


ENGINE_FLOW_SCHEMA = pa.schema(
    [
        pa.field("flow_id", pa.uint64(), nullable=False),
        pa.field("conn_id", pa.uint64(), nullable=False),
        pa.field("first_seen", _TS, nullable=False),
        pa.field("last_seen", _TS, nullable=False),
        pa.field("ip_proto", pa.uint8(), nullable=False),
        pa.field("client_ip", pa.string(), nullable=False),
        pa.field("client_port", pa.uint16(), nullable=False),
        pa.field("server_ip", pa.string(), nullable=False),
        pa.field("server_port", pa.uint16(), nullable=False),
        pa.field("vlan", pa.uint16(), nullable=False),
        pa.field("c2s_packets", pa.uint64(), nullable=False),
        pa.field("s2c_packets", pa.uint64(), nullable=False),
        pa.field("c2s_bytes", pa.uint64(), nullable=False),
        pa.field("s2c_bytes", pa.uint64(), nullable=False),
        pa.field("c2s_payload_bytes", pa.uint64(), nullable=False),
        pa.field("s2c_payload_bytes", pa.uint64(), nullable=False),
        pa.field("c2s_payload_packets", pa.uint32(), nullable=False),
        pa.field("s2c_payload_packets", pa.uint32(), nullable=False),
        pa.field("tcp_flags", pa.uint8(), nullable=False),
        pa.field("end_reason", pa.string(), nullable=False),
        pa.field("application", pa.string()),
        pa.field("sni", pa.string()),
        pa.field("http_host", pa.string()),
        pa.field("http_method", pa.string()),
        pa.field("http_user_agent", pa.string()),
        pa.field("ja3", pa.string()),
        pa.field("ja4", pa.string()),
        pa.field("alpn", pa.string()),
        pa.field("dns_query", pa.string()),
        pa.field("dns_answers", pa.list_(pa.string())),
        pa.field("dns_rcode", pa.uint8()),
        pa.field("resolved_name", pa.string()),
        pa.field("c2s_first_payload", pa.uint32()),
        pa.field("s2c_first_payload", pa.uint32()),
        pa.field("messages", pa.uint32(), nullable=False),
        pa.field("messages_truncated", pa.bool_(), nullable=False),
        pa.field("stream_gaps", pa.uint32(), nullable=False),
        # Payload timing (engine/src/bursts.rs), for the behavioural detector; null where
        # a source (a flow export) cannot see packets.
        pa.field("c2s_bursts", pa.uint32()),
        pa.field("s2c_bursts", pa.uint32()),
        pa.field("s2c_pushes", pa.uint32()),
        pa.field("small_answers", pa.uint32()),
        pa.field("c2s_burst_mean", pa.float32()),
        pa.field("s2c_burst_mean", pa.float32()),
        pa.field("c2s_burst_cv", pa.float32()),
        pa.field("s2c_burst_cv", pa.float32()),
        pa.field("c2s_gap_cv", pa.float32()),
        pa.field("s2c_gap_cv", pa.float32()),
        # Periodicity of the gaps (share in the busiest two of sqrt(2)-wide bins).
        pa.field("c2s_gap_peak", pa.float32()),
        pa.field("s2c_gap_peak", pa.float32()),
    ]
)

# The mining block, filled by the dissectors for flows that carried a mining protocol.
MINING_TYPE = pa.struct(
    [
        pa.field("protocol", pa.string()),
        pa.field("methods", pa.list_(pa.string())),
        pa.field("login", pa.string()),
        pa.field("agent", pa.string()),
        pa.field("algorithm", pa.string()),
        pa.field("jobs", pa.uint32()),
        pa.field("difficulty", pa.list_(pa.struct([("ts", _TS), ("value", pa.float64())]))),
        pa.field("shares_submitted", pa.uint32()),
        pa.field("shares_accepted", pa.uint32()),
        pa.field("shares_rejected", pa.uint32()),
        pa.field("reported_hashrate", pa.float64()),
        # Enough to rebuild the session (protocols/base.py MiningSession) from stored flows,
        # so detection over a store estimates as the scan of the capture did.
        pa.field("logins", pa.list_(pa.string())),
        pa.field("confidence", pa.float64()),
        pa.field("server_confirmed", pa.bool_()),
        pa.field("difficulty_unit", pa.string()),
        pa.field("work", pa.list_(pa.struct([("ts", _TS), ("value", pa.float64())]))),
        pa.field("block_bits", pa.string()),
        pa.field(
            "shares",
            pa.list_(pa.struct([("ts", _TS), ("difficulty", pa.float64()), ("accepted", pa.bool_())])),
        ),
        pa.field("first_ts", _TS),
        pa.field("last_ts", _TS),
        # CryptoNote jobs that named no algorithm: their shapes (protocols/session.py BlobShape).
        pa.field(
            "blob_shapes",
            pa.list_(
                pa.struct(
                    [("blob_bytes", pa.int32()), ("major_version", pa.int32()), ("target_chars", pa.int32())]
                )
            ),
        ),
    ]
)

# What only a packet capture can tell: a flow export (NetFlow, IPFIX, nfdump, Zeek) leaves
# these null, so beyond the engine they are nullable.
PACKET_ONLY = (
    "vlan",
    "c2s_payload_bytes",
    "s2c_payload_bytes",
    "c2s_payload_packets",
    "s2c_payload_packets",
    "messages",
    "messages_truncated",
    "stream_gaps",
)

# 1 in N packets (or flows) an exporter sampled; packets and bytes are already scaled by
# N, so they are estimates where N > 1 (engine/src/sampling.rs). A packet capture sees every
# packet: 1. Null where a source cannot say (flows stored before it was kept): read as 1.
SAMPLING_RATE = pa.field("sampling_rate", pa.float64())

# The flow record every source hands to analysis: the engine's columns, with the
# packet-only ones nullable, and the sampling rate.
RECORD_SCHEMA = pa.schema(
    [*(f.with_nullable(True) if f.name in PACKET_ONLY else f for f in ENGINE_FLOW_SCHEMA), SAMPLING_RATE]
)

# One direction of a flow, as NetFlow v5/v9 and IPFIX exporters and nfdump report it
# (engine/src/netflow.rs); `rev_*` are set by RFC 5103 biflow exporters.
EXPORT_RECORD_SCHEMA = pa.schema(
    [
        pa.field("exporter", pa.string(), nullable=False),
        pa.field("first_seen", _TS, nullable=False),
        pa.field("last_seen", _TS, nullable=False),
        pa.field("ip_proto", pa.uint8(), nullable=False),
        pa.field("src_ip", pa.string(), nullable=False),
        pa.field("src_port", pa.uint16(), nullable=False),
        pa.field("dst_ip", pa.string(), nullable=False),
        pa.field("dst_port", pa.uint16(), nullable=False),
        pa.field("packets", pa.uint64(), nullable=False),
        pa.field("bytes", pa.uint64(), nullable=False),
        pa.field("tcp_flags", pa.uint8(), nullable=False),
        pa.field("rev_packets", pa.uint64()),
        pa.field("rev_bytes", pa.uint64()),
        SAMPLING_RATE.with_nullable(False),
    ]
)

FLOW_SCHEMA = (
    RECORD_SCHEMA.append(pa.field("source", pa.string()))
    .append(pa.field("server_name", pa.string()))
    .append(pa.field("mining", MINING_TYPE))
)

MESSAGE_SCHEMA = pa.schema(
    [
        pa.field("conn_id", pa.uint64(), nullable=False),
        pa.field("index", pa.uint32(), nullable=False),
        pa.field("ts", _TS, nullable=False),
        pa.field("direction", pa.uint8(), nullable=False),
        pa.field("kind", pa.uint8(), nullable=False),
        pa.field("data", pa.binary(), nullable=False),
        pa.field("truncated", pa.bool_(), nullable=False),
    ]
)
