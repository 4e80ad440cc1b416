"""The ledger's packed document word (see the layout in ``contracts/DocumentLedger.vy``)."""

from __future__ import annotations

from typing import NamedTuple

from ..domain.codes import DocumentStatus

_U64 = (1 << 64) - 1


class DocumentWord(NamedTuple):
    face: int
    held: int
    currency: int
    doc_type: int
    issued_day: int
    since: int

    @property
    def status(self) -> DocumentStatus:
        if self.doc_type == 0:
            return DocumentStatus.UNKNOWN
        if self.held == 0:
            return DocumentStatus.FREE
        if self.held >= self.face:
            return DocumentStatus.FULLY_USED
        return DocumentStatus.PARTLY_USED


def held(word: int) -> int:
    """The held amount alone: the bulk screening test (non-zero means already used)."""
    return (word >> 64) & _U64


def unpack(word: int) -> DocumentWord:
    """Splits one packed document word into its fields (zero word: an unknown document)."""
    return DocumentWord(
        word & _U64,
        held(word),
        (word >> 128) & 0xFFFF,
        (word >> 144) & 0xFF,
        (word >> 152) & 0xFFFF,
        (word >> 168) & 0xFFFFFFFF,
    )
