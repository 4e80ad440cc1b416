"""Keyed fingerprints: how the ledger names firms and documents without showing them.

The ledger never holds a plaintext USCC or document number. It holds
``HMAC-SHA256(consortium key, b"crossborder/v1/" + kind + b"\\x00" + fields)``, where the fields
are normalised and joined with the unit separator ``\\x1f``. Members, who hold the key, get the
same fingerprint for the same document and so see each other's use of it; an outsider cannot
try all 10^18 declaration numbers without the key. The kind keeps a firm and a document with
the same characters apart.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

from ..errors import InvalidInput
from .identifiers import DECLARATION_LENGTH, validate_declaration_number, validate_uscc

MIN_KEY_BYTES = 16
FINGERPRINT_BYTES = 32
PARTICIPANT_KIND = "participant"
DECLARATION_KIND = "customs-declaration"

_DOMAIN = b"crossborder/v1/"
_KIND_SEPARATOR = b"\x00"
_FIELD_SEPARATOR = b"\x1f"
_KIND = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_KNOWN_KINDS = frozenset({PARTICIPANT_KIND, DECLARATION_KIND})


def normalise_field(value: str) -> str:
    """Puts one identifying field in the form that is fingerprinted.

    NFKC (full-width characters become ASCII), upper case, no surrounding whitespace and every
    inner run of whitespace one space. Control separators such as ``\\x1f`` count as whitespace,
    so a field can never fake the boundary between two fields.

    Args:
        value: The field as typed.

    Returns:
        The normalised field.

    Raises:
        InvalidInput: If the field is not text or is empty once normalised.
    """
    if not isinstance(value, str):
        raise InvalidInput(f"a document field must be text, got {type(value).__name__}")
    normalised = " ".join(unicodedata.normalize("NFKC", value).upper().split())
    if not normalised:
        raise InvalidInput("a document field is empty")
    return normalised


class Fingerprinter:
    """Computes keyed fingerprints with the consortium key.

    Args:
        key: The consortium key, at least 16 bytes. It is kept off the ledger and out of logs.

    Raises:
        InvalidInput: If the key is not bytes or is shorter than 16 bytes.
    """

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes | bytearray):
            raise InvalidInput(f"the consortium key must be bytes, got {type(key).__name__}")
        if len(key) < MIN_KEY_BYTES:
            raise InvalidInput(
                f"the consortium key has {len(key)} bytes: it needs at least {MIN_KEY_BYTES}"
            )
        self._key = bytes(key)

    def __repr__(self) -> str:
        return "Fingerprinter(key=<hidden>)"

    def participant(self, uscc: str) -> bytes:
        """Fingerprints a participant (firm, bank, customs, insurer...) by its USCC.

        Args:
            uscc: The unified social credit code (统一社会信用代码), in any accepted form.

        Returns:
            The 32-byte fingerprint.

        Raises:
            InvalidInput: If the USCC is invalid.
        """
        return self._mac(PARTICIPANT_KIND, (validate_uscc(uscc),))

    def declaration(self, number: str) -> bytes:
        """Fingerprints a customs declaration (报关单) by its number.

        Equal to ``document("customs-declaration", number)`` for every valid number.

        Args:
            number: The 18-digit declaration number (报关单号).

        Returns:
            The 32-byte fingerprint.

        Raises:
            InvalidInput: If the number is not 18 digits.
        """
        if len(number) == DECLARATION_LENGTH and number.isascii() and number.isdigit():
            # Already in normal form (the common case, 100,000 times in a bulk screening).
            return self._mac(DECLARATION_KIND, (number,))
        return self.document(DECLARATION_KIND, validate_declaration_number(number))

    def document(self, kind: str, *fields: str) -> bytes:
        """Fingerprints any document by its kind and identifying fields.

        Args:
            kind: The kind of document in lower-case kebab case, e.g. ``"rail-waybill"``.
            *fields: The identifying fields in a fixed order, each normalised with
                :func:`normalise_field`.

        Returns:
            The 32-byte fingerprint.

        Raises:
            InvalidInput: If the kind is malformed, no field is given or a field is empty.
        """
        if not fields:
            raise InvalidInput(f"a {kind} fingerprint needs at least one identifying field")
        return self._mac(kind, tuple(normalise_field(field) for field in fields))

    def _mac(self, kind: str, fields: tuple[str, ...]) -> bytes:
        if kind not in _KNOWN_KINDS and (not isinstance(kind, str) or not _KIND.fullmatch(kind)):
            raise InvalidInput(
                f"document kind {kind!r} must be lower-case letters and digits joined by '-'"
            )
        message = (
            _DOMAIN
            + kind.encode("ascii")
            + _KIND_SEPARATOR
            + _FIELD_SEPARATOR.join(field.encode("utf-8") for field in fields)
        )
        return hmac.digest(self._key, message, hashlib.sha256)
