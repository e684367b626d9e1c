"""The analysts' HTML report (see docs/report.md)."""

from pipeline.report.build import build_report
from pipeline.report.load import NothingPublishedError

__all__ = ["build_report", "NothingPublishedError"]
