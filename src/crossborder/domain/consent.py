"""The firm's signed consent (业务开通 / 信用信息授权), as EIP-712 typed data.

The firm signs with a key bound to it in the consortium; a bank submits the consent and the
registry opens the service only with a valid signature (``Consortium.open_service``). The
type string and domain here equal the contract's; a test compares the digest with the
contract's ``consent_digest`` view.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput
from .codes import CreditScope, Scenario

__all__ = ["CreditScope", "ServiceConsent"]

DOMAIN_NAME = "crossborder consortium"
DOMAIN_VERSION = "1"
CONSENT_FIELDS = [
    {"name": "firm", "type": "bytes32"},
    {"name": "bank", "type": "bytes32"},
    {"name": "scenario", "type": "uint8"},
    {"name": "scope", "type": "uint32"},
    {"name": "validUntil", "type": "uint64"},
    {"name": "nonce", "type": "uint256"},
]
EIP712_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


@dataclass(frozen=True)
class ServiceConsent:
    """What a firm agrees to: open ``scenario`` with ``bank``, for ``scope``, until ``valid_until``.

    Args:
        firm: The firm's participant id.
        bank: The bank's participant id.
        scenario: The scenario whose service opens.
        scope: Credit-information scope bits (``CreditScope``).
        valid_until: Unix seconds; the consent must be submitted, and the service lapses, then.
        nonce: Single-use; a fresh random one by default (``new``).
    """

    firm: bytes
    bank: bytes
    scenario: Scenario
    scope: int
    valid_until: int
    nonce: int

    def __post_init__(self) -> None:
        if len(self.firm) != 32 or len(self.bank) != 32:
            raise InvalidInput("firm and bank ids are 32-byte participant ids")
        if not 0 <= self.scope < 1 << 32:
            raise InvalidInput("the scope is a 32-bit set of flags")
        if not 0 < self.valid_until < 1 << 64:
            raise InvalidInput("valid_until must be a unix time in seconds")
        if not 0 <= self.nonce < 1 << 256:
            raise InvalidInput("the nonce is a 256-bit number")

    @classmethod
    def new(
        cls,
        firm: bytes,
        bank: bytes,
        scenario: Scenario,
        valid_until: dt.datetime,
        scope: int = CreditScope.ALL,
    ) -> ServiceConsent:
        """A consent with a fresh random nonce."""
        if valid_until.tzinfo is None:
            raise InvalidInput("valid_until needs a time zone")
        return cls(
            firm=firm,
            bank=bank,
            scenario=Scenario(scenario),
            scope=scope,
            valid_until=int(valid_until.timestamp()),
            nonce=secrets.randbits(256),
        )

    def as_tuple(self) -> tuple[bytes, bytes, int, int, int, int]:
        """The contract's ``Consent`` struct."""
        return (self.firm, self.bank, int(self.scenario), self.scope, self.valid_until, self.nonce)

    def typed_data(self, chain_id: int, consortium: str) -> dict[str, Any]:
        """The full EIP-712 message for the consortium contract on ``chain_id``."""
        return {
            "types": {"EIP712Domain": EIP712_DOMAIN_FIELDS, "ServiceConsent": CONSENT_FIELDS},
            "primaryType": "ServiceConsent",
            "domain": {
                "name": DOMAIN_NAME,
                "version": DOMAIN_VERSION,
                "chainId": chain_id,
                "verifyingContract": consortium,
            },
            "message": {
                "firm": self.firm,
                "bank": self.bank,
                "scenario": int(self.scenario),
                "scope": self.scope,
                "validUntil": self.valid_until,
                "nonce": self.nonce,
            },
        }
