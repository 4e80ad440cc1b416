"""Payment facilitation (便利化类): a bank's payment verification desk (付汇核验) for each payment
scenario, and the regulator's capital-account post-review (事后抽查).

A payment is verified against documents on the ledger and made or refused at once: a failed
verification is recorded on chain (counted per bank and reason) and raised here as its typed
error. The regulator's sample is derived from the chain's record alone
(``crossborder.domain.sample``), so that anyone can re-check it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..chain.abi import ContractAbi
from ..chain.deployment import Deployment
from ..chain.rpc import RpcClient
from ..chain.sender import Receipt, TxRequest
from ..chain.signers import Signer
from ..domain.codes import MAX_TAGGED, Reason, ReviewOutcome
from ..domain.documents import document_fingerprint
from ..domain.models import from_day, to_day
from ..domain.money import Currency, Money, currency_by_numeric
from ..domain.payments import CAPITAL, TAX, Payment, PaymentSpec
from ..domain.sample import SampleCheck, check_sample, derive_sample
from ..errors import (
    InvalidInput,
    UnknownEntity,
    VerificationFailed,
    WrongState,
    verification_error,
)
from .financing import verification_failures
from .platform import Platform

# A sampled payment costs a fresh slot and a hash; with margin.
GAS_PER_SAMPLED = 30_000

# What each verification reason means for a payment (the financing wording names exporters and
# financings).
PAYMENT_REASONS: dict[Reason, str] = {
    Reason.NOT_FOUND: "核验失败: the document is not registered on the ledger",
    Reason.WRONG_OWNER: "核验失败: the document's payer is not the paying firm",
    Reason.CURRENCY_MISMATCH: "核验失败: the payment currency differs from the document's",
    Reason.DUPLICATE: "核验失败: the invoice is already used by another payment, at some bank",
    Reason.OVER_FINANCED: "核验失败: the payment exceeds what is left of the filed amount",
}


def payment_error(reason: int, fingerprint: bytes, amount: int) -> VerificationFailed:
    """The typed error of a failed payment verification, worded for payments."""
    error = verification_error(reason, fingerprint, amount)
    return type(error)(PAYMENT_REASONS[Reason(reason)], fingerprint=fingerprint, amount=amount)


class PaymentDesk:
    """A bank's payment verification operator (付汇核验) in one payment scenario.

    Args:
        platform: The connected platform.
        operator: The operator's signer; it needs the scenario's VERIFY stage on chain.
        spec: The payment scenario (``crossborder.domain.payments``).
    """

    def __init__(self, platform: Platform, operator: Signer, spec: PaymentSpec) -> None:
        self.platform = platform
        self.signer = operator
        self.spec = spec
        self.contract = spec.contract

    def pay_filing(self, filing: str, payer: str, amount: Money, value_date: dt.date) -> int:
        """Verifies a tax filing and registers an outward payment under it.

        Raises:
            InvalidInput: Not the tax scenario, a malformed filing number, a non-positive amount.
            VerificationFailed: 核验失败 (not found, wrong payer, currency, exceeded); the
                failed attempt is recorded on chain.
        """
        return self.outcome(self._estimated(self.filing_request(filing, payer, amount, value_date)))

    def filing_request(
        self, filing: str, payer: str, amount: Money, value_date: dt.date
    ) -> TxRequest:
        """The validated, unsigned transaction of ``pay_filing`` (no gas set)."""
        if self.spec != TAX:
            raise InvalidInput(f"{self.spec.label} pays against invoices, not a tax filing")
        units = amount.to_minor()
        if units <= 0:
            raise InvalidInput("the amount must be positive")
        fingerprint = document_fingerprint(self.platform.fingerprints, TAX.doc_type, filing)
        return self.platform.request(
            self.signer,
            self.contract,
            "pay",
            fingerprint,
            self.platform.ids.participant(payer),
            amount.currency.numeric,
            units,
            to_day(value_date),
        )

    def pay_invoices(
        self, payer: str, currency: Currency, invoices: Sequence[str], value_date: dt.date
    ) -> int:
        """Registers one payment against a batch of invoices, each tagged used for good; the
        payment's amount is their total face.

        Raises:
            InvalidInput: The tax scenario, no invoice, more than ``MAX_TAGGED``, one listed
                twice, or a malformed number.
            VerificationFailed: 核验失败 for the first failing invoice (not found, wrong payer,
                currency, already used); none is tagged and the attempt is recorded on chain.
        """
        request = self.invoices_request(payer, currency, invoices, value_date)
        return self.outcome(self._estimated(request))

    def invoices_request(
        self, payer: str, currency: Currency, invoices: Sequence[str], value_date: dt.date
    ) -> TxRequest:
        """The validated, unsigned transaction of ``pay_invoices`` (no gas set)."""
        if self.spec == TAX:
            raise InvalidInput(f"{self.spec.label} pays against a tax filing, not invoices")
        if not 1 <= len(invoices) <= MAX_TAGGED:
            raise InvalidInput(f"a payment cites 1 to {MAX_TAGGED} invoices")
        fp = self.platform.fingerprints
        fingerprints = [document_fingerprint(fp, self.spec.doc_type, n) for n in invoices]
        if len(set(fingerprints)) != len(fingerprints):
            raise InvalidInput("an invoice is listed twice")
        return self.platform.request(
            self.signer,
            self.contract,
            "pay",
            self.platform.ids.participant(payer),
            currency.numeric,
            fingerprints,
            to_day(value_date),
        )

    def payment(self, payment_id: int) -> Payment:
        return read_payment(self.platform, self.spec, payment_id)

    def verification_failures(self, bank_uscc: str | None = None) -> dict[Reason, int]:
        """核验失败 counters of this scenario: per reason for one bank, or for all banks."""
        return verification_failures(self.platform, self.contract, bank_uscc)

    def _estimated(self, request: TxRequest) -> Receipt:
        # Refused access (role, a firm not qualified) reverts at estimation, before signing; a
        # failed verification does not revert, so the estimate covers it too. A batch's gas
        # grows with its invoices (benchmarks/payments.py): the node's estimate sizes it.
        gas = self.platform.sender.estimate(request)
        return self.platform.sender.transact(replace(request, gas=gas))

    def outcome(self, receipt: Receipt) -> int:
        """The payment id a mined payment registered.

        Raises:
            VerificationFailed: The payment failed verification (recorded on chain).
        """
        if receipt.status != 1:
            raise self.platform.sender.revert_error_of(receipt)
        for event in self.platform.decode(receipt.logs):
            if event.name == "PaymentRegistered":
                return int(event.args["payment_id"])
            if event.name == "VerificationFailed":
                a = event.args
                raise payment_error(a["reason"], a["fingerprint"], a["amount"])
        raise InvalidInput("the payment left no PaymentRegistered or VerificationFailed event")


def read_payment(platform: Platform, spec: PaymentSpec, payment_id: int) -> Payment:
    (record,) = platform.view(spec.contract, "payment", payment_id)
    operator, bank, payer, currency, amount, documents, _, value_date = record
    if not amount:
        raise UnknownEntity(f"no {spec.name} payment {payment_id}")
    return Payment(
        id=payment_id,
        scenario=spec.name,
        operator=operator,
        bank=bytes(bank),
        payer=bytes(payer),
        amount=Money.from_minor(amount, currency_by_numeric(currency)),
        documents=documents,
        value_date=from_day(value_date),
    )


@dataclass(frozen=True)
class Period:
    """A closed capital-account period (payment ids ``first..last``) and its sample's state."""

    number: int
    first: int
    last: int
    sample_size: int
    seed_block: int
    seed: bytes | None
    sampled: int
    reviewed: int


class PostReview:
    """Capital-account payment facilitation: the regulator qualifies firms, closes periods and
    records the post-review sample (事后抽查) and its outcomes; anyone draws and re-checks.

    Args:
        platform: The connected platform.
        signer: The regulator's admin account (anyone's, for ``draw`` and ``check``).
    """

    def __init__(self, platform: Platform, signer: Signer) -> None:
        self.platform = platform
        self.signer = signer
        self.contract = CAPITAL.contract

    def qualify(self, firm: str, qualified: bool = True) -> Receipt:
        return self._act("set_qualified", self.platform.ids.participant(firm), qualified)

    def is_qualified(self, firm: str) -> bool:
        participant = self.platform.ids.participant(firm)
        return bool(self.platform.view(self.contract, "qualified", participant)[0])

    def close_period(self, sample_size: int) -> int:
        """Closes the payments since the last period; returns the period's number."""
        receipt = self._act("close_period", sample_size)
        (event,) = self.platform.decode(receipt.logs, "PeriodClosed")
        return int(event.args["period"])

    def draw(self, period: int) -> bytes | None:
        """Records the period's seed; None when the seed block had left the EVM's window and a
        new one was named (draw again once it is mined).

        Raises:
            WrongState: The seed block is not mined yet.
        """
        receipt = self._act("draw", period)
        drawn = self.platform.decode(receipt.logs, "SeedDrawn")
        return bytes(drawn[0].args["seed"]) if drawn else None

    def period(self, number: int) -> Period:
        (record,) = self.platform.view(self.contract, "period", number)
        first, last, size, seed_block, seed, sampled, reviewed = record
        if not last:
            raise UnknownEntity(f"no closed period {number}")
        seed = bytes(seed)
        return Period(
            number, first, last, size, seed_block, seed if any(seed) else None, sampled, reviewed
        )

    def sample(self, number: int) -> list[int]:
        """The period's sample, derived from its seed: the first k payments by
        keccak256(seed, payment id)."""
        period = self.period(number)
        if period.seed is None:
            raise WrongState(f"period {number}'s seed is not drawn yet")
        return derive_sample(period.seed, period.first, period.last, period.sample_size)

    def record_sample(self, number: int, payment_ids: Sequence[int] | None = None) -> list[int]:
        """Records the period's sample (the derived one unless ``payment_ids`` is given)."""
        sample = list(payment_ids) if payment_ids is not None else self.sample(number)
        self._act("record_sample", number, sample, gas=120_000 + GAS_PER_SAMPLED * len(sample))
        return sample

    def record_review(self, payment_id: int, outcome: ReviewOutcome) -> Receipt:
        return self._act("record_review", payment_id, int(outcome))

    def check(self, number: int) -> SampleCheck:
        """Re-derives the period's sample from the chain's events alone and compares it with
        the one recorded (``scripts/verify_sample.py`` runs this for every period)."""
        return check_period(self.platform, number)

    def _act(self, fn: str, *args: object, gas: int | None = None) -> Receipt:
        request = self.platform.request(self.signer, self.contract, fn, *args, gas=gas)
        return self.platform.sender.transact(request)


def check_period(platform: Platform, number: int) -> SampleCheck:
    """Re-derives one period's sample from the chain's events and compares (see
    ``check_periods``)."""
    abi = platform.abis[CAPITAL.contract]
    for check in check_periods(platform.rpc, platform.deployment, abi):
        if check.period == number:
            return check
    raise WrongState(f"period {number} is not closed and drawn on chain")


def check_periods(rpc: RpcClient, deployment: Deployment, abi: ContractAbi) -> list[SampleCheck]:
    """Every drawn period's sample, re-derived from the capital-account contract's
    ``PeriodClosed``, ``SeedDrawn`` and ``SampleRecorded`` events alone, and compared with the
    sample recorded (a period whose sample is not recorded yet compares as not wrong).

    Needs no key and no SDK state: the node, the deployment file and the contract's ABI.
    """
    deployed = deployment.payments[CAPITAL.name]
    names = ("PeriodClosed", "SeedDrawn", "SampleRecorded")
    logs = rpc.get_logs(
        address=deployed.address,
        topics=[[abi.event_topic(name) for name in names]],
        from_block=deployed.block,
        to_block="latest",
    )
    events: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in names}
    for event in abi.decode_logs(logs):
        events[event.name][int(event.args["period"])] = event.args
    checks = []
    for number, seed in sorted(events["SeedDrawn"].items()):
        closed = events["PeriodClosed"][number]
        recorded = events["SampleRecorded"].get(number, {"payment_ids": []})["payment_ids"]
        checks.append(
            check_sample(
                number,
                bytes(seed["seed"]),
                int(closed["first"]),
                int(closed["last"]),
                int(closed["sample_size"]),
                [int(p) for p in recorded],
            )
        )
    return checks
