"""council-journeys: end-to-end customer journeys from a council's operational extracts."""

__version__ = "0.1.0"
