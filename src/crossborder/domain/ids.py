"""How the platform names its participants on chain: one interface, one place to change it.

Today a participant's id is the keyed fingerprint of its USCC (``FingerprintIds``). Another
scheme (ids the regulator's directory issues, which no member can derive from a public USCC)
replaces it by implementing ``ParticipantIds``; every service resolves ids through it.
"""

from __future__ import annotations

from typing import Protocol

from .fingerprint import Fingerprinter
from .identifiers import validate_uscc


class ParticipantIds(Protocol):
    """Resolves a participant's on-chain id from its unified social credit code."""

    def participant(self, uscc: str) -> bytes:
        """The 32-byte on-chain id of the participant with this USCC (validated)."""
        ...


class FingerprintIds:
    """Ids as keyed fingerprints of the USCC, with the consortium key."""

    def __init__(self, fingerprints: Fingerprinter) -> None:
        self._fingerprints = fingerprints

    def participant(self, uscc: str) -> bytes:
        return self._fingerprints.participant(validate_uscc(uscc))
