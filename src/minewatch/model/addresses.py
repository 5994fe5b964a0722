"""IP addresses between their text form (the flow schema's) and 32-bit numbers (the
store's second form, which detection reads far faster), over whole Arrow arrays."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# The parsing is the engine's: per address, which no Python may do for millions of rows.
from minewatch import _engine  # type: ignore[attr-defined]

__all__ = ["ipv4_numbers", "ipv4_text"]


def ipv4_numbers(ips: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Dotted-quad text as uint32; null for anything else (IPv6, null, malformed)."""
    if isinstance(ips, pa.ChunkedArray):
        ips = ips.combine_chunks()
    return _engine.ipv4_numbers(ips.cast(pa.string()))


def ipv4_text(numbers: pa.Array | pa.ChunkedArray) -> pa.Array:
    """uint32 addresses as dotted-quad text (null stays null)."""
    if isinstance(numbers, pa.ChunkedArray):
        numbers = numbers.combine_chunks()
    n = np.asarray(pc.fill_null(numbers, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    parts = [pc.cast(pa.array((n >> shift) & 255), pa.string()) for shift in (24, 16, 8, 0)]
    text = pc.binary_join_element_wise(*parts, ".")
    return pc.if_else(pc.is_valid(numbers), text, pa.scalar(None, pa.string()))
