"""Reports for auditors: the run report (HTML, self-contained, charts as inline SVG)."""

from pipelines.reports.run_report import REPORT_NAME, build_run_report

__all__ = ["REPORT_NAME", "build_run_report"]
