"""The types that travel between stages: flows (Arrow), evidence, findings, results."""

from minewatch.model.findings import (
    Activity,
    Bounds,
    Endpoint,
    Evidence,
    EvidenceKind,
    Finding,
    Hashrate,
    Power,
    ScanResult,
    Shares,
)
from minewatch.model.schema import FLOW_SCHEMA, MESSAGE_SCHEMA, MessageKind

__all__ = [
    "FLOW_SCHEMA",
    "MESSAGE_SCHEMA",
    "Activity",
    "Endpoint",
    "Evidence",
    "EvidenceKind",
    "Finding",
    "Hashrate",
    "MessageKind",
    "Bounds",
    "Power",
    "ScanResult",
    "Shares",
]
