"""What a report is: bilingual columns, typed rows, and who asks with which filters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from ..domain.codes import Reason, Scenario
from ..domain.money import currency_by_numeric
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
SCENARIO_LABELS: dict[int, str] = {
    Scenario.RECEIVABLES: "出口应收账款融资 export receivables",
    Scenario.POLICY: "出口信保保单融资 credit-insurance policy",
    Scenario.LOGISTICS: "物流融资 logistics",
    Scenario.CREDIT_MATCH: "融资授信银企对接 credit matching",
}


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
        scenario: Only this scenario.
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
