"""Identifiers checked before anything is fingerprinted or signed.

Two identifiers carry every scenario: the firm's 18-character unified social credit code
(统一社会信用代码, USCC, GB 32100-2015) and the 18-digit customs declaration number (报关单号).
Both are normalised first (Unicode NFKC, so that full-width input typed with a Chinese input
method matches the ASCII form, then surrounding whitespace stripped and letters upper-cased):
two members who type the same code differently must still get the same fingerprint.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator

from ..errors import InvalidInput

# GB 32100-2015: digits and upper-case letters without I, O, Z, S, V; a character's value is its
# index here.
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {char: value for value, char in enumerate(USCC_CHARSET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_MODULUS = 31
USCC_LENGTH = 18

# Position 1, the registration authority (登记管理部门码):
#   1 机构编制 establishment   2 外交 foreign affairs   3 司法行政 justice   4 文化 culture
#   5 民政 civil affairs       6 旅游 tourism           7 宗教 religion      8 工会 trade unions
#   9 市场监管 (工商) market regulation   A 中央军委改革和编制办公室 military establishment
#   N 农业 agriculture         Y 其他 other
REGISTRATION_AUTHORITIES = frozenset("123456789ANY")

DECLARATION_LENGTH = 18
_DECLARATION = re.compile(r"[0-9]{18}")
_DIVISION = re.compile(r"[0-9]{6}")


def _normalise(value: str, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, got {type(value).__name__}")
    return unicodedata.normalize("NFKC", value).strip().upper()


def _check_uscc_body(code: str, body: str) -> None:
    """Checks the first 17 characters of a USCC (``code`` is what the message shows)."""
    for position, char in enumerate(body, start=1):
        if char not in _USCC_VALUES:
            raise InvalidInput(
                f"USCC {code} has {char!r} at position {position}: only digits and upper-case "
                "letters other than I, O, Z, S, V are allowed"
            )
    if body[0] not in REGISTRATION_AUTHORITIES:
        raise InvalidInput(
            f"USCC {code} starts with {body[0]!r}, which is not a registration authority code "
            f"(登记管理部门码: one of {', '.join(sorted(REGISTRATION_AUTHORITIES))})"
        )
    if not _DIVISION.fullmatch(body[2:8]):
        raise InvalidInput(
            f"USCC {code} has {body[2:8]!r} at positions 3-8, which must be the 6-digit "
            "administrative division code (行政区划码) of the registration authority"
        )


def _uscc_check_character(body: str) -> str:
    total = sum(
        _USCC_VALUES[char] * weight for char, weight in zip(body, _USCC_WEIGHTS, strict=True)
    )
    return USCC_CHARSET[(_USCC_MODULUS - total % _USCC_MODULUS) % _USCC_MODULUS]


def validate_uscc(value: str) -> str:
    """Validates a unified social credit code (统一社会信用代码) and returns its normal form.

    Args:
        value: The code as typed: surrounding whitespace, lower case and full-width characters
            are accepted.

    Returns:
        The 18-character code, upper case, without surrounding whitespace.

    Raises:
        InvalidInput: If the length, a character, the registration authority code, the
            administrative division code or the check character is wrong.
    """
    code = _normalise(value, "a USCC")
    if len(code) != USCC_LENGTH:
        raise InvalidInput(
            f"USCC {code!r} has {len(code)} characters: a unified social credit code "
            f"(统一社会信用代码) has {USCC_LENGTH}"
        )
    body, given = code[:-1], code[-1]
    _check_uscc_body(code, body)
    if given not in _USCC_VALUES:
        raise InvalidInput(
            f"USCC {code} has {given!r} as its check character: only digits and upper-case "
            "letters other than I, O, Z, S, V are allowed"
        )
    expected = _uscc_check_character(body)
    if given != expected:
        raise InvalidInput(f"USCC {code} has a wrong check character: expected {expected}")
    return code


def make_uscc(first17: str) -> str:
    """Completes the first 17 characters of a USCC with its check character.

    Args:
        first17: Registration authority, institution category, division code and organisation
            code, normalised like :func:`validate_uscc` input.

    Returns:
        The valid 18-character code.

    Raises:
        InvalidInput: If ``first17`` is not 17 characters or breaks a rule of the code.
    """
    body = _normalise(first17, "the start of a USCC")
    if len(body) != USCC_LENGTH - 1:
        raise InvalidInput(
            f"{body!r} has {len(body)} characters: a USCC without its check character has "
            f"{USCC_LENGTH - 1}"
        )
    _check_uscc_body(body, body)
    return body + _uscc_check_character(body)


def validate_declaration_number(value: str) -> str:
    """Validates a customs declaration number (报关单号) and returns its normal form.

    Args:
        value: The number as typed: surrounding whitespace and full-width digits are accepted.

    Returns:
        The 18 ASCII digits.

    Raises:
        InvalidInput: If the number is not exactly 18 digits.
    """
    number = _normalise(value, "a customs declaration number")
    if not _DECLARATION.fullmatch(number):
        raise InvalidInput(
            f"customs declaration number (报关单号) {number!r} must be exactly "
            f"{DECLARATION_LENGTH} digits"
        )
    return number


USCC = Annotated[str, AfterValidator(validate_uscc)]
"""A pydantic field type: a validated, normalised unified social credit code."""

DeclarationNumber = Annotated[str, AfterValidator(validate_declaration_number)]
"""A pydantic field type: a validated, normalised 18-digit customs declaration number."""
