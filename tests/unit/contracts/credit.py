"""Shared set-up of the credit-information query and credit-matching contract tests.

Accounts (free in the platform fixture): 2 bank A's querier, 3 bank B's querier, 22 bank A's
outlet keeper, 23 bank A's matcher, 24 bank A's acceptor, 25 bank B's outlet keeper, 26 bank
B's matcher and acceptor. Bank openers get the SERVICE stage in both credit scenarios.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crossborder.domain.codes import Scenario, Stage

from .conftest import bind

QRY = Scenario.CREDIT_QUERY
MATCH = Scenario.CREDIT_MATCH
REGION = 610100  # 西安市
OTHER_REGION = 370100  # 济南市


@dataclass
class CreditDesk:
    """One bank's credit operators: one stage each."""

    id: bytes
    opener: Any
    querier: Any
    keeper: Any
    matcher: Any
    acceptor: Any


def credit_desks(consortium, regulator, accounts, bank_a, bank_b) -> tuple[CreditDesk, CreditDesk]:
    """Binds the credit operators of both banks and grants the openers SERVICE in both scenarios."""
    for bank in (bank_a, bank_b):
        for scenario in (QRY, MATCH):
            consortium.set_roles(bank.opener, scenario, Stage.SERVICE, sender=regulator)
    bind(consortium, regulator, accounts[2], bank_a.id, {QRY: Stage.QUERY})
    bind(consortium, regulator, accounts[3], bank_b.id, {QRY: Stage.QUERY})
    bind(consortium, regulator, accounts[22], bank_a.id, {MATCH: Stage.OUTLETS})
    bind(consortium, regulator, accounts[23], bank_a.id, {MATCH: Stage.MATCH})
    bind(consortium, regulator, accounts[24], bank_a.id, {MATCH: Stage.ACCEPT})
    bind(consortium, regulator, accounts[25], bank_b.id, {MATCH: Stage.OUTLETS})
    bind(consortium, regulator, accounts[26], bank_b.id, {MATCH: Stage.MATCH | Stage.ACCEPT})
    desk_a = CreditDesk(
        bank_a.id, bank_a.opener, accounts[2], accounts[22], accounts[23], accounts[24]
    )
    desk_b = CreditDesk(
        bank_b.id, bank_b.opener, accounts[3], accounts[25], accounts[26], accounts[26]
    )
    return desk_a, desk_b
