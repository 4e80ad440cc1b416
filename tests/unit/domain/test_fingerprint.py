"""Keyed fingerprints: deterministic, key-bound, domain-separated and normalised."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from crossborder.domain.fingerprint import Fingerprinter, normalise_field
from crossborder.domain.identifiers import make_uscc
from crossborder.errors import InvalidInput

KEY = b"consortium-test-key-0123456789ab"
OTHER_KEY = b"another-consortium-key-987654321"
FIRM = make_uscc("91350200MA2XY0123")
DECLARATION = "530120241234567890"


@pytest.fixture
def fp() -> Fingerprinter:
    return Fingerprinter(KEY)


def test_fingerprint_is_32_bytes_and_deterministic(fp: Fingerprinter) -> None:
    first = fp.participant(FIRM)
    assert isinstance(first, bytes) and len(first) == 32
    assert Fingerprinter(KEY).participant(FIRM) == first
    assert fp.declaration(DECLARATION) == Fingerprinter(KEY).declaration(DECLARATION)


def test_fingerprint_follows_the_documented_construction(fp: Fingerprinter) -> None:
    message = b"crossborder/v1/customs-declaration\x00" + DECLARATION.encode()
    assert fp.declaration(DECLARATION) == hmac.digest(KEY, message, hashlib.sha256)
    waybill = b"crossborder/v1/rail-waybill\x00" + b"CR 2024\x1fXI'AN"
    assert fp.document("rail-waybill", " cr  2024 ", "xi'an") == hmac.digest(
        KEY, waybill, hashlib.sha256
    )


def test_another_key_gives_another_fingerprint(fp: Fingerprinter) -> None:
    other = Fingerprinter(OTHER_KEY)
    assert other.participant(FIRM) != fp.participant(FIRM)
    assert other.declaration(DECLARATION) != fp.declaration(DECLARATION)


def test_fingerprint_is_not_a_plain_hash(fp: Fingerprinter) -> None:
    plain = {
        hashlib.sha256(DECLARATION.encode()).digest(),
        hashlib.sha256(b"customs-declaration\x00" + DECLARATION.encode()).digest(),
        hashlib.sha256(b"crossborder/v1/customs-declaration\x00" + DECLARATION.encode()).digest(),
    }
    assert fp.declaration(DECLARATION) not in plain


def test_kinds_are_domain_separated(fp: Fingerprinter) -> None:
    # A USCC whose check character is a digit is also a well-formed declaration number.
    both = next(c for c in (make_uscc(f"91350200{n:09d}") for n in range(100)) if c.isdigit())
    assert fp.participant(both) != fp.declaration(both)
    assert fp.document("participant", FIRM) != fp.document("insurance-policy", FIRM)
    assert fp.document("rail-waybill", "A1") != fp.document("bill-of-lading", "A1")


def test_declaration_equals_generic_document(fp: Fingerprinter) -> None:
    assert fp.declaration(DECLARATION) == fp.document("customs-declaration", DECLARATION)
    padded = f"  {DECLARATION}\t"
    assert fp.declaration(padded) == fp.document("customs-declaration", padded)


def test_uscc_is_normalised_before_fingerprinting(fp: Fingerprinter) -> None:
    assert fp.participant(f"  {FIRM.lower()} ") == fp.participant(FIRM)
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in FIRM)
    assert fp.participant(full_width) == fp.participant(FIRM)


def test_document_fields_are_normalised(fp: Fingerprinter) -> None:
    assert fp.document("bill-of-lading", "  cosu 6123\u3000456 ") == fp.document(
        "bill-of-lading", "COSU 6123 456"
    )
    # Full-width characters, as a Chinese input method types them, match their ASCII form.
    assert fp.document("bill-of-lading", "ＣＯＳＵ６１２３４５６") == fp.document(
        "bill-of-lading", "COSU6123456"
    )
    assert fp.document("bill-of-lading", "COSU6123456") != fp.document(
        "bill-of-lading", "COSU 6123456"
    )


def test_fields_cannot_fake_a_separator(fp: Fingerprinter) -> None:
    assert normalise_field("A\x1fB") == "A B"
    assert fp.document("tax-filing", "A\x1fB") != fp.document("tax-filing", "A", "B")
    assert fp.document("tax-filing", "A", "B") != fp.document("tax-filing", "B", "A")


def test_invalid_identifiers_are_rejected(fp: Fingerprinter) -> None:
    with pytest.raises(InvalidInput, match="check character"):
        fp.participant(FIRM[:-1] + ("0" if FIRM[-1] != "0" else "1"))
    with pytest.raises(InvalidInput, match="18 digits"):
        fp.declaration("53012024123456789")


@pytest.mark.parametrize("kind", ["", "Rail-Waybill", "rail waybill", "rail\x00waybill", "-x"])
def test_malformed_kind_is_rejected(fp: Fingerprinter, kind: str) -> None:
    with pytest.raises(InvalidInput, match="kind"):
        fp.document(kind, "A1")


@pytest.mark.parametrize("fields", [(), ("",), ("A1", "  \t")])
def test_empty_fields_are_rejected(fp: Fingerprinter, fields: tuple[str, ...]) -> None:
    with pytest.raises(InvalidInput):
        fp.document("rail-waybill", *fields)


@pytest.mark.parametrize("key", [b"", b"short", b"x" * 15, "a text key of 32 characters....."])
def test_key_must_be_at_least_16_bytes(key: bytes) -> None:
    with pytest.raises(InvalidInput, match="key"):
        Fingerprinter(key)


def test_sixteen_byte_key_is_accepted() -> None:
    assert len(Fingerprinter(b"k" * 16).declaration(DECLARATION)) == 32


def test_key_does_not_leak_through_repr(fp: Fingerprinter) -> None:
    assert KEY.decode() not in repr(fp)
    assert KEY.hex() not in repr(fp)
