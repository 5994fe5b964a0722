"""Live capture from a network interface for a bounded time (needs root or CAP_NET_RAW)."""

from __future__ import annotations

from minewatch import _engine  # type: ignore[attr-defined]
from minewatch.errors import CaptureReadError
from minewatch.sources.base import BatchCapture, EngineBatch, EngineOptions

__all__ = ["read_interface"]


def read_interface(
    interface: str, duration_s: float, options: EngineOptions, bpf_filter: str | None = None
) -> BatchCapture:
    """Capture on `interface` for `duration_s` seconds and return what was seen."""
    source = f"interface {interface}"
    try:
        flow_batches, message_batches, stats = _engine.capture_live(
            interface, duration_s, options.to_engine(), bpf_filter
        )
    except _engine.CaptureError as e:
        raise CaptureReadError(source, str(e).removeprefix(f"interface '{interface}': ")) from e
    # Messages first: every connection's messages are then held when its flow arrives.
    held: list[EngineBatch] = [("messages", b) for b in message_batches]
    held.extend(("flows", b) for b in flow_batches)
    return BatchCapture(source, tuple(held), stats)
