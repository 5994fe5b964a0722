"""Renderings of the result document: JSON Lines here; bulletins later."""

from minewatch.report.jsonl import finding_to_json, result_to_json

__all__ = ["finding_to_json", "result_to_json"]
