"""Statistics and the HTML curation report of a run's output folder."""

from metacurate.report.html import render_report, write_report
from metacurate.report.stats import Run, load_run

__all__ = ["Run", "load_run", "render_report", "write_report"]
