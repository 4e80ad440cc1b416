"""Export receivables financing (出口应收账款融资): the generic desk with the receivables spec."""

from __future__ import annotations

from ..chain.signers import Signer
from ..domain.scenarios import RECEIVABLES
from .financing import FinancingDesk
from .platform import Platform


class ReceivablesDesk(FinancingDesk):
    """A bank operator's desk for export receivables financing, citing export declarations."""

    def __init__(self, platform: Platform, operator: Signer) -> None:
        super().__init__(platform, operator, RECEIVABLES)
