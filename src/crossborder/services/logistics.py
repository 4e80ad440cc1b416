"""Logistics financing (西部陆海新通道 / 中欧班列长安号 / 齐鲁号): the generic desk with the logistics spec.

Logistics operators register rail waybills and bills of lading (``DocumentRegistry.register_transport``),
linked where known to the export declaration of the same goods; banks finance against them.
"""

from __future__ import annotations

from ..chain.signers import Signer
from ..domain.scenarios import LOGISTICS
from .financing import FinancingDesk
from .platform import Platform


class LogisticsDesk(FinancingDesk):
    """A bank operator's desk for logistics financing, citing waybills or bills of lading."""

    def __init__(self, platform: Platform, operator: Signer) -> None:
        super().__init__(platform, operator, LOGISTICS)
