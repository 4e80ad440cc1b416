"""Export credit-insurance policy financing (出口信保保单融资).

The insurer registers policies and the shipments declared under them and confirms cover
(``InsurerDesk``); the firm signs the assignment of its claim rights to a bank
(``sign_assignment``), the bank submits it and the insurer confirms it; the bank then finances
the policy's shipments on the generic lifecycle (``PolicyDesk``), and sees the loss notices
and claims of its policies.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..chain.sender import Receipt
from ..chain.signers import Signer
from ..domain.consent import DOMAIN_VERSION, EIP712_DOMAIN_FIELDS
from ..domain.documents import BUYER_KIND, POLICY_KIND, validate_reference
from ..domain.money import Money, currency_by_numeric
from ..domain.scenarios import POLICY
from ..errors import AccessDenied, InvalidInput, UnknownEntity
from .financing import FinancingDesk
from .platform import Platform

CONTRACT = POLICY.contract
ASSIGNMENT_DOMAIN = "crossborder policy financing"
ASSIGNMENT_FIELDS = [
    {"name": "policy", "type": "bytes32"},
    {"name": "firm", "type": "bytes32"},
    {"name": "bank", "type": "bytes32"},
    {"name": "validUntil", "type": "uint64"},
    {"name": "nonce", "type": "uint256"},
]
CLAIM_STATUS = {1: "filed 已报案", 2: "paid 已赔付", 3: "declined 拒赔"}


@dataclass(frozen=True)
class PolicyInfo:
    number_fingerprint: bytes
    firm: bytes
    buyer: bytes
    insurer: bytes
    assignee: bytes | None
    pending: bytes | None
    credit_limit: Money
    used: Money
    valid_until: dt.datetime

    @property
    def limit_left(self) -> Money:
        return self.credit_limit - self.used


@dataclass(frozen=True)
class ClaimInfo:
    id: int
    policy: bytes
    declaration: bytes
    status: str
    claimed: int
    paid: int
    applied: int


@dataclass(frozen=True)
class SignedAssignment:
    """The firm's signed assignment of a policy's claim rights to a bank (赔款权益转让)."""

    policy: bytes
    bank: bytes
    valid_until: int
    nonce: int
    signature: bytes


def policy_fingerprint(platform: Platform, number: str) -> bytes:
    return platform.fingerprints.document(POLICY_KIND, validate_reference(number))


def _zero_none(value: Any) -> bytes | None:
    raw = bytes(value)
    return None if raw == b"\x00" * 32 else raw


def read_policy(platform: Platform, number: str) -> PolicyInfo:
    fingerprint = policy_fingerprint(platform, number)
    firm, buyer, insurer, assignee, pending, limit, used, currency, until = platform.view(
        CONTRACT, "policy", fingerprint
    )
    if bytes(insurer) == b"\x00" * 32:
        raise UnknownEntity(f"no policy {number}")
    money = currency_by_numeric(currency)
    return PolicyInfo(
        fingerprint,
        bytes(firm),
        bytes(buyer),
        bytes(insurer),
        _zero_none(assignee),
        _zero_none(pending),
        Money.from_minor(limit, money),
        Money.from_minor(used, money),
        dt.datetime.fromtimestamp(until, dt.UTC),
    )


def sign_assignment(
    platform: Platform,
    firm: Signer,
    policy_number: str,
    firm_uscc: str,
    bank_uscc: str,
    valid_until: dt.datetime,
) -> SignedAssignment:
    """The firm's side: sign the assignment of a policy's claim rights to a bank (no transaction)."""
    if valid_until.tzinfo is None:
        raise InvalidInput("valid_until needs a time zone")
    policy = policy_fingerprint(platform, policy_number)
    bank = platform.ids.participant(bank_uscc)
    until, nonce = int(valid_until.timestamp()), secrets.randbits(256)
    message = {
        "types": {"EIP712Domain": EIP712_DOMAIN_FIELDS, "ClaimAssignment": ASSIGNMENT_FIELDS},
        "primaryType": "ClaimAssignment",
        "domain": {
            "name": ASSIGNMENT_DOMAIN,
            "version": DOMAIN_VERSION,
            "chainId": platform.deployment.chain_id,
            "verifyingContract": platform.address(CONTRACT),
        },
        "message": {
            "policy": policy,
            "firm": platform.ids.participant(firm_uscc),
            "bank": bank,
            "validUntil": until,
            "nonce": nonce,
        },
    }
    return SignedAssignment(policy, bank, until, nonce, firm.sign_typed_data(message))


class InsurerDesk:
    """The export credit insurer's operator: policies, shipments, cover, assignments, claims."""

    def __init__(self, platform: Platform, operator: Signer) -> None:
        self.platform = platform
        self.signer = operator

    def register_policy(
        self,
        number: str,
        firm_uscc: str,
        buyer_code: str,
        credit_limit: Money,
        valid_until: dt.date,
    ) -> Receipt:
        """保单: a policy for one insured firm and buyer, with the buyer credit limit."""
        fp = self.platform.fingerprints
        until = dt.datetime.combine(valid_until, dt.time(23, 59, 59), dt.UTC)
        return self._send(
            "register_policy",
            policy_fingerprint(self.platform, number),
            self.platform.ids.participant(firm_uscc),
            fp.document(BUYER_KIND, validate_reference(buyer_code)),
            _positive(credit_limit),
            credit_limit.currency.numeric,
            int(until.timestamp()),
        )

    def declare_shipment(self, declaration: str, policy_number: str, insured: Money) -> Receipt:
        """投保申报: a shipment under the policy, tied to its export customs declaration."""
        return self._send(
            "declare_shipment",
            self.platform.fingerprints.declaration(declaration),
            policy_fingerprint(self.platform, policy_number),
            _positive(insured),
        )

    def confirm_cover(self, declaration: str) -> Receipt:
        """承保: cover of a declared shipment confirmed."""
        return self._send("confirm_cover", self.platform.fingerprints.declaration(declaration))

    def confirm_assignment(self, policy_number: str, bank_uscc: str) -> Receipt:
        """The insurer agrees to the firm's assignment of the policy's claim rights to the bank."""
        return self._send(
            "confirm_assignment",
            policy_fingerprint(self.platform, policy_number),
            self.platform.ids.participant(bank_uscc),
        )

    def notify_loss(self, declaration: str, amount: Money) -> Receipt:
        """可能损失通知 on a shipment; the assignee bank sees it."""
        return self._send(
            "notify_loss", self.platform.fingerprints.declaration(declaration), _positive(amount)
        )

    def file_claim(self, declaration: str, amount: Money) -> int:
        """理赔: a claim filed on a shipment; returns the claim id."""
        receipt = self._send(
            "file_claim", self.platform.fingerprints.declaration(declaration), _positive(amount)
        )
        for event in self.platform.decode(receipt.logs, "ClaimUpdated"):
            return int(event.args["claim_id"])
        raise UnknownEntity("the claim left no ClaimUpdated event")

    def settle_claim(self, claim_id: int, paid: Money) -> Receipt:
        """Pays a filed claim (up to the claim); zero declines it."""
        units = paid.to_minor()
        if units < 0:
            raise InvalidInput("the paid amount cannot be negative")
        return self._send("settle_claim", claim_id, units)

    def _send(self, fn: str, *args: object) -> Receipt:
        request = self.platform.request(self.signer, CONTRACT, fn, *args)
        self.platform.sender.estimate(request)
        return self.platform.sender.transact(request)


class PolicyDesk(FinancingDesk):
    """A bank operator's desk for policy financing, citing insured shipments' declarations."""

    def __init__(self, platform: Platform, operator: Signer) -> None:
        super().__init__(platform, operator, POLICY)

    def request_assignment(self, signed: SignedAssignment) -> Receipt:
        """Submits the firm's signed assignment (the operator needs the service stage)."""
        request = self.platform.request(
            self.signer,
            CONTRACT,
            "request_assignment",
            signed.policy,
            signed.valid_until,
            signed.nonce,
            signed.signature,
        )
        self.platform.sender.estimate(request)
        return self.platform.sender.transact(request)

    def claims(self) -> list[ClaimInfo]:
        """The loss-notified shipments' claims on the policies assigned to this bank."""
        bank = self.platform.view("Consortium", "participant_of", self.signer.address)[0]
        abi = self.platform.abis[CONTRACT]
        logs = self.platform.rpc.get_logs(
            address=self.platform.address(CONTRACT),
            topics=[abi.event_topic("ClaimUpdated"), None, None, bytes(bank)],
            from_block=self.platform.deployment.scenarios[POLICY.name].block,
            to_block="latest",
        )
        ids = sorted({int(e.args["claim_id"]) for e in self.platform.decode(logs, "ClaimUpdated")})
        return [self.claim(claim_id) for claim_id in ids]

    def claim(self, claim_id: int) -> ClaimInfo:
        """One claim, if its policy is assigned to this bank."""
        policy, declaration, status, claimed, paid, applied = self.platform.view(
            CONTRACT, "claim", claim_id
        )
        if status == 0:
            raise UnknownEntity(f"no claim {claim_id}")
        bank = self.platform.view("Consortium", "participant_of", self.signer.address)[0]
        assignee = self.platform.view(CONTRACT, "policy", policy)[3]
        if bytes(assignee) != bytes(bank):
            raise AccessDenied("the claim is on a policy assigned to another bank")
        return ClaimInfo(
            claim_id,
            bytes(policy),
            bytes(declaration),
            CLAIM_STATUS[status],
            claimed,
            paid,
            applied,
        )

    def register_claim_repayment(self, financing_id: int, claim_id: int) -> Receipt:
        """A paid claim on the financing's policy repays it (还款登记 by the insurer's payment)."""
        return self._act("register_claim_repayment", financing_id, claim_id)


def set_advance_ratio(
    platform: Platform, regulator: Signer, bank_uscc: str, ratio: Decimal
) -> Receipt:
    """The regulator sets a bank's advance ratio (0 to 1) of insured amounts."""
    bps = Decimal(ratio) * 10_000
    if not 0 <= bps <= 10_000 or bps != bps.to_integral_value():
        raise InvalidInput("the advance ratio is between 0 and 1, in steps of 0.01 %")
    return platform.transact(
        regulator, CONTRACT, "set_advance_ratio", platform.ids.participant(bank_uscc), int(bps)
    )


def _positive(amount: Money) -> int:
    units = amount.to_minor()
    if units <= 0:
        raise InvalidInput("the amount must be positive")
    return units
