"""Detectors turn flows and dissected sessions into Evidence; fusion turns evidence into
Findings per host and activity."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from minewatch.detect.context import HomeNetworks, ScanContext
from minewatch.detect.registry import DETECTORS, Detector, run_detectors

if TYPE_CHECKING:
    from minewatch.detect.fusion import fuse

__all__ = ["DETECTORS", "Detector", "HomeNetworks", "ScanContext", "fuse", "run_detectors"]


def __getattr__(name: str) -> Any:
    # Fusion brings the estimate models (and scipy); a process that only detects, such as
    # a worker over stored flows, does without them.
    if name == "fuse":
        from minewatch.detect.fusion import fuse

        return fuse
    raise AttributeError(name)
