"""Showing participants by name: a bank's off-chain list of ``uscc,name``, fingerprinted."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from ..domain.fingerprint import Fingerprinter
from ..errors import InvalidInput


def load_names(path: Path, fingerprints: Fingerprinter) -> dict[str, str]:
    """Fingerprint each USCC of a ``uscc,name`` CSV with the consortium key.

    Returns:
        ``0x`` fingerprint to ``"name (USCC)"``.

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
            key = "0x" + fingerprints.participant(uscc).hex()
        except InvalidInput as error:
            raise InvalidInput(f"{path}, line {number}: {error}") from None
        names[key] = f"{name} ({uscc})"
    return names


def namer(names: dict[str, str]) -> Callable[[str], str]:
    """A function showing a participant by name when known, else by its fingerprint."""
    return lambda fingerprint: names.get(fingerprint, fingerprint)
