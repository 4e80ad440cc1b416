"""Money is exact, carries its currency and meets the ledger only as minor units."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from crossborder.domain.money import (
    CURRENCIES,
    Currency,
    Money,
    currency,
    currency_by_numeric,
)
from crossborder.errors import InvalidInput

USD = currency("USD")


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency=USD)


@pytest.mark.parametrize(
    ("code", "numeric", "exponent"),
    [
        ("USD", 840, 2),
        ("CNY", 156, 2),
        ("EUR", 978, 2),
        ("JPY", 392, 0),
        ("KRW", 410, 0),
        ("KWD", 414, 3),
        ("BHD", 48, 3),
        ("CLF", 990, 4),
        ("HKD", 344, 2),
        ("XCG", 532, 2),
    ],
)
def test_iso_4217_table(code: str, numeric: int, exponent: int) -> None:
    found = currency(code)
    assert (found.code, found.numeric, found.exponent) == (code, numeric, exponent)
    assert currency_by_numeric(numeric) is found


def test_table_is_complete_and_consistent() -> None:
    assert len(CURRENCIES) >= 150
    numerics = [c.numeric for c in CURRENCIES.values()]
    assert len(set(numerics)) == len(numerics)
    for code, found in CURRENCIES.items():
        assert found.code == code and len(code) == 3 and code.isupper()
        assert 0 < found.numeric < 1000 and found.exponent in (0, 2, 3, 4)


def test_currency_lookup_ignores_case() -> None:
    assert currency(" usd ") is USD


@pytest.mark.parametrize("code", ["XYZ", "US", "", "HRK", "XAU", "usd1"])
def test_unknown_currency_is_rejected(code: str) -> None:
    with pytest.raises(InvalidInput, match="ISO 4217"):
        currency(code)


@pytest.mark.parametrize("numeric", [0, 1, 191, 999, 1000])
def test_unknown_numeric_code_is_rejected(numeric: int) -> None:
    with pytest.raises(InvalidInput, match="ISO 4217"):
        currency_by_numeric(numeric)


def test_addition_is_exact() -> None:
    assert usd("0.1") + usd("0.2") == usd("0.3")
    assert (usd("0.1") + usd("0.2")).to_minor() == 30
    assert usd("1000000000000000.01") - usd("0.02") == usd("999999999999999.99")


def test_mixing_currencies_is_rejected() -> None:
    cny = Money(amount=Decimal("1"), currency="CNY")
    with pytest.raises(InvalidInput, match="USD and CNY"):
        _ = usd("1") + cny
    with pytest.raises(InvalidInput, match="USD and CNY"):
        _ = usd("1") - cny
    with pytest.raises(InvalidInput, match="compare"):
        _ = usd("1") < cny
    assert usd("1") != cny


def test_comparison_within_a_currency() -> None:
    assert usd("1.5") == usd("1.50")
    assert usd("1.49") < usd("1.5") <= usd("1.50") < usd("2")
    assert usd("2") > usd("1.99") >= usd("1.99")
    assert max(usd("3"), usd("10"), usd("9.99")) == usd("10")


def test_to_minor_follows_the_exponent() -> None:
    assert usd("1234.5").to_minor() == 123450
    assert Money(amount=Decimal("1234"), currency="JPY").to_minor() == 1234
    assert Money(amount=Decimal("1.234"), currency="KWD").to_minor() == 1234
    assert Money(amount=Decimal("0.0001"), currency="CLF").to_minor() == 1
    assert usd("1.000").to_minor() == 100
    assert usd("0").to_minor() == 0


@pytest.mark.parametrize(
    ("amount", "code"), [("1.005", "USD"), ("1.5", "JPY"), ("0.0001", "KWD"), ("1E-30", "EUR")]
)
def test_an_amount_finer_than_the_minor_unit_is_refused_never_rounded(
    amount: str, code: str
) -> None:
    with pytest.raises(InvalidInput, match="more decimals"):
        Money(amount=Decimal(amount), currency=code)
    with pytest.raises(InvalidInput, match="more decimals"):
        Money(amount, code)


def test_positional_construction_and_trailing_zeros() -> None:
    assert Money("1234.50", "USD") == Money(amount=Decimal("1234.5"), currency="USD")
    assert Money("1.000", "USD").to_minor() == 100
    assert isinstance(InvalidInput("x"), ValueError)


def test_negative_amount_has_no_minor_units() -> None:
    debt = usd("1") - usd("2.50")
    assert debt == usd("-1.5")
    with pytest.raises(InvalidInput, match="negative"):
        debt.to_minor()


def test_from_minor() -> None:
    assert Money.from_minor(123450, "usd") == usd("1234.50")
    assert str(Money.from_minor(123450, USD).amount) == "1234.50"
    assert Money.from_minor(1234, "KWD").amount == Decimal("1.234")
    assert Money.from_minor(7, "JPY").amount == Decimal("7")


@pytest.mark.parametrize("units", [-1, 1.0, True, "100"])
def test_from_minor_needs_a_non_negative_int(units: object) -> None:
    with pytest.raises(InvalidInput, match="minor units"):
        Money.from_minor(units, USD)  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", [0.1, 1.0, True])
def test_float_amount_is_rejected(amount: object) -> None:
    with pytest.raises(InvalidInput, match="silently loses cents"):
        Money(amount=amount, currency=USD)


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity", "1,000.00", "abc"])
def test_non_finite_or_malformed_amount_is_rejected(amount: str) -> None:
    with pytest.raises(InvalidInput):
        Money(amount=amount, currency=USD)


def test_amount_from_int_and_string() -> None:
    assert Money(amount=5, currency=USD) == usd("5")
    assert Money(amount="0.10", currency=USD) == usd("0.1")


def test_currency_must_come_from_the_table() -> None:
    forged = Currency("USD", 840, 5)
    assert Money(amount=Decimal("1"), currency=forged).currency.exponent == 2
    with pytest.raises(InvalidInput, match="ISO 4217"):
        Money(amount=Decimal("1"), currency="XYZ")
    with pytest.raises(InvalidInput, match="ISO 4217"):
        Money(amount=Decimal("1"), currency=840)
    with pytest.raises(ValidationError, match="ISO 4217"):
        Money.model_validate({"amount": "1", "currency": {"code": "USD", "exponent": 5}})


def test_money_is_frozen() -> None:
    money = usd("1")
    with pytest.raises(ValidationError):
        money.amount = Decimal("2")  # type: ignore[misc]
    assert len({usd("1"), usd("1.00")}) == 1


def test_json_round_trip_keeps_amount_and_currency_together() -> None:
    money = usd("1234.50")
    payload = money.model_dump_json()
    assert json.loads(payload) == {"amount": "1234.50", "currency": "USD"}
    assert Money.model_validate_json(payload) == money
    assert money.model_dump() == {"amount": Decimal("1234.50"), "currency": "USD"}
    assert Money.model_validate(money.model_dump()) == money
    with pytest.raises(ValidationError, match="silently loses cents"):
        Money.model_validate_json('{"amount": 0.1, "currency": "USD"}')
    schema = Money.model_json_schema()
    assert schema["properties"]["currency"]["type"] == "string"


@pytest.mark.parametrize(
    ("amount", "code", "text"),
    [
        ("1234.5", "USD", "USD 1,234.50"),
        ("1234567", "JPY", "JPY 1,234,567"),
        ("0.5", "KWD", "KWD 0.500"),
        ("-1234.5", "CNY", "CNY -1,234.50"),
        ("1E+3", "EUR", "EUR 1,000.00"),
    ],
)
def test_str(amount: str, code: str, text: str) -> None:
    assert str(Money(amount=Decimal(amount), currency=code)) == text


@st.composite
def money(draw: st.DrawFn) -> Money:
    cur = draw(st.sampled_from(sorted(CURRENCIES.values(), key=lambda c: c.code)))
    amount = draw(
        st.decimals(
            min_value=0,
            max_value=10**15,
            places=cur.exponent,
            allow_nan=False,
            allow_infinity=False,
        )
    )
    return Money(amount=amount, currency=cur)


@given(money())
def test_minor_units_round_trip(m: Money) -> None:
    assert Money.from_minor(m.to_minor(), m.currency) == m


@given(st.sampled_from(sorted(CURRENCIES)), st.integers(min_value=0, max_value=2**64 - 1))
def test_from_minor_round_trip(code: str, units: int) -> None:
    assert Money.from_minor(units, code).to_minor() == units


@given(money(), money())
def test_sum_in_minor_units_is_exact(a: Money, b: Money) -> None:
    if a.currency != b.currency:
        b = Money(amount=b.amount.quantize(Decimal(1)), currency=a.currency)
    assert (a + b).to_minor() == a.to_minor() + b.to_minor()


def test_declaration_amount_must_fit_the_stores():
    import datetime as dt

    import pytest

    from crossborder.domain.identifiers import make_uscc
    from crossborder.domain.models import MAX_MINOR_UNITS, Declaration

    def declaration(units: int) -> Declaration:
        return Declaration(
            number="531020260000000001",
            export_date=dt.date(2026, 1, 1),
            exporter=make_uscc("91350200MA2Y00001"),
            amount=Money.from_minor(units, "USD"),
        )

    assert declaration(MAX_MINOR_UNITS - 1).amount.to_minor() == MAX_MINOR_UNITS - 1
    with pytest.raises(ValueError, match="too large"):
        declaration(MAX_MINOR_UNITS)
    with pytest.raises(ValueError, match="positive"):
        declaration(0)
