"""Live capture from a network interface for a bounded time (needs root or CAP_NET_RAW)."""

from __future__ import annotations

from minewatch import _engine  # type: ignore[attr-defined]
from minewatch.errors import CaptureReadError
from minewatch.sources.base import Capture, EngineOptions, report_from_stats, tables_from_engine

__all__ = ["read_interface"]


def read_interface(
    interface: str, duration_s: float, options: EngineOptions, bpf_filter: str | None = None
) -> Capture:
    """Capture on `interface` for `duration_s` seconds and return what was seen."""
    source = f"interface {interface}"
    try:
        flow_batches, message_batches, stats = _engine.capture_live(
            interface, duration_s, options.to_engine(), bpf_filter
        )
    except _engine.CaptureError as e:
        raise CaptureReadError(source, str(e).removeprefix(f"interface '{interface}': ")) from e
    flows, messages = tables_from_engine(flow_batches, message_batches)
    return Capture(source, flows, messages, report_from_stats(source, stats, flows.num_rows))
