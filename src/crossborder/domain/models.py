"""Values that cross the SDK's boundary: what callers pass in and what services return."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from pydantic import AliasChoices, ConfigDict, Field, model_validator

from ..errors import InvalidInput
from .boundary import BoundaryModel
from .codes import DocumentStatus, DocumentType, FinancingState
from .documents import document_kind
from .identifiers import USCC, DeclarationNumber
from .money import Currency, Money

EPOCH = dt.date(1970, 1, 1)
MAX_DAY = 0xFFFF  # the ledger keeps issue days in 16 bits (until 2149)
MAX_MINOR_UNITS = 1 << 63


def to_day(value: dt.date) -> int:
    """Days since 1970-01-01, as the contracts store dates."""
    day = (value - EPOCH).days
    if not 0 <= day <= MAX_DAY:
        raise InvalidInput(f"date {value} is outside the ledger's range (1970-01-01 to 2149)")
    return day


def from_day(day: int) -> dt.date:
    return EPOCH + dt.timedelta(days=day)


class SourceDocument(Protocol):
    """What the ledger registers of any source document (a declaration, a waybill, …)."""

    @property
    def number(self) -> str: ...

    @property
    def owner(self) -> str:
        """The owner firm's USCC."""
        ...

    @property
    def issued(self) -> dt.date: ...

    @property
    def amount(self) -> Money: ...


class Declaration(BoundaryModel):
    """An export (or import) customs declaration (报关单), as customs knows it.

    Only its fingerprint, the exporter's fingerprint, amount, currency and date go on chain.
    """

    model_config = ConfigDict(frozen=True)

    number: DeclarationNumber
    export_date: dt.date
    exporter: USCC
    amount: Money
    trade_mode: str = "0110"  # 一般贸易 general trade
    destination: str = Field(default="US", min_length=2, max_length=3)
    export: bool = True

    @model_validator(mode="after")
    def _positive(self) -> Declaration:
        if self.amount.amount <= 0:
            raise InvalidInput(f"declaration {self.number}: the amount must be positive")
        # The ledger holds 64 bits; SQL stores (SQLite, BIGINT) hold 63: the SDK keeps to both.
        if self.amount.to_minor() >= MAX_MINOR_UNITS:
            raise InvalidInput(f"declaration {self.number}: the amount is too large")
        to_day(self.export_date)
        return self

    @property
    def doc_type(self) -> DocumentType:
        return DocumentType.EXPORT_DECLARATION if self.export else DocumentType.IMPORT_DECLARATION

    @property
    def owner(self) -> str:
        return self.exporter

    @property
    def issued(self) -> dt.date:
        return self.export_date


class TransportDocument(BoundaryModel):
    """A rail waybill (铁路运单) or bill of lading (提单), as the logistics operator knows it.

    Only its fingerprint, the consignor's id, the goods' value, currency and date go on chain;
    ``declaration``, when known, links it on the ledger to the export declaration of the same
    goods, so that the two are never financed together beyond the goods' value.
    """

    model_config = ConfigDict(frozen=True)

    kind: DocumentType
    number: str
    consignor: USCC
    goods_value: Money
    issued: dt.date
    corridor: str = Field(default="西部陆海新通道", min_length=1, max_length=40)
    carrier: str = Field(default="", max_length=60)
    declaration: DeclarationNumber | None = None

    @model_validator(mode="after")
    def _valid(self) -> TransportDocument:
        if self.kind not in (DocumentType.RAIL_WAYBILL, DocumentType.BILL_OF_LADING):
            raise InvalidInput("a transport document is a rail waybill or a bill of lading")
        object.__setattr__(self, "number", document_kind(self.kind).validate(self.number))
        if self.goods_value.amount <= 0 or self.goods_value.to_minor() >= MAX_MINOR_UNITS:
            raise InvalidInput(f"{self.number}: the goods' value must be positive and below 2**63")
        to_day(self.issued)
        return self

    @property
    def owner(self) -> str:
        return self.consignor

    @property
    def amount(self) -> Money:
        return self.goods_value


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """Inter-bank financing information (银行间融资信息互动) about one document.

    Says whether it is used, how much is left and since when; never who financed it. Built
    straight from the ledger's packed word, amounts as integer minor units beside their
    currency: bulk screening reads 100,000 of these, and ``face``, ``held`` and ``remaining``
    become exact ``Money`` only when asked for.
    """

    fingerprint: bytes
    status: DocumentStatus
    doc_type: DocumentType | None = None
    currency: Currency | None = None
    face_units: int = 0
    held_units: int = 0
    issued_day: int | None = None
    since: int = 0

    @property
    def face(self) -> Money | None:
        return None if self.currency is None else Money.from_minor(self.face_units, self.currency)

    @property
    def held(self) -> Money | None:
        return None if self.currency is None else Money.from_minor(self.held_units, self.currency)

    @property
    def remaining(self) -> Money | None:
        if self.currency is None:
            return None
        return Money.from_minor(self.face_units - self.held_units, self.currency)

    @property
    def issued(self) -> dt.date | None:
        return None if self.issued_day is None else from_day(self.issued_day)

    @property
    def used_since(self) -> dt.datetime | None:
        return dt.datetime.fromtimestamp(self.since, dt.UTC) if self.since else None

    @property
    def used(self) -> bool:
        """Partly or fully used: some financing holds (or has consumed) part of it."""
        return self.status in (DocumentStatus.PARTLY_USED, DocumentStatus.FULLY_USED)

    @property
    def fully_used(self) -> bool:
        """Nothing is left: a new financing would be a duplicate (重复融资)."""
        return self.status is DocumentStatus.FULLY_USED


class Citation(BoundaryModel):
    """One document cited by a financing application, with the amount requested on it.

    ``document`` is the document's number (``declaration=`` is accepted for declarations);
    ``kind`` its type, an export declaration unless said otherwise.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    document: str = Field(validation_alias=AliasChoices("document", "declaration"))
    amount: Money
    kind: DocumentType = DocumentType.EXPORT_DECLARATION

    @model_validator(mode="after")
    def _valid(self) -> Citation:
        object.__setattr__(self, "document", document_kind(self.kind).validate(self.document))
        if self.amount.amount <= 0:
            raise InvalidInput(f"the amount requested on {self.document} must be positive")
        self.amount.to_minor()
        return self


class FinancingApplication(BoundaryModel):
    """代申请: a bank applies on a firm's behalf against one or more declarations."""

    model_config = ConfigDict(frozen=True)

    firm: USCC
    citations: tuple[Citation, ...] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _consistent(self) -> FinancingApplication:
        currencies = {c.amount.currency.code for c in self.citations}
        if len(currencies) != 1:
            raise InvalidInput("all amounts of one financing must be in one currency")
        kinds = {c.kind for c in self.citations}
        if len(kinds) != 1:
            raise InvalidInput("all documents of one financing must be of one kind")
        numbers = [c.document for c in self.citations]
        if len(set(numbers)) != len(numbers):
            raise InvalidInput("a document is cited twice in one application")
        return self

    @property
    def currency(self) -> Currency:
        return self.citations[0].amount.currency

    @property
    def kind(self) -> DocumentType:
        return self.citations[0].kind

    @property
    def total(self) -> Money:
        total = Money(amount=Decimal(0), currency=self.currency)
        for citation in self.citations:
            total = total + citation.amount
        return total


class Financing(BoundaryModel):
    """A financing as the ledger records it."""

    model_config = ConfigDict(frozen=True)

    id: int
    scenario: str
    applicant: str
    bank: bytes
    state: FinancingState
    requested: Money
    disbursed: Money
    repaid: Money
    documents: int
    value_date: dt.date | None = None
    due_date: dt.date | None = None

    @property
    def outstanding(self) -> Money:
        return self.disbursed - self.repaid
