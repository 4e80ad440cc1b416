"""How the platform names its participants on chain: one interface, one place to change it.

A participant's on-chain id must not be derivable from its public identifiers: every member
holds the consortium key (it fingerprints documents), so an id computed from the USCC with that
key lets any member recompute every firm's id from the public register and read another bank's
customers off the chain. Ids therefore come from the regulator's directory:

* ``DirectoryIds`` is the directory itself. Each id is the keyed hash of the USCC under the
  **directory key**, which only the regulator's directory holds (not the consortium key, and no
  member has it). To a member such an id is indistinguishable from a random one issued at
  onboarding; unlike a random one it is re-derivable, so the directory can never lose its
  mapping. The regulator (and its statistics) resolve every id through it.
* ``IdBook`` is what a member knows: its own id, the public ids of institutions (banks,
  customs, the insurer, logistics operators: an institution's identity is not a customer
  secret), and the ids of the firms that gave them theirs — a firm's signed consent carries its
  id, and customs or a bank may ask the directory for an audited lookup the firm authorised. An
  unknown firm is an ``UnknownParticipantId`` error, never a guessed id.

Every service resolves ids through ``ParticipantIds``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Protocol

from ..errors import InvalidInput, UnknownParticipantId
from .fingerprint import Fingerprinter
from .identifiers import validate_uscc


class ParticipantIds(Protocol):
    """Resolves a participant's on-chain id from its unified social credit code."""

    def participant(self, uscc: str) -> bytes:
        """The 32-byte on-chain id of the participant with this USCC (validated)."""
        ...


class DirectoryIds:
    """The regulator's directory: every participant's id, keyed by the directory key.

    Args:
        key: The directory key (at least 16 bytes), held by the regulator's directory only.
    """

    __slots__ = ("_keyed",)

    def __init__(self, key: bytes) -> None:
        self._keyed = Fingerprinter(key)

    def __repr__(self) -> str:
        return "DirectoryIds(key=<hidden>)"

    def participant(self, uscc: str) -> bytes:
        return self._keyed.participant(uscc)


class IdBook:
    """The participant ids one member knows, kept in a JSON file (``{"USCC": "0x…id"}``).

    Args:
        path: The book's file; created on the first ``learn``. None keeps the book in memory.
        known: Ids to start with (for example the directory's published institution ids).
    """

    def __init__(self, path: Path | None = None, known: dict[str, bytes] | None = None) -> None:
        self.path = path
        self._ids: dict[str, bytes] = {}
        if path is not None and path.exists():
            self._ids.update(_read_book(path))
        for uscc, pid in (known or {}).items():
            self._ids[validate_uscc(uscc)] = _checked_id(pid)

    def __len__(self) -> int:
        return len(self._ids)

    def participant(self, uscc: str) -> bytes:
        uscc = validate_uscc(uscc)
        try:
            return self._ids[uscc]
        except KeyError:
            raise UnknownParticipantId(
                f"no on-chain id is known here for {uscc}: the firm's signed consent carries it,"
                " or the regulator's directory issues it on an authorised lookup",
                value=uscc,
            ) from None

    def learn(self, uscc: str, pid: bytes) -> None:
        """Records a participant's id (from its consent or a directory lookup) and saves the book.

        Raises:
            InvalidInput: The USCC is invalid, the id is not 32 bytes, or the book already holds
                another id for this USCC (an id never changes).
        """
        uscc, pid = validate_uscc(uscc), _checked_id(pid)
        known = self._ids.get(uscc)
        if known == pid:
            return
        if known is not None:
            raise InvalidInput(f"the id book already holds another id for {uscc}", value=uscc)
        self._ids[uscc] = pid
        if self.path is not None:
            _write_book(self.path, self._ids)


def _checked_id(pid: bytes) -> bytes:
    if not isinstance(pid, bytes | bytearray) or len(pid) != 32:
        raise InvalidInput("a participant id is 32 bytes")
    return bytes(pid)


def _read_book(path: Path) -> dict[str, bytes]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {
            validate_uscc(u): _checked_id(bytes.fromhex(h.removeprefix("0x")))
            for u, h in raw.items()
        }
    except (OSError, ValueError, AttributeError) as error:
        raise InvalidInput(f"the id book {path} is unreadable: {error}", value=str(path)) from None


def _write_book(path: Path, ids: dict[str, bytes]) -> None:
    """Replaces the book atomically: a crash leaves the old book or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(
        json.dumps({u: "0x" + pid.hex() for u, pid in sorted(ids.items())}, indent=1) + "\n",
        encoding="utf-8",
    )
    os.replace(tmp, path)
