"""Synthetic traffic: the bundled sample capture and the benchmark's mixed capture."""

from minewatch.synth.generator import GeneratorConfig, generate

__all__ = ["GeneratorConfig", "generate"]
