"""Money: an exact ``Decimal`` amount that always travels with its ISO 4217 currency.

Amounts become integer minor units only at the contract boundary (:meth:`Money.to_minor`), and
currencies travel there as their ISO 4217 numeric code (:attr:`Currency.numeric`). In JSON a
``Money`` is ``{"amount": "1234.50", "currency": "USD"}``: the amount as a string, so that no
parser turns it into a binary float on the way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import (
    Context,
    Decimal,
    DecimalException,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from types import MappingProxyType
from typing import Any

from pydantic import ConfigDict, GetCoreSchemaHandler, field_validator, model_validator
from pydantic_core import CoreSchema, core_schema

from ..errors import InvalidInput
from .boundary import BoundaryModel


@dataclass(frozen=True, slots=True)
class Currency:
    """An ISO 4217 currency.

    Attributes:
        code: The alphabetic code, e.g. ``"USD"``.
        numeric: The numeric code, e.g. ``840``; the ledger stores this one.
        exponent: The number of decimals of the minor unit, e.g. ``2`` (cents).
    """

    code: str
    numeric: int
    exponent: int

    def __str__(self) -> str:
        return self.code

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        # A model field of this type dumps as its alphabetic code and is always looked up in the
        # table, so that no one can make up a currency (or an exponent) in a payload.
        return core_schema.no_info_plain_validator_function(
            _as_currency,
            json_schema_input_schema=core_schema.str_schema(pattern="^[A-Za-z]{3}$"),
            serialization=core_schema.plain_serializer_function_ser_schema(
                _currency_code, when_used="always"
            ),
        )


# ISO 4217 list one, as published 2026-01-01: every current currency and fund with a defined minor
# unit. Codes without one (precious metals, bond-market units, XDR, XUA, XSU, XTS, XXX) cannot
# be counted in minor units, so they are left out. (alpha, numeric, exponent)
_ISO_4217: tuple[tuple[str, int, int], ...] = (
    ("AED", 784, 2),
    ("AFN", 971, 2),
    ("ALL", 8, 2),
    ("AMD", 51, 2),
    ("AOA", 973, 2),
    ("ARS", 32, 2),
    ("AUD", 36, 2),
    ("AWG", 533, 2),
    ("AZN", 944, 2),
    ("BAM", 977, 2),
    ("BBD", 52, 2),
    ("BDT", 50, 2),
    ("BHD", 48, 3),
    ("BIF", 108, 0),
    ("BMD", 60, 2),
    ("BND", 96, 2),
    ("BOB", 68, 2),
    ("BOV", 984, 2),
    ("BRL", 986, 2),
    ("BSD", 44, 2),
    ("BTN", 64, 2),
    ("BWP", 72, 2),
    ("BYN", 933, 2),
    ("BZD", 84, 2),
    ("CAD", 124, 2),
    ("CDF", 976, 2),
    ("CHE", 947, 2),
    ("CHF", 756, 2),
    ("CHW", 948, 2),
    ("CLF", 990, 4),
    ("CLP", 152, 0),
    ("CNY", 156, 2),
    ("COP", 170, 2),
    ("COU", 970, 2),
    ("CRC", 188, 2),
    ("CUP", 192, 2),
    ("CVE", 132, 2),
    ("CZK", 203, 2),
    ("DJF", 262, 0),
    ("DKK", 208, 2),
    ("DOP", 214, 2),
    ("DZD", 12, 2),
    ("EGP", 818, 2),
    ("ERN", 232, 2),
    ("ETB", 230, 2),
    ("EUR", 978, 2),
    ("FJD", 242, 2),
    ("FKP", 238, 2),
    ("GBP", 826, 2),
    ("GEL", 981, 2),
    ("GHS", 936, 2),
    ("GIP", 292, 2),
    ("GMD", 270, 2),
    ("GNF", 324, 0),
    ("GTQ", 320, 2),
    ("GYD", 328, 2),
    ("HKD", 344, 2),
    ("HNL", 340, 2),
    ("HTG", 332, 2),
    ("HUF", 348, 2),
    ("IDR", 360, 2),
    ("ILS", 376, 2),
    ("INR", 356, 2),
    ("IQD", 368, 3),
    ("IRR", 364, 2),
    ("ISK", 352, 0),
    ("JMD", 388, 2),
    ("JOD", 400, 3),
    ("JPY", 392, 0),
    ("KES", 404, 2),
    ("KGS", 417, 2),
    ("KHR", 116, 2),
    ("KMF", 174, 0),
    ("KPW", 408, 2),
    ("KRW", 410, 0),
    ("KWD", 414, 3),
    ("KYD", 136, 2),
    ("KZT", 398, 2),
    ("LAK", 418, 2),
    ("LBP", 422, 2),
    ("LKR", 144, 2),
    ("LRD", 430, 2),
    ("LSL", 426, 2),
    ("LYD", 434, 3),
    ("MAD", 504, 2),
    ("MDL", 498, 2),
    ("MGA", 969, 2),
    ("MKD", 807, 2),
    ("MMK", 104, 2),
    ("MNT", 496, 2),
    ("MOP", 446, 2),
    ("MRU", 929, 2),
    ("MUR", 480, 2),
    ("MVR", 462, 2),
    ("MWK", 454, 2),
    ("MXN", 484, 2),
    ("MXV", 979, 2),
    ("MYR", 458, 2),
    ("MZN", 943, 2),
    ("NAD", 516, 2),
    ("NGN", 566, 2),
    ("NIO", 558, 2),
    ("NOK", 578, 2),
    ("NPR", 524, 2),
    ("NZD", 554, 2),
    ("OMR", 512, 3),
    ("PAB", 590, 2),
    ("PEN", 604, 2),
    ("PGK", 598, 2),
    ("PHP", 608, 2),
    ("PKR", 586, 2),
    ("PLN", 985, 2),
    ("PYG", 600, 0),
    ("QAR", 634, 2),
    ("RON", 946, 2),
    ("RSD", 941, 2),
    ("RUB", 643, 2),
    ("RWF", 646, 0),
    ("SAR", 682, 2),
    ("SBD", 90, 2),
    ("SCR", 690, 2),
    ("SDG", 938, 2),
    ("SEK", 752, 2),
    ("SGD", 702, 2),
    ("SHP", 654, 2),
    ("SLE", 925, 2),
    ("SOS", 706, 2),
    ("SRD", 968, 2),
    ("SSP", 728, 2),
    ("STN", 930, 2),
    ("SVC", 222, 2),
    ("SYP", 760, 2),
    ("SZL", 748, 2),
    ("THB", 764, 2),
    ("TJS", 972, 2),
    ("TMT", 934, 2),
    ("TND", 788, 3),
    ("TOP", 776, 2),
    ("TRY", 949, 2),
    ("TTD", 780, 2),
    ("TWD", 901, 2),
    ("TZS", 834, 2),
    ("UAH", 980, 2),
    ("UGX", 800, 0),
    ("USD", 840, 2),
    ("USN", 997, 2),
    ("UYI", 940, 0),
    ("UYU", 858, 2),
    ("UYW", 927, 4),
    ("UZS", 860, 2),
    ("VED", 926, 2),
    ("VES", 928, 2),
    ("VND", 704, 0),
    ("VUV", 548, 0),
    ("WST", 882, 2),
    ("XAD", 396, 2),
    ("XAF", 950, 0),
    ("XCD", 951, 2),
    ("XCG", 532, 2),
    ("XOF", 952, 0),
    ("XPF", 953, 0),
    ("YER", 886, 2),
    ("ZAR", 710, 2),
    ("ZMW", 967, 2),
    ("ZWG", 924, 2),
)

CURRENCIES: MappingProxyType[str, Currency] = MappingProxyType(
    {alpha: Currency(alpha, numeric, exponent) for alpha, numeric, exponent in _ISO_4217}
)
"""Every supported currency by alphabetic code."""

_BY_NUMERIC: MappingProxyType[int, Currency] = MappingProxyType(
    {c.numeric: c for c in CURRENCIES.values()}
)

# Arithmetic that never rounds: an operation that would lose a digit raises instead. 78 digits
# hold any uint256, far beyond any amount the ledger can store.
_EXACT = Context(prec=78, traps=[Inexact, InvalidOperation, Overflow, DivisionByZero])


def currency(code: str) -> Currency:
    """Looks up a currency by its ISO 4217 alphabetic code.

    Args:
        code: The alphabetic code, in any case, e.g. ``"usd"``.

    Returns:
        The currency.

    Raises:
        InvalidInput: If the code is not a current ISO 4217 currency with a minor unit.
    """
    if not isinstance(code, str):
        raise InvalidInput(f"a currency code must be text, got {type(code).__name__}")
    found = CURRENCIES.get(code.strip().upper())
    if found is None:
        raise InvalidInput(f"{code!r} is not a current ISO 4217 currency code")
    return found


def currency_by_numeric(n: int) -> Currency:
    """Looks up a currency by its ISO 4217 numeric code, as stored on the ledger.

    Args:
        n: The numeric code, e.g. ``156`` for CNY.

    Returns:
        The currency.

    Raises:
        InvalidInput: If the number is not the code of a current ISO 4217 currency.
    """
    found = _BY_NUMERIC.get(n) if isinstance(n, int) and not isinstance(n, bool) else None
    if found is None:
        raise InvalidInput(f"{n!r} is not the numeric code of a current ISO 4217 currency")
    return found


def _as_currency(value: object) -> Currency:
    if isinstance(value, Currency):
        return currency(value.code)
    if isinstance(value, str):
        return currency(value)
    raise InvalidInput(f"a currency is an ISO 4217 code such as 'USD', not {value!r}")


def _currency_code(value: Currency) -> str:
    return value.code


def _decimals(amount: Decimal) -> int:
    exponent = amount.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


class Money(BoundaryModel):
    """An exact amount of one currency.

    Construct it with a ``Decimal``, an ``int`` or a decimal string, never a ``float``; the
    currency may be given as a :class:`Currency` or its alphabetic code:
    ``Money("1234.50", "USD")`` or ``Money(amount=..., currency=...)``. An amount finer than
    the currency's minor unit (``Money("1.005", "USD")``) is refused, never rounded. Invalid
    input raises ``InvalidInput`` (a ``ValueError``).

    Attributes:
        amount: The amount in major units, e.g. ``Decimal("1234.50")`` dollars.
        currency: Its currency.
    """

    model_config = ConfigDict(frozen=True)

    amount: Decimal
    currency: Currency

    def __init__(self, amount: Any = None, currency: Any = None, /, **data: Any) -> None:
        if amount is not None:
            data["amount"] = amount
        if currency is not None:
            data["currency"] = currency
        super().__init__(**data)

    @model_validator(mode="after")
    def _in_minor_units(self) -> Money:
        units = _exact(_EXACT.scaleb, self.amount, self.currency.exponent)
        if units != units.to_integral_value():
            raise InvalidInput(
                f"{self.currency.code} {self.amount} has more decimals than the currency's "
                f"minor unit allows ({self.currency.exponent}): it would have to be rounded"
            )
        return self

    @field_validator("amount", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        # float("0.1") is not 0.1: accepting one would silently change amounts by fractions of
        # a cent. bool is an int but never an amount.
        if isinstance(value, float | bool):
            raise InvalidInput(
                f"amount {value!r} is a {type(value).__name__}: give a Decimal, an int or a "
                "decimal string, because a float silently loses cents"
            )
        return value

    @classmethod
    def from_minor(cls, units: int, currency: Currency | str) -> Money:
        """Builds the amount from integer minor units, as the ledger stores them.

        Args:
            units: The amount in minor units (cents for USD, yen for JPY, fils for KWD).
            currency: The currency or its alphabetic code.

        Returns:
            The exact amount, with as many decimals as the currency's minor unit.

        Raises:
            InvalidInput: If ``units`` is not a non-negative int or the currency is unknown.
        """
        if isinstance(units, bool) or not isinstance(units, int):
            raise InvalidInput(f"minor units must be an int, got {units!r}")
        if units < 0:
            raise InvalidInput(f"minor units must not be negative, got {units}")
        cur = _as_currency(currency)
        # Exact by construction (an integer scaled by the currency's exponent): no re-validation,
        # which bulk screening would pay 100,000 times.
        return cls.model_construct(
            amount=_exact(_EXACT.scaleb, Decimal(units), -cur.exponent), currency=cur
        )

    def to_minor(self) -> int:
        """Converts the amount to integer minor units for the contract, exactly.

        Returns:
            The amount in minor units, e.g. ``123450`` for USD 1,234.50.

        Raises:
            InvalidInput: If the amount is negative or has more decimals than the currency's
                minor unit (e.g. USD 1.005); it is never rounded.
        """
        if self.amount < 0:
            raise InvalidInput(f"{self} is negative: the ledger holds only amounts of zero or more")
        units = _exact(_EXACT.scaleb, self.amount, self.currency.exponent)
        if units != units.to_integral_value():
            raise InvalidInput(
                f"{self.currency.code} {self.amount} has more decimals than the currency's "
                f"minor unit allows ({self.currency.exponent}): it would have to be rounded"
            )
        return int(units)

    def __str__(self) -> str:
        places = max(self.currency.exponent, _decimals(self.amount))
        return f"{self.currency.code} {self.amount:,.{places}f}"

    def _same_currency(self, other: Money, action: str) -> None:
        if other.currency != self.currency:
            raise InvalidInput(
                f"cannot {action} {self.currency.code} and {other.currency.code}: convert one "
                "first, at an agreed rate"
            )

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other, "add")
        return Money(amount=_exact(_EXACT.add, self.amount, other.amount), currency=self.currency)

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other, "subtract")
        return Money(
            amount=_exact(_EXACT.subtract, self.amount, other.amount), currency=self.currency
        )

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other, "compare")
        return self.amount < other.amount

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other, "compare")
        return self.amount <= other.amount

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other, "compare")
        return self.amount > other.amount

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other, "compare")
        return self.amount >= other.amount


def _exact(
    operation: Callable[[Decimal, Decimal | int], Decimal], left: Decimal, right: Decimal | int
) -> Decimal:
    try:
        return operation(left, right)
    except DecimalException as exc:
        raise InvalidInput(f"{left} and {right} cannot be combined without rounding") from exc
