"""The operator keys one gateway signs with: its institution's keystores, or the devnet's keys."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from ..chain.signers import PASSPHRASE_ENV, LocalSigner, Signer, dev_signers
from ..errors import AccessDenied, InvalidInput

DEV_ACCOUNTS = 30


class Keyring:
    """Signers by account (lowercase address)."""

    def __init__(self, signers: Iterable[Signer]) -> None:
        self._signers = {s.address.lower(): s for s in signers}

    @classmethod
    def from_keystores(cls, folder: Path, passphrase: str | None = None) -> Keyring:
        """Unlocks every ``*.json`` keystore in ``folder``.

        Args:
            passphrase: Else ``$CROSSBORDER_KEYSTORE_PASSPHRASE`` (a server does not prompt).

        Raises:
            InvalidInput: No passphrase, no keystore, or one that does not unlock.
        """
        passphrase = passphrase if passphrase is not None else os.environ.get(PASSPHRASE_ENV)
        if passphrase is None:
            raise InvalidInput(f"set {PASSPHRASE_ENV} to unlock the operator keystores")
        return cls(LocalSigner.from_keystore(path, passphrase) for path in keystore_files(folder))

    @classmethod
    def dev(cls, chain_id: int) -> Keyring:
        """The devnet's public dev keys (only on the declared devnet: ``dev_signers``)."""
        return cls(dev_signers(chain_id, DEV_ACCOUNTS))

    def __contains__(self, account: object) -> bool:
        return isinstance(account, str) and account.lower() in self._signers

    def __len__(self) -> int:
        return len(self._signers)

    def signer(self, account: str) -> Signer:
        """The signer of an account.

        Raises:
            AccessDenied: This gateway holds no key for the account.
        """
        found = self._signers.get(account.lower())
        if found is None:
            raise AccessDenied(f"this gateway holds no key for the operator {account}")
        return found


def keystore_files(folder: Path) -> list[Path]:
    """The keystore files of a folder.

    Raises:
        InvalidInput: The folder is missing or holds none.
    """
    if not folder.is_dir():
        raise InvalidInput(f"no keystore folder at {folder}")
    files = sorted(folder.glob("*.json"))
    if not files:
        raise InvalidInput(f"no keystore (*.json) in {folder}")
    return files


def keystore_addresses(folder: Path) -> set[str]:
    """The accounts of a folder's keystores (lowercase), read without unlocking them."""
    addresses = set()
    for path in keystore_files(folder):
        try:
            address = json.loads(path.read_text())["address"]
        except (OSError, ValueError, KeyError, TypeError):
            raise InvalidInput(f"{path} is not an eth-account keystore") from None
        addresses.add("0x" + str(address).lower().removeprefix("0x"))
    return addresses
