"""minewatch: find, measure and attribute cryptocurrency mining in network traffic."""

from minewatch.model import Activity, Evidence, Finding, ScanResult

__all__ = ["Activity", "Evidence", "Finding", "ScanResult", "__version__"]
__version__ = "0.1.0"
