"""Inputs: packet captures and live interfaces (through the Rust engine)."""

from minewatch.sources.base import BatchCapture, Capture, EngineBatch, EngineOptions
from minewatch.sources.live import read_interface
from minewatch.sources.pcap import CAPTURE_SUFFIXES, FileCapture, expand_paths, read_tables

__all__ = [
    "CAPTURE_SUFFIXES",
    "BatchCapture",
    "Capture",
    "EngineBatch",
    "EngineOptions",
    "FileCapture",
    "expand_paths",
    "read_interface",
    "read_tables",
]
