"""Synthetic council extracts with ground truth (``journeys generate``)."""

from pipeline.generate.council import DEFAULT_END, GenerateSummary, generate_council

__all__ = ["DEFAULT_END", "GenerateSummary", "generate_council"]
