"""What a report is: bilingual columns, typed rows, and who asks with which filters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from ..domain.codes import DocumentType, Reason
from ..domain.documents import DOCUMENT_KINDS
from ..domain.money import currency_by_numeric
from ..domain.payments import PAYMENT_SPECS
from ..domain.scenarios import SCENARIO_SPECS
from ..errors import InvalidInput
from ..indexer.schema import REPORTING_TZ_LABEL, REPORTING_TZ_OFFSET

# "day": a reporting day or month, in the reporting time zone (China Standard Time).
Kind = Literal["text", "int", "amount", "hours", "day"]
Period = Literal["day", "month"]

REASON_LABELS: dict[int, str] = {
    Reason.OK: "通过 passed",
    Reason.NOT_FOUND: "单证不存在 not found",
    Reason.WRONG_TYPE: "单证类型不符 wrong document type",
    Reason.WRONG_OWNER: "出口企业不符 wrong exporter",
    Reason.CURRENCY_MISMATCH: "币种不符 currency mismatch",
    Reason.DUPLICATE: "重复融资 duplicate",
    Reason.OVER_FINANCED: "超额融资 over-financing",
}
# The financing scenarios as users know them (Chinese and English), from the scenario specs.
SCENARIO_LABELS: dict[int, str] = {int(spec.scenario): spec.label for spec in SCENARIO_SPECS} | {
    int(spec.scenario): spec.label for spec in PAYMENT_SPECS
}
# ``--scenario NAME``: each financing scenario's short name to its scenario code.
SCENARIO_CODES: dict[str, int] = {spec.name: int(spec.scenario) for spec in SCENARIO_SPECS}
DOCUMENT_LABELS: dict[int, str] = {int(t): kind.label for t, kind in DOCUMENT_KINDS.items()} | {
    int(DocumentType.INSURED_SHIPMENT): "投保申报 insured shipment",
    int(DocumentType.TAX_FILING): "税务备案 tax filing",
    int(DocumentType.FREIGHT_INVOICE): "运费发票 freight invoice",
}


def scenario_label(code: int) -> str:
    """A scenario code as users know it; an unknown one by its number."""
    return SCENARIO_LABELS.get(code, f"scenario {code}")


def document_label(doc_type: int | None) -> str:
    """A document type as users know it; an unknown one by its number."""
    if doc_type is None:
        return ""
    return DOCUMENT_LABELS.get(doc_type, f"document type {doc_type}")


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its key in each row, its Chinese and English headers, and its kind."""

    key: str
    zh: str
    en: str
    kind: Kind = "text"

    @property
    def english(self) -> str:
        """The English header; a day or month column names its time zone."""
        return f"{self.en} ({REPORTING_TZ_OFFSET})" if self.kind == "day" else self.en

    @property
    def header(self) -> str:
        return f"{self.zh} / {self.english}"

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "amount", "hours")


@dataclass
class Report:
    """A computed report, ready to render.

    Attributes:
        name: Its command name, e.g. ``"firm-stats"``.
        zh: Its Chinese title.
        en: Its English title.
        columns: The columns in display order.
        rows: One dict per row, by column key; amounts are exact ``Decimal`` in major units,
            with the currency's code in the row's ``currency`` column.
        scope: Whose rows it shows (a bank's, or all for the regulator).
        chart: What ``--chart`` draws: ``("series", x, y)`` or ``("bars", label, value)``.
        time_zone: The zone of its days and months (and of the ``--from``/``--to`` filters).
    """

    name: str
    zh: str
    en: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    scope: str
    chart: tuple[str, str, str] | None = None
    notes: list[str] = field(default_factory=list)
    time_zone: str = REPORTING_TZ_LABEL

    @property
    def title(self) -> str:
        return f"{self.zh} {self.en}"

    @property
    def zone_note(self) -> str:
        return f"days in {self.time_zone}"


@dataclass(frozen=True)
class Scope:
    """Whose rows a report may show.

    Attributes:
        bank: The legal-person bank of a bank statistician (融资业务银行统计员), which sees its
            own and its branches' rows; None for the regulator, who sees everything.
    """

    bank: str | None = None

    @property
    def label(self) -> str:
        return "regulator: all banks" if self.bank is None else f"bank {self.bank}"


@dataclass(frozen=True)
class Filters:
    """Optional narrowing of a report.

    Attributes:
        date_from: First reporting day (inclusive).
        date_to: Last reporting day (inclusive).
        bank: Only this legal-person bank (and its branches).
        currency: Only this ISO 4217 numeric currency code.
        scenario: Only this scenario (its code, ``SCENARIO_CODES[name]``).
        period: Grouping of the time series.
    """

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    bank: str | None = None
    currency: int | None = None
    scenario: int | None = None
    period: Period = "month"

    def __post_init__(self) -> None:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise InvalidInput("the start date is after the end date")
        if self.period not in ("day", "month"):
            raise InvalidInput("the period is 'day' or 'month'")


def amount(units: int, numeric: int) -> tuple[str, Decimal]:
    """Minor units as an exact major-unit Decimal with the currency's code.

    An unknown numeric code (an attempt may name any) is shown as ``#NNN`` in minor units.
    """
    try:
        currency = currency_by_numeric(numeric)
    except InvalidInput:
        return f"#{numeric}", Decimal(units)
    return currency.code, Decimal(units).scaleb(-currency.exponent)
