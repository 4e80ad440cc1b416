"""融资授信银企对接: a bank's outlets and its credit desk, and the firm's credit request.

Outlets (name, region code, contact) are the bank's public data. The firm submits its request
from its own bound account once its credit service with the bank is open (its signed consent in
``CREDIT_MATCH``); the bank then matches it to an outlet, accepts, and grants or declines.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..chain.sender import Receipt
from ..chain.signers import Signer
from ..domain.codes import CreditPurpose, CreditState, DeclineReason
from ..domain.identifiers import validate_uscc
from ..domain.money import Money, currency_by_numeric
from ..errors import InvalidInput, TransactionFailed, UnknownEntity
from .platform import Platform

CONTRACT = "CreditMatching"
NAME_BYTES = 64


@dataclass(frozen=True)
class Outlet:
    """A bank's outlet that handles credit (网点); public bank data."""

    name: str
    region: int
    contact: str

    def __post_init__(self) -> None:
        for what, text in (("name", self.name), ("contact", self.contact)):
            if not text.strip() or len(text.encode()) > NAME_BYTES:
                raise InvalidInput(f"the outlet's {what} must be 1 to {NAME_BYTES} bytes of UTF-8")
        check_region(self.region)


@dataclass(frozen=True)
class CreditRequestStatus:
    """A credit request as the chain holds it (the firm's status view)."""

    request_id: int
    firm: bytes
    bank: bytes
    amount: Money
    purpose: CreditPurpose
    region: int
    outlet_id: int
    state: CreditState
    requested_at: dt.datetime
    matched_at: dt.datetime | None
    decided_at: dt.datetime | None
    granted: Money | None
    term_days: int
    reason: DeclineReason | None


def check_region(region: int) -> int:
    """A six-digit administrative division code (行政区划代码)."""
    if isinstance(region, bool) or not isinstance(region, int) or not 100000 <= region <= 999999:
        raise InvalidInput(f"region {region!r} is not a six-digit region code", value=region)
    return region


def _time(seconds: int) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(seconds, dt.UTC) if seconds else None


def request_status(platform: Platform, request_id: int) -> CreditRequestStatus:
    """The request's current status (raises ``UnknownEntity`` for an unknown id)."""
    (row,) = platform.view(CONTRACT, "requests", request_id)
    firm, bank, amount, currency, purpose, region, outlet, state, at, matched, decided = row[:11]
    granted, term, reason = row[11:]
    if state == 0:
        raise UnknownEntity(f"no credit request {request_id}", value=request_id)
    cur = currency_by_numeric(currency)
    return CreditRequestStatus(
        request_id=request_id,
        firm=bytes(firm),
        bank=bytes(bank),
        amount=Money.from_minor(amount, cur),
        purpose=CreditPurpose(purpose),
        region=region,
        outlet_id=outlet,
        state=CreditState(state),
        requested_at=_time(at) or dt.datetime.fromtimestamp(0, dt.UTC),
        matched_at=_time(matched),
        decided_at=_time(decided),
        granted=Money.from_minor(granted, cur) if state == CreditState.GRANTED else None,
        term_days=term,
        reason=DeclineReason(reason) if reason else None,
    )


def request_credit(
    platform: Platform,
    firm: Signer,
    bank_uscc: str,
    amount: Money,
    purpose: CreditPurpose,
    *,
    outlet_id: int = 0,
    region: int = 0,
) -> int:
    """The firm's own account asks a bank for credit (企业融资授信申请).

    Returns:
        The request id.

    Raises:
        InvalidInput: Bad amount, purpose, or neither an outlet nor a region (nothing sent).
        ServiceNotOpened: The firm has not opened the credit service with the bank.
    """
    bank = platform.ids.participant(validate_uscc(bank_uscc))
    units = amount.to_minor()
    if units <= 0:
        raise InvalidInput("the amount asked must be positive", value=str(amount))
    purpose = CreditPurpose(purpose)
    if outlet_id == 0:
        check_region(region)
    elif region:
        raise InvalidInput("name a preferred outlet or a region, not both")
    receipt = platform.transact(
        firm,
        CONTRACT,
        "request_credit",
        bank,
        units,
        amount.currency.numeric,
        int(purpose),
        outlet_id,
        region,
    )
    return _id(platform, receipt, "CreditRequested", "request_id")


def _id(platform: Platform, receipt: Receipt, event: str, field: str) -> int:
    for decoded in platform.decode(receipt.logs, event):
        return int(decoded.args[field])
    raise TransactionFailed(f"the transaction left no {event}", tx_hash=receipt.tx_hash)


class CreditMatchingDesk:
    """A bank operator's desk in credit matching: outlets (OUTLETS), 对接 (MATCH), 受理 and the
    decision (ACCEPT)."""

    def __init__(self, platform: Platform, operator: Signer) -> None:
        self.platform = platform
        self.operator = operator

    def add_outlet(self, outlet: Outlet) -> int:
        """Adds an outlet of the operator's bank; returns its id."""
        receipt = self._act("add_outlet", outlet.name, outlet.region, outlet.contact)
        return _id(self.platform, receipt, "OutletUpdated", "outlet_id")

    def update_outlet(self, outlet_id: int, outlet: Outlet) -> Receipt:
        return self._act("update_outlet", outlet_id, outlet.name, outlet.region, outlet.contact)

    def close_outlet(self, outlet_id: int) -> Receipt:
        return self._act("close_outlet", outlet_id)

    def match(self, request_id: int, outlet_id: int) -> Receipt:
        """对接: matches a request to one of the bank's open outlets."""
        return self._act("match_request", request_id, outlet_id)

    def accept(self, request_id: int) -> Receipt:
        """受理: accepts a matched request."""
        return self._act("accept", request_id)

    def grant(self, request_id: int, amount: Money, term_days: int) -> Receipt:
        """Grants an accepted request ``amount`` (its currency) for ``term_days``."""
        status = request_status(self.platform, request_id)
        if amount.currency != status.amount.currency:
            raise InvalidInput(
                f"the grant is in {amount.currency}, the request in {status.amount.currency}"
            )
        if not 0 < amount.amount <= status.amount.amount:
            raise InvalidInput(f"grant {amount}: positive and at most the {status.amount} asked")
        if not 0 < term_days < 1 << 16:
            raise InvalidInput(f"term {term_days} days: 1 to 65,535", value=term_days)
        return self._act("grant", request_id, amount.to_minor(), term_days)

    def decline(self, request_id: int, reason: DeclineReason) -> Receipt:
        """Declines a request not yet decided, with a reason code."""
        return self._act("decline", request_id, int(DeclineReason(reason)))

    def _act(self, fn: str, *args: object) -> Receipt:
        return self.platform.transact(self.operator, CONTRACT, fn, *args)
