"""授权查证: the firm's authorisation of a bank, and the bank's audited queries.

The authorisation is the firm's signed consent in the ``CREDIT_QUERY`` scenario, its ``scope``
the credit information granted (``CreditScope``): the same EIP-712 consent, nonce and deadline
as every service opening (``sign_consent``, ``open_services``). The firm revokes a live one by
closing the service (the regulator may too), an unsubmitted one with ``revoke_consent``.

A query is first recorded on chain (``CreditQuery.record_query``), authorised or refused; a
refused one is counted there and then raised here as its typed ``QueryRefused``. Only an
authorised record lets the profile (``crossborder.credit.profile``) be read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..chain.sender import Receipt
from ..chain.signers import Signer
from ..domain.codes import CreditScope, QueryOutcome, Scenario
from ..domain.identifiers import validate_uscc
from ..errors import InvalidInput, TransactionFailed, query_refusal
from .consortium import SignedConsent, close_service, service_status, sign_consent
from .platform import Platform

CONTRACT = "CreditQuery"
# Measured: ~107,000 gas for the first query ever (three fresh counters), ~59,000 steady.
GAS_QUERY = 160_000


@dataclass(frozen=True)
class QueryRecord:
    """One audited query as the chain recorded it."""

    query_id: int
    bank: bytes
    firm: bytes
    scope: CreditScope
    outcome: QueryOutcome
    by: str
    tx_hash: str
    block_number: int


def check_scope(scope: int) -> CreditScope:
    """The scope as flags; at least one of basic, trade and regulatory credit, nothing else."""
    if isinstance(scope, bool) or not isinstance(scope, int) or not 0 < scope <= CreditScope.ALL:
        raise InvalidInput(
            f"scope {scope!r}: name basic (1), trade (2) and/or regulatory (4) credit", value=scope
        )
    return CreditScope(scope)


def authorise(
    platform: Platform,
    firm: Signer,
    firm_uscc: str,
    bank_uscc: str,
    valid_until: dt.datetime,
    scope: int = CreditScope.ALL,
) -> SignedConsent:
    """The firm's side: sign an authorisation of a bank to query ``scope`` until ``valid_until``
    (no transaction; the bank submits it with ``open_services``)."""
    return sign_consent(
        platform, firm, firm_uscc, bank_uscc, Scenario.CREDIT_QUERY, valid_until, check_scope(scope)
    )


def revoke(platform: Platform, signer: Signer, firm_uscc: str, bank_uscc: str) -> Receipt:
    """The firm (any account bound to it) or the regulator revokes a live authorisation."""
    return close_service(platform, signer, firm_uscc, bank_uscc, Scenario.CREDIT_QUERY)


def authorisation(
    platform: Platform, firm_uscc: str, bank_uscc: str
) -> tuple[dt.datetime | None, CreditScope]:
    """Until when a firm's authorisation of a bank is valid (None when none) and its scope."""
    until, scope = service_status(platform, firm_uscc, bank_uscc, Scenario.CREDIT_QUERY)
    return until, CreditScope(scope)


class CreditQueryDesk:
    """A bank operator holding the QUERY stage in the CREDIT_QUERY scenario."""

    def __init__(self, platform: Platform, operator: Signer) -> None:
        self.platform = platform
        self.operator = operator

    def record(self, firm_uscc: str, scope: int) -> QueryRecord:
        """Records a query on chain and returns its audit record.

        Raises:
            InvalidInput: The USCC or the scope is malformed (nothing is sent).
            QueryRefused: The query was refused (no live authorisation, expired, out of scope,
                firm deactivated) as its typed subclass; the refusal is recorded on chain.
        """
        firm = self.platform.ids.participant(validate_uscc(firm_uscc))
        scope = check_scope(scope)
        receipt = self.platform.transact(
            self.operator, CONTRACT, "record_query", firm, int(scope), gas=GAS_QUERY
        )
        record = self._record(receipt)
        if record.outcome != QueryOutcome.AUTHORISED:
            raise query_refusal(
                record.outcome,
                tx_hash=receipt.tx_hash,
                contract=self.platform.address(CONTRACT),
                value=record.query_id,
            )
        return record

    def check(self, firm_uscc: str, bank_uscc: str, scope: int) -> QueryOutcome:
        """What a query would be decided now (a view: nothing recorded)."""
        ids = self.platform.ids
        (outcome,) = self.platform.view(
            CONTRACT,
            "check",
            ids.participant(validate_uscc(firm_uscc)),
            ids.participant(validate_uscc(bank_uscc)),
            int(check_scope(scope)),
        )
        return QueryOutcome(outcome)

    def _record(self, receipt: Receipt) -> QueryRecord:
        for event in self.platform.decode(receipt.logs, "CreditQueried"):
            args = event.args
            return QueryRecord(
                query_id=int(args["query_id"]),
                bank=bytes(args["bank"]),
                firm=bytes(args["firm"]),
                scope=CreditScope(args["scope"]),
                outcome=QueryOutcome(args["outcome"]),
                by=str(args["by"]),
                tx_hash=receipt.tx_hash,
                block_number=receipt.block_number,
            )
        raise TransactionFailed("the query left no CreditQueried record", tx_hash=receipt.tx_hash)
