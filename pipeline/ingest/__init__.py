"""Ingestion: landing files or source databases -> staged, quarantined, accounted for."""

from pipeline.ingest.extract import IngestResult, conform_columns, ingest_source
from pipeline.ingest.mapping import SourceMapping, load_mapping

__all__ = ["IngestResult", "SourceMapping", "conform_columns", "ingest_source", "load_mapping"]
