"""The payment-facilitation scenarios (便利化类) the platform deploys, as data: one row each.

Payments are not financings: a bank's payment verification operator (付汇核验) registers a
payment verified against documents on the ledger, made or refused at once. A tax filing bounds
the payments under it (a ledger hold consumed at once); invoices are single-use (tagged whole).
"""

from __future__ import annotations

from dataclasses import dataclass

from .codes import DocumentType, Scenario


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
