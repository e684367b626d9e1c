"""Event-log exports for process-mining tools: XES and OCEL 2.0 (see docs/report.md)."""

from pipeline.export.log import FORMATS, export_log, ocel_format_for

__all__ = ["FORMATS", "export_log", "ocel_format_for"]
