"""A process killed after signing and before confirmation, then restarted with the same key, on
a real Anvil: the idempotency file (``CROSSBORDER_IDEMPOTENCY_DB``) holds the signed bytes
recorded before broadcasting, so the new process sends those bytes or none, never a second
transaction."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crossborder.chain.devnet import Devnet
from crossborder.chain.rpc import RpcClient
from crossborder.chain.signers import LocalSigner

from .nodeproxy import NodeProxy

pytestmark = pytest.mark.integration

# One process of a service: sign and send a payment under a key (from the settings' file),
# print its hash, then wait for it ("wait"); or settle and wait for what was recorded ("recover").
CHILD = """
import sys
from crossborder.chain.rpc import RpcClient
from crossborder.chain.sender import TransactionSender, TxRequest
from crossborder.chain.signers import dev_signers
url, key, mode, payer_index = sys.argv[1:5]
signers = dev_signers(31337, 10, devnet=True)
payer, payee = signers[int(payer_index)], signers[9]
sender = TransactionSender(RpcClient(url), 31337)
if mode == "recover":
    recovered = sender.recover()
    sender.wait(recovered, timeout=60)
    print(",".join(recovered), flush=True)
    sys.exit()
tx = sender.send(TxRequest(payer, payee.address, value=11, gas=21000, idempotency_key=key))
print(tx, flush=True)
if mode == "wait":
    sender.wait([tx], timeout=60)
    print("confirmed", flush=True)
"""


def child(url: str, key: str, mode: str, payer: int, db: Path | None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "CROSSBORDER_IDEMPOTENCY_DB"}
    if db is not None:
        env["CROSSBORDER_IDEMPOTENCY_DB"] = str(db)
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, url, key, mode, str(payer)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen[str]) -> list[str]:
    out, err = process.communicate(timeout=90)
    assert process.returncode == 0, err
    return out.split()


def recorded(db: Path) -> list[tuple[str, int]]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as connection:
        try:
            return connection.execute("SELECT tx_hash, sent FROM idempotency").fetchall()
        except sqlite3.OperationalError:
            return []


def until(condition: object, what: str) -> None:
    for _ in range(300):
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"never: {what}")


def nonce(rpc: RpcClient, signer: LocalSigner) -> int:
    return int(rpc.request("eth_getTransactionCount", [signer.address, "pending"]), 16)


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(10)


def killed_before_sending(node: Devnet, db: Path, key: str, payer: int) -> str:
    """Run a process until it recorded its signed bytes, hanging the broadcast; kill it."""
    proxy = NodeProxy(node.url)
    proxy.hold_sends = True  # the broadcast never reaches the node
    first = child(proxy.url, key, "send", payer, db)
    try:
        until(lambda: recorded(db), "the signed bytes recorded")
        kill(first)
    finally:
        proxy.stop()
    ((tx_hash, sent),) = recorded(db)
    assert not sent
    return str(tx_hash)


def test_killed_between_signing_and_sending(node: Devnet, rpc: RpcClient, tmp_path: Path) -> None:
    db = tmp_path / "idempotency.sqlite"
    payer = node.signers()[1]
    start = nonce(rpc, payer)
    tx_hash = killed_before_sending(node, db, "invoice-1", 1)
    assert nonce(rpc, payer) == start  # signed, recorded, never sent
    again = finished(child(node.url, "invoice-1", "wait", 1, db))
    assert again == [tx_hash, "confirmed"]  # the recorded bytes, not a new signature
    assert finished(child(node.url, "invoice-1", "wait", 1, db)) == [tx_hash, "confirmed"]
    assert nonce(rpc, payer) == start + 1


def test_recover_broadcasts_what_a_killed_process_recorded(
    node: Devnet, rpc: RpcClient, tmp_path: Path
) -> None:
    db = tmp_path / "idempotency.sqlite"
    payer = node.signers()[2]
    start = nonce(rpc, payer)
    tx_hash = killed_before_sending(node, db, "invoice-2", 2)
    assert finished(child(node.url, "unused", "recover", 2, db)) == [tx_hash]
    assert recorded(db) == [(tx_hash, 1)]
    assert nonce(rpc, payer) == start + 1
    assert finished(child(node.url, "unused", "recover", 2, db)) == []  # nothing left


@pytest.mark.parametrize(("mode", "said"), [("wait", ["confirmed"]), ("recover", [])])
def test_sent_then_dropped_is_resent_from_the_recorded_bytes(
    node: Devnet, rpc: RpcClient, tmp_path: Path, mode: str, said: list[str]
) -> None:
    """Restarted, the process uses the key again ("wait") or recovers at start-up ("recover")."""
    db = tmp_path / "idempotency.sqlite"
    payer = node.signers()[3]
    start = nonce(rpc, payer)
    rpc.request("evm_setAutomine", [False])
    try:
        first = child(node.url, "invoice-3", "wait", 3, db)
        assert first.stdout is not None
        tx_hash = first.stdout.readline().strip()  # sent; now waiting for a block
        kill(first)
        assert recorded(db) == [(tx_hash, 1)]
        rpc.request("anvil_dropTransaction", [tx_hash])  # lost with the node's pool
        assert rpc.request("eth_getTransactionByHash", [tx_hash]) is None
    finally:
        rpc.request("evm_setAutomine", [True])
    again = finished(child(node.url, "invoice-3", mode, 3, db))
    assert again == [tx_hash, *said]
    assert nonce(rpc, payer) == start + 1
    assert finished(child(node.url, "unused", "recover", 3, db)) == []  # all confirmed


def test_without_the_file_a_restart_sends_a_second_transaction(
    node: Devnet, rpc: RpcClient
) -> None:
    payer = node.signers()[4]
    start = nonce(rpc, payer)
    one = finished(child(node.url, "invoice-4", "wait", 4, None))
    two = finished(child(node.url, "invoice-4", "wait", 4, None))
    assert one[0] != two[0]
    assert nonce(rpc, payer) == start + 2
