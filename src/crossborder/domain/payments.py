"""The payment-facilitation scenarios (便利化类) the platform deploys, as data: one row each.

Payments are not financings: a bank's payment verification operator (付汇核验) registers a
payment verified against documents on the ledger, made or refused at once. A tax filing bounds
the payments under it (a ledger hold consumed at once); invoices are single-use (tagged whole).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pydantic import ConfigDict, Field, model_validator

from ..errors import InvalidInput
from .boundary import BoundaryModel
from .codes import DocumentType, Scenario
from .documents import document_kind
from .identifiers import USCC
from .models import MAX_MINOR_UNITS, to_day
from .money import Money


@dataclass(frozen=True)
class PaymentSpec:
    """One payment scenario.

    Attributes:
        name: Short name, used on the command line and in the deployment file.
        contract: The compiled contract's name.
        scenario: Its scenario id (``Scenario``), whose stages its operators need.
        doc_type: The kind of document its payments are verified against.
        label: The scenario's name as users know it, Chinese and English.
    """

    name: str
    contract: str
    scenario: Scenario
    doc_type: DocumentType
    label: str


TAX = PaymentSpec(
    name="tax",
    contract="TaxPayment",
    scenario=Scenario.TAX_PAYMENT,
    doc_type=DocumentType.TAX_FILING,
    label="服务贸易税务备案电子化银行核验 service-trade tax-filing e-verification",
)

FREIGHT = PaymentSpec(
    name="freight",
    contract="FreightPayment",
    scenario=Scenario.FREIGHT_PAYMENT,
    doc_type=DocumentType.FREIGHT_INVOICE,
    label="运费外汇支付便利化 freight FX payment facilitation",
)

CAPITAL = PaymentSpec(
    name="capital",
    contract="CapitalPayment",
    scenario=Scenario.CAPITAL_PAYMENT,
    doc_type=DocumentType.INVOICE,
    label="资本项目收入支付便利化 capital-account income payment facilitation",
)

PAYMENT_SPECS: tuple[PaymentSpec, ...] = (TAX, FREIGHT, CAPITAL)


class PaymentDocument(BoundaryModel):
    """A tax filing (税务备案), freight invoice (运费发票) or invoice (发票), as tax or the carrier
    knows it. Only its fingerprint, the payer's id, the amount, currency and date go on chain;
    the carrier stays in the provider's own records.
    """

    model_config = ConfigDict(frozen=True)

    kind: DocumentType
    number: str
    payer: USCC
    amount: Money
    issued: dt.date
    carrier: str = Field(default="", max_length=60)

    @model_validator(mode="after")
    def _valid(self) -> PaymentDocument:
        if self.kind not in PAYMENT_DOCUMENTS:
            raise InvalidInput(
                "a payment document is a tax filing, a freight invoice or an invoice"
            )
        object.__setattr__(self, "number", document_kind(self.kind).validate(self.number))
        if self.amount.amount <= 0 or self.amount.to_minor() >= MAX_MINOR_UNITS:
            raise InvalidInput(f"{self.number}: the amount must be positive and below 2**63")
        to_day(self.issued)
        return self

    @property
    def owner(self) -> str:
        return self.payer


PAYMENT_DOCUMENTS = frozenset(spec.doc_type for spec in PAYMENT_SPECS)


@dataclass(frozen=True)
class Payment:
    """One payment registered on chain.

    Attributes:
        id: Its id within its scenario's contract.
        scenario: The payment scenario's short name.
        operator: The account that registered it.
        bank: The bank's id.
        payer: The payer firm's id.
        amount: What was paid (for invoices, their total face).
        documents: How many documents it was verified against.
        value_date: The payment's value date.
    """

    id: int
    scenario: str
    operator: str
    bank: bytes
    payer: bytes
    amount: Money
    documents: int
    value_date: dt.date
