"""The seed statistics over the indexer's reporting store (never over the chain).

企业融资信息统计, 企业融资情况报表, 报关单核验失败统计 and the duplicate/over-financing
interceptions, scoped to a bank statistician's bank or the regulator's view of all.
"""

from .model import Column, Filters, Report, Scope
from .queries import (
    REPORTS,
    financing_report,
    firm_statistics,
    interceptions,
    verification_failures,
)

__all__ = [
    "REPORTS",
    "Column",
    "Filters",
    "Report",
    "Scope",
    "financing_report",
    "firm_statistics",
    "interceptions",
    "verification_failures",
]
