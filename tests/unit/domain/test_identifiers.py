"""USCC (统一社会信用代码) and customs declaration number (报关单号) rules."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from crossborder.domain.identifiers import (
    USCC,
    USCC_CHARSET,
    DeclarationNumber,
    make_uscc,
    validate_declaration_number,
    validate_uscc,
)
from crossborder.errors import InvalidInput

# Huawei Technologies Co., Ltd., as published in the national enterprise credit register.
REAL_USCC = "914403001922038216"


class Party(BaseModel):
    uscc: USCC
    declaration: DeclarationNumber


def test_real_uscc_is_valid() -> None:
    assert validate_uscc(REAL_USCC) == REAL_USCC


@pytest.mark.parametrize(
    "first17",
    ["91350200MA2XY0123", "12100000400000624", "5144000050000000X", "Y1110000MA01ABCDE"],
)
def test_made_uscc_is_valid(first17: str) -> None:
    code = make_uscc(first17)
    assert code[:17] == first17
    assert code[17] in USCC_CHARSET
    assert validate_uscc(code) == code


def test_check_character_that_wraps_to_zero() -> None:
    # A weighted sum divisible by 31 gives 31 - 0 = 31, which the standard writes as "0".
    bodies = (f"91110000{n:09d}" for n in range(10_000))
    code = next(make_uscc(body) for body in bodies if make_uscc(body).endswith("0"))
    assert validate_uscc(code) == code


def test_uscc_is_normalised() -> None:
    typed = "  " + REAL_USCC.lower() + "\n"
    assert validate_uscc(typed) == REAL_USCC
    full_width = REAL_USCC.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    assert validate_uscc(full_width) == REAL_USCC


def test_wrong_check_character_is_rejected() -> None:
    wrong = REAL_USCC[:-1] + "7"
    with pytest.raises(InvalidInput, match="wrong check character: expected 6"):
        validate_uscc(wrong)


def test_transposed_digits_are_rejected() -> None:
    swapped = REAL_USCC[:9] + REAL_USCC[10] + REAL_USCC[9] + REAL_USCC[11:]
    with pytest.raises(InvalidInput, match="wrong check character"):
        validate_uscc(swapped)


@pytest.mark.parametrize("bad", ["I", "O", "Z", "S", "V", "-", "é"])
def test_uscc_charset_is_enforced(bad: str) -> None:
    code = REAL_USCC[:10] + bad + REAL_USCC[11:]
    with pytest.raises(InvalidInput, match="position 11"):
        validate_uscc(code)


def test_uscc_check_character_outside_the_charset_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="check character"):
        validate_uscc(REAL_USCC[:-1] + "S")


@pytest.mark.parametrize("code", ["", REAL_USCC[:-1], REAL_USCC + "0", "9144030019220382"])
def test_uscc_length_is_enforced(code: str) -> None:
    with pytest.raises(InvalidInput, match="characters"):
        validate_uscc(code)


@pytest.mark.parametrize("authority", ["0", "B", "X"])
def test_unknown_registration_authority_is_rejected(authority: str) -> None:
    code = make_uscc("9" + REAL_USCC[1:17]).replace("9", authority, 1)
    with pytest.raises(InvalidInput, match="registration authority"):
        validate_uscc(code)
    with pytest.raises(InvalidInput, match="registration authority"):
        make_uscc(code[:17])


def test_division_code_must_be_digits() -> None:
    with pytest.raises(InvalidInput, match="administrative division"):
        make_uscc("91ABCDEF192203821")


@pytest.mark.parametrize("first17", ["9144030019220382", "914403001922038216", ""])
def test_make_uscc_needs_17_characters(first17: str) -> None:
    with pytest.raises(InvalidInput, match="17"):
        make_uscc(first17)


def test_uscc_must_be_text() -> None:
    with pytest.raises(InvalidInput, match="text"):
        validate_uscc(914403001922038216)  # type: ignore[arg-type]


def test_declaration_number_is_normalised() -> None:
    assert validate_declaration_number(" 530120241234567890 ") == "530120241234567890"
    full_width = "５３０１２０２４１２３４５６７８９０"
    assert validate_declaration_number(full_width) == "530120241234567890"


@pytest.mark.parametrize(
    "number",
    [
        "53012024123456789",
        "5301202412345678901",
        "53012024123456789A",
        "5301 2024 1234 5678 90",
        "-53012024123456789",
        "",
        "٥٣٠١٢٠٢٤١٢٣٤٥٦٧٨٩٠",
    ],
)
def test_declaration_number_must_be_18_digits(number: str) -> None:
    with pytest.raises(InvalidInput, match="exactly 18 digits"):
        validate_declaration_number(number)


def test_annotated_types_validate_models() -> None:
    party = Party(uscc=REAL_USCC.lower(), declaration=" 530120241234567890")
    assert party.uscc == REAL_USCC
    assert party.declaration == "530120241234567890"
    assert Party.model_validate_json(party.model_dump_json()) == party


def test_annotated_types_reject_bad_input() -> None:
    with pytest.raises(ValidationError, match="wrong check character"):
        Party(uscc=REAL_USCC[:-1] + "7", declaration="530120241234567890")
    with pytest.raises(ValidationError, match="exactly 18 digits"):
        Party(uscc=REAL_USCC, declaration="5301")
