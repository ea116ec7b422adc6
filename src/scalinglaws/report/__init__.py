"""Figures (matplotlib), interactive figures (Plotly) and the self-contained HTML report."""

from .content import Report, build_report
from .html import render_html, write_report

__all__ = ["Report", "build_report", "render_html", "write_report"]
