"""Confirmation by following blocks, on a real Anvil: configured depth, one receipt per
transaction, and reorganisations (``anvil_reorg``, ``anvil_rollback``) that drop a mined
transaction, which is re-sent from the same signed bytes, never signed anew."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from crossborder.chain.devnet import Devnet
from crossborder.chain.receipts import Receipt
from crossborder.chain.rpc import RpcClient
from crossborder.chain.sender import TransactionSender, TxRequest
from crossborder.chain.signers import LocalSigner
from crossborder.errors import ChainUnavailable

pytestmark = pytest.mark.integration

CHAIN_ID = 31337


class CountingRpc(RpcClient):
    """Counts the JSON-RPC methods called (each call of a batch)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.calls: Counter[str] = Counter()

    def _post(self, body: bytes) -> Any:
        calls = json.loads(body)
        for call in calls if isinstance(calls, list) else [calls]:
            self.calls[call["method"]] += 1
        return super()._post(body)


@pytest.fixture
def rpc(node: Devnet) -> Iterator[CountingRpc]:
    client = CountingRpc(node.url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def signers(node: Devnet) -> list[LocalSigner]:
    return node.signers()


def pay(signer: LocalSigner, to: LocalSigner, value: int = 1) -> TxRequest:
    return TxRequest(signer, to.address, value=value, gas=21_000)


def mined_at(rpc: RpcClient, tx_hash: str) -> tuple[int, str] | None:
    tx = rpc.request("eth_getTransactionByHash", [tx_hash])
    if tx is None or tx["blockNumber"] is None:
        return None
    return int(tx["blockNumber"], 16), tx["blockHash"]


def until_mined(rpc: RpcClient, tx_hash: str) -> tuple[int, str]:
    for _ in range(200):
        if (where := mined_at(rpc, tx_hash)) is not None:
            return where
        time.sleep(0.02)
    raise AssertionError(f"{tx_hash} not mined")


def nonce(rpc: RpcClient, signer: LocalSigner) -> int:
    return int(rpc.request("eth_getTransactionCount", [signer.address, "latest"]), 16)


def test_confirmations_wait_for_blocks_on_top(rpc: CountingRpc, signers: list[LocalSigner]) -> None:
    sender = TransactionSender(rpc, CHAIN_ID, confirmations=2)
    tx_hash = sender.send(pay(signers[0], signers[1]))
    number, _ = until_mined(rpc, tx_hash)
    with pytest.raises(ChainUnavailable, match="not confirmed"):
        sender.wait([tx_hash], timeout=0.3)  # mined, but nothing on top yet
    rpc.request("anvil_mine", ["0x1"])
    with pytest.raises(ChainUnavailable, match="not confirmed"):
        sender.wait([tx_hash], timeout=0.3)  # one block on top of two
    rpc.request("anvil_mine", ["0x1"])
    (receipt,) = sender.wait([tx_hash], timeout=5)
    assert receipt.block_number == number and receipt.status == 1
    assert TransactionSender(rpc, CHAIN_ID, confirmations=0).wait([tx_hash])[0] == receipt


def test_blocks_are_read_once_and_receipts_fetched_once(
    node: Devnet, rpc: CountingRpc, signers: list[LocalSigner]
) -> None:
    sender = TransactionSender(rpc, CHAIN_ID)
    rpc.request("evm_setAutomine", [False])
    try:
        hashes = sender.send_many([pay(signers[2], signers[3], v) for v in range(1, 41)])
        rpc.calls.clear()
        done: list[list[Receipt]] = []
        waiter = threading.Thread(target=lambda: done.append(sender.wait(hashes, timeout=30)))
        waiter.start()
        time.sleep(0.3)  # several rounds while all are pending
        rpc.request("anvil_mine", ["0x3"])
        waiter.join(30)
    finally:
        rpc.request("evm_setAutomine", [True])
    assert [r.tx_hash for r in done[0]] == hashes
    # Sent after a block the pricing read: no lookup, the blocks from there are read once
    # each, then one receipt for each transaction found in them.
    assert rpc.calls["eth_getTransactionReceipt"] == len(hashes)
    assert rpc.calls["eth_getBlockByNumber"] <= 3 + 1
    assert rpc.calls["eth_getTransactionByHash"] == 0  # no recheck was due


def test_a_transaction_sent_elsewhere_is_asked_about_once(
    node: Devnet, rpc: CountingRpc, signers: list[LocalSigner]
) -> None:
    other = TransactionSender(RpcClient(node.url), CHAIN_ID)
    tx_hash = other.send(pay(signers[2], signers[3], 99))
    until_mined(rpc, tx_hash)
    rpc.calls.clear()
    (receipt,) = TransactionSender(rpc, CHAIN_ID).wait([tx_hash])
    assert receipt.tx_hash == tx_hash
    assert rpc.calls["eth_getTransactionReceipt"] == 1  # this sender has no block to start at


def confirm_across(
    rpc: RpcClient, sender: TransactionSender, tx_hash: str, method: str, params: list[Any]
) -> tuple[list[Receipt], list[BaseException]]:
    """Wait (3 confirmations) in a thread while the node reorganises, then mine until done."""
    done: list[Receipt] = []
    failed: list[BaseException] = []

    def wait() -> None:
        try:
            done.extend(sender.wait([tx_hash], timeout=8))
        except BaseException as exc:  # the test reads it
            failed.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.3)  # the waiter has seen the transaction mined
    rpc.request(method, params)
    for _ in range(100):
        if not waiter.is_alive():
            break
        rpc.request("anvil_mine", ["0x1"])
        time.sleep(0.1)
    waiter.join(10)
    return done, failed


@pytest.mark.parametrize(("method", "params"), [("anvil_rollback", [1]), ("anvil_reorg", [1, []])])
def test_a_transaction_dropped_by_a_reorg_is_resent_from_the_same_bytes(
    rpc: RpcClient, signers: list[LocalSigner], method: str, params: list[Any]
) -> None:
    sender = TransactionSender(rpc, CHAIN_ID, confirmations=3)
    sender.receipts.recheck = 0.5
    payer = signers[4]
    start = nonce(rpc, payer)
    tx_hash = sender.send(pay(payer, signers[5], 3))
    first = until_mined(rpc, tx_hash)
    done, failed = confirm_across(rpc, sender, tx_hash, method, params)
    assert not failed, failed
    (receipt,) = done
    assert receipt.tx_hash == tx_hash and receipt.status == 1
    assert sender.receipts.resent >= 1
    assert (receipt.block_number, receipt.block_hash) != first  # mined again, elsewhere
    assert mined_at(rpc, tx_hash) == (receipt.block_number, receipt.block_hash)
    assert nonce(rpc, payer) == start + 1  # the same transaction, not a second one


def test_without_its_signed_bytes_a_dropped_transaction_is_not_confirmed(
    rpc: RpcClient, signers: list[LocalSigner]
) -> None:
    sender = TransactionSender(rpc, CHAIN_ID, confirmations=3)
    sender.receipts.recheck = 0.5
    sender.receipts.raw_of = None  # a waiter that cannot re-send
    tx_hash = sender.send(pay(signers[6], signers[7], 5))
    until_mined(rpc, tx_hash)
    done, failed = confirm_across(rpc, sender, tx_hash, "anvil_rollback", [1])
    assert not done
    assert isinstance(failed[0], ChainUnavailable)
    assert mined_at(rpc, tx_hash) is None
