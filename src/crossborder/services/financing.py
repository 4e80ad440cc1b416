"""One desk for every financing scenario: each bank stage's actions on the shared lifecycle.

A scenario is a ``ScenarioSpec`` (its contract, scenario id and document kind); the desk does
the rest, so the next scenario adds a spec, not a desk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from ..chain.sender import Receipt, TxRequest
from ..chain.signers import Signer
from ..domain.codes import FinancingState, Reason
from ..domain.documents import document_fingerprint
from ..domain.models import Financing, FinancingApplication, from_day, to_day
from ..domain.money import Money, currency_by_numeric
from ..domain.scenarios import ScenarioSpec
from ..errors import (
    InvalidInput,
    UnknownEntity,
    VerificationFailed,
    verification_error,
)
from .consortium import SignedConsent, open_services
from .platform import Platform

# Measured: 107,000 gas for one document, 77,000 for each further one; with margin.
GAS_APPLY_BASE = 160_000
GAS_APPLY_PER_DOCUMENT = 90_000


class FinancingDesk:
    """A bank operator's desk for one financing scenario; each action needs its stage on chain.

    Args:
        platform: The connected platform.
        operator: The bank operator's signer.
        spec: The scenario (``crossborder.domain.scenarios``).
    """

    def __init__(self, platform: Platform, operator: Signer, spec: ScenarioSpec) -> None:
        self.platform = platform
        self.signer = operator
        self.spec = spec
        self.contract = spec.contract
        self.scenario = spec.scenario

    # 业务开通 -----------------------------------------------------------------------------------

    def open_services(self, consents: Sequence[SignedConsent]) -> list[Receipt]:
        """Submits firms' signed consents (the operator needs this scenario's service stage)."""
        for signed in consents:
            if signed.consent.scenario != self.scenario:
                raise InvalidInput(f"a consent is for scenario {signed.consent.scenario.name}")
        return open_services(self.platform, self.signer, consents)

    # 代申请 -------------------------------------------------------------------------------------

    def apply_request(
        self, application: FinancingApplication, idempotency_key: str | None = None
    ) -> TxRequest:
        """The signed-to-be transaction of an application, validated; nothing is sent."""
        if application.kind not in self.spec.cites:
            allowed = ", ".join(kind.name for kind in self.spec.cites)
            raise InvalidInput(
                f"{self.spec.label} cites documents of type {allowed}, not {application.kind.name}"
            )
        fp = self.platform.fingerprints
        kind = (int(application.kind),) if self.spec.also_cites else ()
        return self.platform.request(
            self.signer,
            self.contract,
            "apply",
            self.platform.ids.participant(application.firm),
            application.currency.numeric,
            *kind,
            [document_fingerprint(fp, c.kind, c.document) for c in application.citations],
            [c.amount.to_minor() for c in application.citations],
            gas=GAS_APPLY_BASE + GAS_APPLY_PER_DOCUMENT * len(application.citations),
            idempotency_key=idempotency_key,
        )

    def apply(self, application: FinancingApplication, idempotency_key: str | None = None) -> int:
        """Applies on the firm's behalf; returns the financing id.

        The contract refuses (before signing, at gas estimation) when the operator lacks the
        role or the firm has not opened the service with this bank.

        Raises:
            VerificationFailed: 核验失败, as its typed subclass (DuplicateFinancing,
                OverFinancing, WrongExporter, …); the failed attempt is recorded on chain.
        """
        request = self.apply_request(application, idempotency_key)
        self.platform.sender.estimate(request)
        return self.outcome(self.platform.sender.transact(request))

    def apply_many(
        self, applications: Sequence[FinancingApplication]
    ) -> list[int | VerificationFailed]:
        """Pipelines many applications; each result is a financing id or its typed failure."""
        requests = [self.apply_request(a) for a in applications]
        # Access is refused per operator and per firm (role, service opened), never per
        # document: one estimate per firm checks every request before anything is signed.
        first_per_firm = {a.firm: r for a, r in zip(applications, requests, strict=True)}
        for request in first_per_firm.values():
            self.platform.sender.estimate(request)
        confirmed = self.platform.send_confirmed(
            requests, self.contract, ("FinancingApplied", "VerificationFailed")
        )
        return [self._event_outcome(event.name, event.args) for event in confirmed]

    def outcome(self, receipt: Receipt) -> int:
        result = self._outcome_or_error(receipt)
        if isinstance(result, VerificationFailed):
            raise result
        return result

    def _outcome_or_error(self, receipt: Receipt) -> int | VerificationFailed:
        if receipt.status != 1:
            raise self.platform.sender.revert_error_of(receipt)
        for event in self.platform.decode(receipt.logs):
            if event.name in ("FinancingApplied", "VerificationFailed"):
                return self._event_outcome(event.name, event.args)
        raise InvalidInput("the application left no FinancingApplied or VerificationFailed event")

    @staticmethod
    def _event_outcome(name: str, args: dict[str, Any]) -> int | VerificationFailed:
        if name == "FinancingApplied":
            return int(args["financing_id"])
        return verification_error(args["reason"], args["fingerprint"], args["amount"])

    # 受理, 审核, withdrawal ---------------------------------------------------------------------

    def accept(self, financing_id: int) -> Receipt:
        return self._act("accept", financing_id)

    def review(self, financing_id: int, approve: bool) -> Receipt:
        return self._act("review", financing_id, approve)

    def withdraw(self, financing_id: int) -> Receipt:
        return self._act("withdraw", financing_id)

    # 放款登记, 还款登记 -------------------------------------------------------------------------

    def register_disbursement(
        self, financing_id: int, amount: Money, value_date: dt.date, due_date: dt.date
    ) -> Receipt:
        if due_date < value_date:
            raise InvalidInput("the due date is before the value date")
        self._same_currency(financing_id, amount)
        return self._act(
            "register_disbursement",
            financing_id,
            self._positive(amount),
            to_day(value_date),
            to_day(due_date),
        )

    def register_repayment(self, financing_id: int, amount: Money) -> Receipt:
        self._same_currency(financing_id, amount)
        return self._act("register_repayment", financing_id, self._positive(amount))

    # Views --------------------------------------------------------------------------------------

    def financing(self, financing_id: int) -> Financing:
        return read_financing(self.platform, self.contract, financing_id)

    def verification_failures(self, bank_uscc: str | None = None) -> dict[Reason, int]:
        """核验失败 counters of this scenario: per reason for one bank, or for all banks."""
        return verification_failures(self.platform, self.contract, bank_uscc)

    def _act(self, fn: str, *args: object) -> Receipt:
        request = self.platform.request(self.signer, self.contract, fn, *args)
        return self.platform.sender.transact(request)

    def _same_currency(self, financing_id: int, amount: Money) -> None:
        currency = self.financing(financing_id).requested.currency
        if amount.currency != currency:
            raise InvalidInput(
                f"financing {financing_id} is in {currency.code}, not {amount.currency.code}"
            )

    @staticmethod
    def _positive(amount: Money) -> int:
        units = amount.to_minor()
        if units <= 0:
            raise InvalidInput("the amount must be positive")
        return units


def read_financing(platform: Platform, contract: str, financing_id: int) -> Financing:
    (record,) = platform.view(contract, "financing", financing_id)
    applicant, bank, state, currency_code, requested, disbursed, repaid, docs, _, value, due = (
        record
    )
    if state == 0:
        raise UnknownEntity(f"no financing {financing_id}")
    currency = currency_by_numeric(currency_code)
    return Financing(
        id=financing_id,
        scenario=contract,
        applicant=applicant,
        bank=bytes(bank),
        state=FinancingState(state),
        requested=Money.from_minor(requested, currency),
        disbursed=Money.from_minor(disbursed, currency),
        repaid=Money.from_minor(repaid, currency),
        documents=docs,
        value_date=from_day(value) if disbursed else None,
        due_date=from_day(due) if disbursed else None,
    )


def verification_failures(
    platform: Platform, contract: str, bank_uscc: str | None = None
) -> dict[Reason, int]:
    """A typed reader of a scenario's failed-verification counters (核验失败), by reason.

    Args:
        contract: The scenario contract's compiled name.
        bank_uscc: One bank's counters; all banks' when None.
    """
    reasons = [r for r in Reason if r is not Reason.OK]
    if bank_uscc is None:
        return {r: int(platform.view(contract, "failures_by_reason", int(r))[0]) for r in reasons}
    bank = platform.ids.participant(bank_uscc)
    return {
        r: int(platform.view(contract, "verification_failures", bank, int(r))[0]) for r in reasons
    }
