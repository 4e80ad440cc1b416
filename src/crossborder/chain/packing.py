"""The ledger's packed words (see the layouts in ``contracts/DocumentLedger.vy``)."""

from __future__ import annotations

from typing import NamedTuple

from ..domain.codes import DocumentStatus

_U16 = (1 << 16) - 1
_U32 = (1 << 32) - 1
_U64 = (1 << 64) - 1


class DocumentWord(NamedTuple):
    face: int
    held: int
    currency: int
    registrar: int
    issued_day: int
    since: int

    @property
    def status(self) -> DocumentStatus:
        if self.face == 0:
            return DocumentStatus.UNKNOWN
        if self.held == 0:
            return DocumentStatus.FREE
        if self.held >= self.face:
            return DocumentStatus.FULLY_USED
        return DocumentStatus.PARTLY_USED


class HoldRecord(NamedTuple):
    """One hold of one scenario's financing on one document."""

    live: int
    consumed: int
    bank_tag: bytes  # the top 16 bytes of the holding bank's id


def held(word: int) -> int:
    """The held amount alone: the bulk screening test (non-zero means already used)."""
    return (word >> 64) & _U64


def face(word: int) -> int:
    return word & _U64


def unpack(word: int) -> DocumentWord:
    """Splits one packed document word into its fields (zero word: an unknown document)."""
    return DocumentWord(
        word & _U64,
        held(word),
        (word >> 128) & _U16,
        (word >> 144) & _U16,
        (word >> 160) & _U16,
        (word >> 176) & _U32,
    )


def unpack_hold(record: int) -> HoldRecord:
    return HoldRecord(record & _U64, (record >> 64) & _U64, (record >> 128).to_bytes(16, "big"))
