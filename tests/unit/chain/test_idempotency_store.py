"""Idempotency keys without a node: scoping, the request digest, conflicts, and migration."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils.crypto import keccak

from crossborder.chain.idempotency import (
    IdempotencyKey,
    IdempotencyStore,
    Record,
    check_same_request,
    request_digest,
)
from crossborder.chain.signers import LocalSigner
from crossborder.errors import Conflict, IdempotencyConflict

A = "0x" + "aa" * 20
B = "0x" + "bb" * 20
TO = "0x" + "cc" * 20


def test_keys_are_scoped_by_chain_and_signer() -> None:
    store = IdempotencyStore()
    digest = request_digest(TO, b"\x01", 0)
    store.put([Record(IdempotencyKey(1, A, "invoice"), digest, "0x01", b"raw")])
    assert store.get(IdempotencyKey(1, A, "invoice")) is not None
    assert store.get(IdempotencyKey(2, A, "invoice")) is None  # another chain
    assert store.get(IdempotencyKey(1, B, "invoice")) is None  # another signer
    assert store.get(IdempotencyKey(1, A, "other")) is None
    store.put([Record(IdempotencyKey(2, A, "invoice"), digest, "0x02", b"raw2")])
    first, second = (
        store.get(IdempotencyKey(1, A, "invoice")),
        store.get(IdempotencyKey(2, A, "invoice")),
    )
    assert first is not None and second is not None
    assert (first.tx_hash, second.tx_hash) == ("0x01", "0x02")


def test_mark_sent_and_discard_touch_one_scope() -> None:
    store = IdempotencyStore()
    digest = request_digest(TO, b"", 0)
    keys = [IdempotencyKey(1, A, "k"), IdempotencyKey(1, B, "k")]
    store.put([Record(k, digest, f"0x0{i}", b"raw") for i, k in enumerate(keys)])
    store.mark_sent(keys[:1])
    assert [store.get(k).sent for k in keys] == [True, False]  # type: ignore[union-attr]
    store.discard(keys[1:])
    assert store.get(keys[0]) is not None and store.get(keys[1]) is None


def test_the_digest_covers_recipient_calldata_and_value() -> None:
    base = request_digest(TO, b"\x01\x02", 5)
    assert base == request_digest(TO.upper().replace("0X", "0x"), b"\x01\x02", 5)
    assert base != request_digest(A, b"\x01\x02", 5)
    assert base != request_digest(TO, b"\x01\x03", 5)
    assert base != request_digest(TO, b"\x01\x02", 6)
    # A contract creation is not a call to the zero address.
    assert request_digest(None, b"", 0) != request_digest("0x" + "00" * 20, b"", 0)


def test_the_same_key_for_another_request_is_a_conflict() -> None:
    key = IdempotencyKey(31337, A, "invoice-7")
    store = IdempotencyStore()
    store.put([Record(key, request_digest(TO, b"\x01", 0), "0xabc", b"raw")])
    record = store.get(key)
    assert record is not None
    check_same_request(key, record, request_digest(TO, b"\x01", 0))  # the same request: fine
    with pytest.raises(IdempotencyConflict, match="invoice-7") as raised:
        check_same_request(key, record, request_digest(TO, b"\x01", 1))
    assert isinstance(raised.value, Conflict)
    assert "0xabc" in str(raised.value)


def test_a_file_of_unscoped_keys_is_migrated(tmp_path: Path) -> None:
    """Records written before keys were scoped keep their bytes: chain, signer and request are
    read back from the signed transaction, so a retry still re-sends the same bytes."""
    path = tmp_path / "sent.sqlite"
    signer = LocalSigner(Account.create())
    raw = signer.sign(
        {
            "nonce": 3,
            "gasPrice": 10**9,
            "gas": 50_000,
            "to": bytes.fromhex(TO[2:]),
            "value": 9,
            "data": b"\xde\xad",
            "chainId": 31337,
        }
    )
    tx_hash = "0x" + keccak(raw).hex()
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE sent_tx (key TEXT PRIMARY KEY, tx_hash TEXT NOT NULL,"
            " raw BLOB NOT NULL, sent INTEGER NOT NULL DEFAULT 0)"
        )
        db.execute("INSERT INTO sent_tx VALUES ('invoice-1', ?, ?, 1)", (tx_hash, raw))
        db.execute("INSERT INTO sent_tx VALUES ('garbage', '0x00', x'00', 0)")
    db.close()
    store = IdempotencyStore(path)
    key = IdempotencyKey(31337, signer.address.lower(), "invoice-1")
    record = store.get(key)
    assert record is not None
    assert (record.tx_hash, record.raw, record.sent) == (tx_hash, raw, True)
    assert record.request == request_digest(TO, b"\xde\xad", 9)
    assert store.get(IdempotencyKey(1, signer.address.lower(), "invoice-1")) is None
    store.close()
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    db.close()
    assert tables == {"idempotency"}
    IdempotencyStore(path).close()  # opening again is a no-op


def test_sent_keys_stay_unconfirmed_until_a_wait_confirms_them() -> None:
    store = IdempotencyStore()
    digest = request_digest(TO, b"", 1)
    keys = [IdempotencyKey(1, A, "one"), IdempotencyKey(1, A, "two"), IdempotencyKey(2, A, "one")]
    store.put([Record(key, digest, f"0x0{i}", b"raw") for i, key in enumerate(keys)])
    assert store.unsent(1) == keys[:2] and store.unconfirmed(1) == []
    store.mark_sent(keys)
    assert store.unsent(1) == [] and store.unconfirmed(1) == ["0x00", "0x01"]
    store.mark_confirmed(["0x00", "0x02"])
    assert store.unconfirmed(1) == ["0x01"] and store.unconfirmed(2) == []
    assert store.raw_of("0x01") == b"raw" and store.raw_of("0x09") is None
    store.put([Record(keys[0], digest, "0x05", b"raw5")])  # signed anew: not confirmed
    store.mark_sent(keys[:1])
    assert sorted(store.unconfirmed(1)) == ["0x01", "0x05"]


def test_a_file_without_the_confirmed_column_gains_it(tmp_path: Path) -> None:
    path = tmp_path / "keys.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE idempotency (chain_id INTEGER NOT NULL, signer TEXT NOT NULL,"
            " key TEXT NOT NULL, request BLOB NOT NULL, tx_hash TEXT NOT NULL, raw BLOB NOT NULL,"
            " sent INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (chain_id, signer, key))"
        )
        db.execute(
            "INSERT INTO idempotency VALUES (1, ?, 'old', ?, '0xaa', x'01', 1)",
            (A, request_digest(TO, b"", 0)),
        )
    store = IdempotencyStore(path)
    assert store.unconfirmed(1) == ["0xaa"]  # kept, and re-checked by recover()
    store.mark_confirmed(["0xaa"])
    assert store.unconfirmed(1) == []
    store.close()
