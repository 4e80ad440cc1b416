"""Idempotency keys: a caller's id for a request, so that a retry never sends it twice.

A key is scoped by (chain id, signer, key): the same key of another signer, or on another chain,
is another request. Each key records what it was for (a digest of recipient, calldata and
value): the same key with a different request is refused with ``IdempotencyConflict``, as
payment APIs answer, rather than answered with the earlier transaction's hash.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import rlp
from eth_account import Account
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from ..errors import IdempotencyConflict

__all__ = [
    "IdempotencyKey",
    "IdempotencyStore",
    "Record",
    "StoredTx",
    "check_same_request",
    "request_digest",
]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS idempotency ("
    " chain_id INTEGER NOT NULL, signer TEXT NOT NULL, key TEXT NOT NULL,"
    " request BLOB NOT NULL, tx_hash TEXT NOT NULL, raw BLOB NOT NULL,"
    " sent INTEGER NOT NULL DEFAULT 0, confirmed INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (chain_id, signer, key))"
)
_HASH_INDEX = "CREATE INDEX IF NOT EXISTS idempotency_tx_hash ON idempotency (tx_hash)"
_LEGACY_TABLE = "sent_tx"  # before keys were scoped: key -> (tx_hash, raw, sent)


class IdempotencyKey(NamedTuple):
    """Where a caller's key lives: the chain, the signer (lowercase address) and the key."""

    chain_id: int
    signer: str
    key: str


class StoredTx(NamedTuple):
    """What the store holds for a key."""

    tx_hash: str
    raw: bytes
    sent: bool
    request: bytes  # request_digest() of what the key was first used for


class Record(NamedTuple):
    """A signed transaction to record under a key, before it is broadcast."""

    key: IdempotencyKey
    request: bytes
    tx_hash: str
    raw: bytes


def request_digest(to: str | None, data: bytes, value: int) -> bytes:
    """What a request does, as 32 bytes: recipient (or creation), value and calldata.

    Gas and fees are left out: a retry may estimate or price differently.
    """
    recipient = b"\x00" if to is None else b"\x01" + bytes.fromhex(to.lower().removeprefix("0x"))
    return keccak(recipient + value.to_bytes(32, "big") + data)


def check_same_request(key: IdempotencyKey, record: StoredTx, request: bytes) -> None:
    """Refuse a key used for another request.

    Raises:
        IdempotencyConflict: ``record`` was stored for another recipient, calldata or value.
    """
    if record.request != request:
        raise IdempotencyConflict(
            f"the idempotency key {key.key!r} of {key.signer} on chain {key.chain_id} was already "
            f"used for another request (transaction {record.tx_hash}): use a new key for a new "
            "request"
        )


class IdempotencyStore:
    """Idempotency keys -> signed transactions, in SQLite (a file, or memory when no path).

    A key is recorded with the signed bytes *before* they are broadcast, and marked sent once the
    node accepts them, so that a retry after a crash re-broadcasts the same bytes rather than
    signing a second transaction. A file written before keys were scoped is migrated when
    opened: each record's chain, signer and request are read from its signed bytes.

    Args:
        path: The SQLite file; None keeps the records in memory for this process only.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            ":memory:" if path is None else str(path), check_same_thread=False
        )
        with self._lock, self._db:
            if path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(idempotency)")}
            if "confirmed" not in columns:  # a file from before confirmations were recorded
                self._db.execute(
                    "ALTER TABLE idempotency ADD COLUMN confirmed INTEGER NOT NULL DEFAULT 0"
                )
            self._db.execute(_HASH_INDEX)
            self._migrate_unscoped()

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def get(self, key: IdempotencyKey) -> StoredTx | None:
        """The record of a key, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT tx_hash, raw, sent, request FROM idempotency"
                " WHERE chain_id = ? AND signer = ? AND key = ?",
                key,
            ).fetchone()
        if row is None:
            return None
        return StoredTx(row[0], bytes(row[1]), bool(row[2]), bytes(row[3]))

    def raw_of(self, tx_hash: str) -> bytes | None:
        """The signed bytes recorded with a transaction hash, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT raw FROM idempotency WHERE tx_hash = ?", (tx_hash,)
            ).fetchone()
        return None if row is None else bytes(row[0])

    def unsent(self, chain_id: int) -> list[IdempotencyKey]:
        """The keys of a chain whose signed bytes were recorded but not (known to be) sent."""
        with self._lock:
            rows = self._db.execute(
                "SELECT chain_id, signer, key FROM idempotency WHERE chain_id = ? AND sent = 0",
                (chain_id,),
            ).fetchall()
        return [IdempotencyKey(int(c), str(s), str(k)) for c, s, k in rows]

    def unconfirmed(self, chain_id: int) -> list[str]:
        """The hashes of a chain's keys sent but never seen confirmed (by a wait)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT tx_hash FROM idempotency WHERE chain_id = ? AND sent = 1 AND confirmed = 0",
                (chain_id,),
            ).fetchall()
        return [str(row[0]) for row in rows]

    def mark_confirmed(self, tx_hashes: Sequence[str]) -> None:
        """Record that a wait saw these transactions confirmed (``recover`` skips them)."""
        if not tx_hashes:
            return
        with self._lock, self._db:
            self._db.executemany(
                "UPDATE idempotency SET confirmed = 1 WHERE tx_hash = ? AND confirmed = 0",
                [(h,) for h in tx_hashes],
            )

    def put(self, records: Sequence[Record]) -> None:
        """Record signed transactions as signed but not yet sent, in one transaction."""
        if not records:
            return
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO idempotency"
                " (chain_id, signer, key, request, tx_hash, raw, sent)"
                " VALUES (?, ?, ?, ?, ?, ?, 0)",
                [(*r.key, r.request, r.tx_hash, r.raw) for r in records],
            )

    def mark_sent(self, keys: Sequence[IdempotencyKey]) -> None:
        """Record that the node accepted the transactions of these keys."""
        if not keys:
            return
        with self._lock, self._db:
            self._db.executemany(
                "UPDATE idempotency SET sent = 1 WHERE chain_id = ? AND signer = ? AND key = ?",
                keys,
            )

    def discard(self, keys: Sequence[IdempotencyKey]) -> None:
        """Forget keys whose transactions the node rejected."""
        if not keys:
            return
        with self._lock, self._db:
            self._db.executemany(
                "DELETE FROM idempotency WHERE chain_id = ? AND signer = ? AND key = ?", keys
            )

    def _migrate_unscoped(self) -> None:
        """Move the records of the unscoped table (key only) into the scoped one."""
        found = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (_LEGACY_TABLE,)
        ).fetchone()
        if found is None:
            return
        rows = self._db.execute(f"SELECT key, tx_hash, raw, sent FROM {_LEGACY_TABLE}").fetchall()
        for key, tx_hash, raw, sent in rows:
            try:
                chain_id, signer, request = _read_signed(bytes(raw))
            except Exception:  # bytes no node would take either: nothing to keep
                continue
            self._db.execute(
                "INSERT OR IGNORE INTO idempotency"
                " (chain_id, signer, key, request, tx_hash, raw, sent)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (chain_id, signer, key, request, tx_hash, bytes(raw), int(sent)),
            )
        self._db.execute(f"DROP TABLE {_LEGACY_TABLE}")


def _read_signed(raw: bytes) -> tuple[int, str, bytes]:
    """The chain id, signer (lowercase) and request digest of a signed transaction."""
    signer = str(Account.recover_transaction(raw)).lower()
    if raw[0] >= 0xC0:  # legacy: [nonce, gasPrice, gas, to, value, data, v, r, s]
        fields = rlp.decode(raw)
        to, value, data, v = fields[3], fields[4], fields[5], fields[6]
        v = int.from_bytes(v, "big")
        if v < 35:
            raise ValueError("a transaction without a chain id (pre-EIP-155)")
        chain_id = (v - 35) // 2
        value = int.from_bytes(value, "big")
    else:
        tx = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
        chain_id, to, value, data = tx["chainId"], tx.get("to") or b"", tx["value"], tx["data"]
    recipient = "0x" + bytes(to).hex() if to else None
    return int(chain_id), signer, request_digest(recipient, bytes(data), int(value))
