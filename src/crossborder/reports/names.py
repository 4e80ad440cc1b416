"""Showing participants by name: an off-chain list of ``uscc,name``, resolved to on-chain ids."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from ..domain.ids import ParticipantIds
from ..errors import InvalidInput, UnknownParticipantId


def load_names(path: Path, ids: ParticipantIds) -> dict[str, str]:
    """Resolve each USCC of a ``uscc,name`` CSV to its on-chain id.

    The regulator's directory resolves every row; a member's id book only the participants it
    knows (its customers, the institutions): the other rows stay unnamed.

    Returns:
        ``0x`` id to ``"name (USCC)"``.

    Raises:
        InvalidInput: The file is missing, or a row has an invalid USCC.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError:
        raise InvalidInput(f"cannot read the names file {path}") from None
    names: dict[str, str] = {}
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or not row[0].strip() or row[0].strip().lower() == "uscc":
            continue
        if len(row) < 2:
            raise InvalidInput(f"{path}, line {number}: expected 'uscc,name'")
        uscc, name = row[0].strip(), row[1].strip()
        try:
            key = "0x" + ids.participant(uscc).hex()
        except UnknownParticipantId:
            continue
        except InvalidInput as error:
            raise InvalidInput(f"{path}, line {number}: {error}") from None
        names[key] = f"{name} ({uscc})"
    return names


def namer(names: dict[str, str]) -> Callable[[str], str]:
    """A function showing a participant by name when known, else by its on-chain id."""
    return lambda fingerprint: names.get(fingerprint, fingerprint)
