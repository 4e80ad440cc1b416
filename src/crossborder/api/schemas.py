"""The gateway's request and response bodies (pydantic), turned into the SDK's domain models.

Request bodies only constrain shapes (patterns, lengths); the domain models check meaning (USCC
check characters, currency exponents, dates on the ledger) and raise ``InvalidInput``, a 422
problem like a shape error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from ..domain.codes import DocumentStatus, DocumentType, FinancingState
from ..domain.documents import DOCUMENT_KINDS
from ..domain.models import Citation, DocumentInfo, Financing, FinancingApplication
from ..domain.money import Currency, Money

AMOUNT_PATTERN = r"^[0-9]{1,18}(\.[0-9]{1,4})?$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
HEX32_PATTERN = r"^0x[0-9a-fA-F]{64}$"
ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9._:-]{1,255}$"
MAX_ID = 2**63 - 1


def one_of(values: Iterable[str]) -> dict[str, JsonValue]:
    """A JSON schema ``enum``: the values a string may take, listed in the OpenAPI document."""
    choices: list[JsonValue] = [*values]
    return {"enum": choices}


def kind_slug(doc_type: DocumentType) -> str:
    """A document type as the API names it: ``export-declaration``, ``rail-waybill``, …"""
    return doc_type.name.lower().replace("_", "-")


# Every kind of document the SDK numbers (``DOCUMENT_KINDS``): a new kind appears by itself.
KINDS: dict[str, DocumentType] = {kind_slug(t): t for t in DOCUMENT_KINDS}


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MoneyIn(Body):
    """An exact amount: a decimal string (never a float) and an ISO 4217 code."""

    amount: str = Field(pattern=AMOUNT_PATTERN, examples=["120000.00"])
    currency: str = Field(pattern=CURRENCY_PATTERN, examples=["USD"])

    def money(self) -> Money:
        return Money(self.amount, self.currency)


class MoneyOut(BaseModel):
    amount: str = Field(examples=["120000.00"])
    currency: str = Field(examples=["USD"])

    @classmethod
    def of(cls, money: Money) -> MoneyOut:
        return cls(amount=f"{money.amount:f}", currency=money.currency.code)


def units(value: int, currency: Currency) -> str:
    """Minor units as the exact major-unit decimal string."""
    return f"{Decimal(value).scaleb(-currency.exponent):f}"


# -- financings ------------------------------------------------------------------------------------


class CitationIn(Body):
    document: str = Field(min_length=1, max_length=64, description="the document's number")
    amount: MoneyIn
    kind: str | None = Field(
        default=None,
        json_schema_extra=one_of(sorted(KINDS)),
        description="the document's kind; the scenario's own kind when left out",
    )


class ApplicationIn(Body):
    """代申请: the bank applies on the firm's behalf, citing documents and the amount on each."""

    firm: str = Field(min_length=18, max_length=18, description="the firm's USCC")
    citations: list[CitationIn] = Field(min_length=1, max_length=20)

    def application(self, default_kind: DocumentType) -> FinancingApplication:
        return FinancingApplication(
            firm=self.firm,
            citations=tuple(
                Citation(
                    document=c.document,
                    amount=c.amount.money(),
                    kind=KINDS[c.kind] if c.kind is not None else default_kind,
                )
                for c in self.citations
            ),
        )


class ReviewIn(Body):
    """审核: approve, or reject (which frees the documents)."""

    approve: bool


class DisbursementIn(Body):
    """放款登记."""

    amount: MoneyIn
    value_date: dt.date
    due_date: dt.date


class RepaymentIn(Body):
    """还款登记 (partial, or full: it closes the financing)."""

    amount: MoneyIn


class Step(BaseModel):
    """One step of a financing's history."""

    action: str = Field(examples=["applied"])
    state: str = Field(description="the financing's state after the step")
    operator: str
    amount: MoneyOut | None = None
    at: dt.datetime | None = None
    block: int
    log_index: int


class FinancingOut(BaseModel):
    id: int
    scenario: str
    state: str = Field(json_schema_extra=one_of(s.name.lower() for s in FinancingState))
    bank: str = Field(description="the applying institution's participant id")
    applicant: str
    requested: MoneyOut
    disbursed: MoneyOut
    repaid: MoneyOut
    outstanding: MoneyOut
    documents: int
    value_date: dt.date | None = None
    due_date: dt.date | None = None
    transaction: str | None = Field(default=None, description="the write's transaction hash")
    history: list[Step] | None = None
    history_source: Literal["indexer", "chain"] | None = None

    @classmethod
    def of(cls, scenario: str, financing: Financing) -> FinancingOut:
        return cls(
            id=financing.id,
            scenario=scenario,
            state=financing.state.name.lower(),
            bank="0x" + financing.bank.hex(),
            applicant=financing.applicant,
            requested=MoneyOut.of(financing.requested),
            disbursed=MoneyOut.of(financing.disbursed),
            repaid=MoneyOut.of(financing.repaid),
            outstanding=MoneyOut.of(financing.outstanding),
            documents=financing.documents,
            value_date=financing.value_date,
            due_date=financing.due_date,
        )


# -- documents -------------------------------------------------------------------------------------


class DocumentIn(Body):
    number: str = Field(min_length=1, max_length=64)
    owner: str = Field(min_length=18, max_length=18, description="the owner firm's USCC")
    issued: dt.date
    amount: MoneyIn
    linked_declaration: str | None = Field(
        default=None,
        min_length=18,
        max_length=18,
        description="a document of the goods (waybill, bill of lading): its export declaration",
    )


class RegistrationIn(Body):
    documents: list[DocumentIn] = Field(min_length=1, max_length=2000)


class Skipped(BaseModel):
    number: str
    reason: str


class RegistrationOut(BaseModel):
    registered: int
    transactions: int
    linked: int
    skipped: list[Skipped]


class DocumentStatusOut(BaseModel):
    """银行间融资信息互动: used? how much is left? since when? Never who financed it."""

    kind: str
    number: str
    fingerprint: str
    status: str = Field(json_schema_extra=one_of(s.name.lower() for s in DocumentStatus))
    face: MoneyOut | None = None
    held: MoneyOut | None = None
    remaining: MoneyOut | None = None
    issued: dt.date | None = None
    used_since: dt.datetime | None = None

    @classmethod
    def of(cls, kind: str, number: str, info: DocumentInfo) -> DocumentStatusOut:
        def money(value: Money | None) -> MoneyOut | None:
            return None if value is None else MoneyOut.of(value)

        return cls(
            kind=kind,
            number=number,
            fingerprint="0x" + info.fingerprint.hex(),
            status=info.status.name.lower(),
            face=money(info.face),
            held=money(info.held),
            remaining=money(info.remaining),
            issued=info.issued,
            used_since=info.used_since,
        )


class ScreeningIn(Body):
    """Bulk screening: up to 100,000 document numbers of one kind."""

    kind: str = Field(default="export-declaration", json_schema_extra=one_of(sorted(KINDS)))
    numbers: list[str] = Field(min_length=1, max_length=100_000)


# -- consents --------------------------------------------------------------------------------------


class ConsentIn(Body):
    """A firm's signed consent, as ``crossborder consent sign`` writes it."""

    chain_id: int = Field(ge=0, le=2**63 - 1)
    consortium: str = Field(pattern=ADDRESS_PATTERN)
    firm: str = Field(pattern=HEX32_PATTERN)
    firm_uscc: str | None = Field(
        default=None,
        min_length=18,
        max_length=18,
        description="the firm's USCC: the bank's id book learns the firm's id from it",
    )
    bank: str = Field(pattern=HEX32_PATTERN)
    scenario: int = Field(ge=0, le=255)
    scope: int = Field(ge=0, le=2**32 - 1)
    valid_until: int = Field(ge=0, le=2**63 - 1)
    nonce: str = Field(pattern=r"^[0-9]{1,78}$")
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")


class ConsentOut(BaseModel):
    firm: str
    bank: str
    scenario: str
    valid_until: dt.datetime
    transaction: str


# -- reports ---------------------------------------------------------------------------------------


class ReportTitle(BaseModel):
    zh: str
    en: str


class ReportZone(BaseModel):
    name: str
    utc_offset: str


class ReportColumn(BaseModel):
    key: str
    zh: str
    en: str
    kind: str


class ReportOut(BaseModel):
    """A report as JSON: amounts as exact decimal strings, days in China Standard Time."""

    report: str
    title: ReportTitle
    scope: str
    time_zone: ReportZone
    columns: list[ReportColumn]
    rows: list[dict[str, str | int | None]]
