"""Transaction signers: keystore accounts for real use, well-known keys for the local devnet.

Private keys never appear in files other than encrypted keystores, nor in logs or reprs.
"""

from __future__ import annotations

import functools
import getpass
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Protocol

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_keys.main import KeyAPI

from ..errors import InvalidInput
from ..settings import get_settings

PASSPHRASE_ENV = "CROSSBORDER_KEYSTORE_PASSPHRASE"
# The public mnemonic of Anvil's and Hardhat's funded dev accounts: for the local devnet only.
DEV_MNEMONIC = "test test test test test test test test test test test junk"
COINCURVE_BACKEND = "eth_keys.backends.CoinCurveECCBackend"


def ecc_backend_name() -> str:
    """The class name of the elliptic-curve backend eth-account signs with."""
    return type(Account._keys.backend).__name__


def _use_coincurve() -> None:
    """Sign with libsecp256k1 (coincurve), ~20x faster than the pure-Python fallback."""
    if ecc_backend_name() != "CoinCurveECCBackend":
        Account._keys = KeyAPI(COINCURVE_BACKEND)


_use_coincurve()


class Signer(Protocol):
    """Anything that signs transactions for one account."""

    @property
    def address(self) -> str:
        """The account's checksum address."""
        ...

    def sign(self, tx: Mapping[str, Any]) -> bytes:
        """Sign a transaction dict (eth-account's fields) and return the raw signed bytes."""
        ...

    def sign_typed_data(self, message: Mapping[str, Any]) -> bytes:
        """Sign an EIP-712 message (domain, types, primaryType, message); 65 bytes r, s, v."""
        ...


class LocalSigner:
    """Signs with a private key held in memory.

    Args:
        account: The eth-account account holding the key.
    """

    def __init__(self, account: LocalAccount) -> None:
        self._account = account

    def __repr__(self) -> str:
        return f"LocalSigner({self.address})"

    @property
    def address(self) -> str:
        """The account's checksum address."""
        address: str = self._account.address
        return address

    def sign(self, tx: Mapping[str, Any]) -> bytes:
        """Sign a transaction dict and return the raw signed bytes."""
        return bytes(self._account.sign_transaction(dict(tx)).raw_transaction)

    def sign_typed_data(self, message: Mapping[str, Any]) -> bytes:
        """Sign an EIP-712 message (domain, types, primaryType, message); 65 bytes r, s, v."""
        return bytes(self._account.sign_typed_data(full_message=dict(message)).signature)

    @classmethod
    def from_keystore(cls, path: Path, passphrase: str | None = None) -> LocalSigner:
        """Unlock an eth-account keystore file.

        Args:
            path: The keystore JSON file.
            passphrase: Its passphrase; else ``$CROSSBORDER_KEYSTORE_PASSPHRASE``; else a prompt.

        Raises:
            InvalidInput: No such file, not a keystore, or the wrong passphrase.
        """
        try:
            keystore = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise InvalidInput(f"no keystore file at {path}") from None
        except (OSError, ValueError):
            raise InvalidInput(f"{path} is not a readable keystore JSON file") from None
        if passphrase is None:
            passphrase = _passphrase(path)
        try:
            key = Account.decrypt(keystore, passphrase)
        except ValueError as exc:
            if "MAC mismatch" in str(exc):
                raise InvalidInput(f"wrong passphrase for the keystore {path}") from None
            raise InvalidInput(f"{path} is not an eth-account keystore") from None
        except (KeyError, TypeError, NotImplementedError):
            raise InvalidInput(f"{path} is not an eth-account keystore") from None
        return cls(Account.from_key(key))


def _passphrase(path: Path) -> str:
    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env is not None:
        return from_env
    return getpass.getpass(f"Passphrase for the keystore {path}: ")


def write_keystore(
    account: LocalAccount | LocalSigner,
    path: Path,
    passphrase: str,
    *,
    kdf: Literal["scrypt", "pbkdf2"] = "scrypt",
    iterations: int | None = None,
) -> Path:
    """Encrypt an account's key into a new keystore file, readable by its owner only.

    Args:
        account: The account (or local signer) to save.
        path: The file to create; an existing file is never overwritten.
        passphrase: The passphrase to encrypt with.
        kdf: The key-derivation function.
        iterations: Its work factor (eth-account's strong default when None).

    Raises:
        InvalidInput: The file already exists.
    """
    local = account._account if isinstance(account, LocalSigner) else account
    keystore = Account.encrypt(local.key, passphrase, kdf=kdf, iterations=iterations)
    # eth-keyfile writes the AES-CTR IV as an integer's bytes, so one keystore in 256 gets a
    # 15-byte IV that geth refuses with a panic ("bad IV length"); the zero-padded IV is the same
    # counter for every reader.
    params = keystore["crypto"]["cipherparams"]
    params["iv"] = params["iv"].rjust(32, "0")
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidInput(f"a keystore already exists at {path}; not overwriting it") from None
    with os.fdopen(fd, "w") as file:
        json.dump(keystore, file)
    return path


def dev_signers(chain_id: int, count: int = 10, *, devnet: bool | None = None) -> list[LocalSigner]:
    """The funded dev accounts of Anvil and Ganache (derived from their public mnemonic).

    These keys are public, so they are handed out only for the project's own devnet, said
    explicitly: never because of the chain id alone (geth --dev, Ganache and many private
    chains use 1337 or 31337).

    Args:
        chain_id: The chain the signers are for.
        count: How many accounts, from index 0.
        devnet: Whether the chain is the project's own devnet; None asks the settings
            (``CROSSBORDER_DEVNET=1``, or a running devnet's marker: ``Settings.is_devnet``).

    Raises:
        InvalidInput: The chain is not declared as the project's devnet.
    """
    if not (get_settings().is_devnet(chain_id) if devnet is None else devnet):
        raise InvalidInput(
            f"dev keys are only for the local devnet, and chain {chain_id} is not declared as one:"
            " start it with `crossborder devnet start` (or `up`), or set CROSSBORDER_DEVNET=1"
            " for a throwaway node of your own"
        )
    return [LocalSigner(_dev_account(index)) for index in range(count)]


@functools.cache
def _dev_account(index: int) -> LocalAccount:
    Account.enable_unaudited_hdwallet_features()
    account: LocalAccount = Account.from_mnemonic(
        DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}"
    )
    return account
