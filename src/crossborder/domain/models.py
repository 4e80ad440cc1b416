"""Values that cross the SDK's boundary: what callers pass in and what services return."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import InvalidInput
from .codes import DocumentStatus, DocumentType, FinancingState
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


class Declaration(BaseModel):
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


class DocumentInfo(BaseModel):
    """Inter-bank financing information (银行间融资信息互动) about one document.

    Says whether it is used, how much is left and since when; never who financed it.
    """

    model_config = ConfigDict(frozen=True)

    fingerprint: bytes
    status: DocumentStatus
    doc_type: DocumentType | None = None
    face: Money | None = None
    held: Money | None = None
    issued: dt.date | None = None
    used_since: dt.datetime | None = None

    @property
    def remaining(self) -> Money | None:
        if self.face is None or self.held is None:
            return None
        return self.face - self.held

    @property
    def used(self) -> bool:
        return self.status in (DocumentStatus.PARTLY_USED, DocumentStatus.FULLY_USED)


class Citation(BaseModel):
    """One declaration cited by a financing application, with the amount requested on it."""

    model_config = ConfigDict(frozen=True)

    declaration: DeclarationNumber
    amount: Money

    @model_validator(mode="after")
    def _positive(self) -> Citation:
        if self.amount.amount <= 0:
            raise InvalidInput(f"the amount requested on {self.declaration} must be positive")
        self.amount.to_minor()
        return self


class FinancingApplication(BaseModel):
    """代申请: a bank applies on a firm's behalf against one or more declarations."""

    model_config = ConfigDict(frozen=True)

    firm: USCC
    citations: tuple[Citation, ...] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _consistent(self) -> FinancingApplication:
        currencies = {c.amount.currency.code for c in self.citations}
        if len(currencies) != 1:
            raise InvalidInput("all amounts of one financing must be in one currency")
        numbers = [c.declaration for c in self.citations]
        if len(set(numbers)) != len(numbers):
            raise InvalidInput("a declaration is cited twice in one application")
        return self

    @property
    def currency(self) -> Currency:
        return self.citations[0].amount.currency

    @property
    def total(self) -> Money:
        total = Money(amount=Decimal(0), currency=self.currency)
        for citation in self.citations:
            total = total + citation.amount
        return total


class Financing(BaseModel):
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
