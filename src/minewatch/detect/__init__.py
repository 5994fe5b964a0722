"""Detectors turn flows and dissected sessions into Evidence; fusion turns evidence into
Findings per host and activity."""

from minewatch.detect.context import HomeNetworks, ScanContext
from minewatch.detect.detectors import DETECTORS, Detector, run_detectors
from minewatch.detect.fusion import fuse

__all__ = ["DETECTORS", "Detector", "HomeNetworks", "ScanContext", "fuse", "run_detectors"]
