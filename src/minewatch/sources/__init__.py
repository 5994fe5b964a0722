"""Inputs: packet captures and live interfaces (through the Rust engine)."""

from minewatch.sources.base import Capture, EngineOptions, Source
from minewatch.sources.live import read_interface
from minewatch.sources.pcap import CAPTURE_SUFFIXES, expand_paths, read_capture

__all__ = [
    "CAPTURE_SUFFIXES",
    "Capture",
    "EngineOptions",
    "Source",
    "expand_paths",
    "read_capture",
    "read_interface",
]
