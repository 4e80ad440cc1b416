"""Idempotency keys on a real Anvil: scoped by (chain id, signer, key); the same key for another
request is an ``IdempotencyConflict``, never the earlier transaction's hash."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crossborder.chain.devnet import Devnet, free_port
from crossborder.chain.rpc import RpcClient
from crossborder.chain.sender import IdempotencyStore, TransactionSender, TxRequest
from crossborder.chain.signers import LocalSigner
from crossborder.errors import Conflict, IdempotencyConflict

pytestmark = pytest.mark.integration

CHAIN_ID = 31337
OTHER_CHAIN_ID = 4242


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    started = Devnet(tmp_path_factory.mktemp("anvil"), port=free_port(), block_time=None)
    started.start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def other_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    started = Devnet(
        tmp_path_factory.mktemp("anvil-other"),
        port=free_port(),
        block_time=None,
        chain_id=OTHER_CHAIN_ID,
    )
    started.start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def rpc(devnet: Devnet) -> Iterator[RpcClient]:
    client = RpcClient(devnet.url)
    yield client
    client.close()


@pytest.fixture
def sender(rpc: RpcClient) -> TransactionSender:
    return TransactionSender(rpc, CHAIN_ID)


@pytest.fixture(scope="module")
def signers(devnet: Devnet) -> list[LocalSigner]:
    return devnet.signers()


def nonce(rpc: RpcClient, signer: LocalSigner) -> int:
    return int(rpc.request("eth_getTransactionCount", [signer.address, "pending"]), 16)


def pay(signer: LocalSigner, to: LocalSigner, value: int = 1, key: str = "invoice") -> TxRequest:
    return TxRequest(signer, to.address, value=value, gas=21_000, idempotency_key=key)


def test_the_same_key_and_request_returns_the_first_hash(
    rpc: RpcClient, sender: TransactionSender, signers: list[LocalSigner]
) -> None:
    start = nonce(rpc, signers[0])
    first = sender.send(pay(signers[0], signers[9], key="same"))
    assert sender.send(pay(signers[0], signers[9], key="same")) == first
    assert sender.send_many([pay(signers[0], signers[9], key="same")] * 2) == [first, first]
    # Gas is not part of the request: an estimated retry is the same request.
    retry = TxRequest(signers[0], signers[9].address, value=1, idempotency_key="same")
    assert sender.send(retry) == first
    sender.wait([first])
    assert nonce(rpc, signers[0]) == start + 1


@pytest.mark.parametrize(
    "change",
    [
        {"to": "0x" + "77" * 20},
        {"data": b"\x01"},
        {"value": 2},
    ],
    ids=["to", "data", "value"],
)
def test_the_same_key_for_another_request_is_a_conflict(
    rpc: RpcClient, sender: TransactionSender, signers: list[LocalSigner], change: dict[str, object]
) -> None:
    signer = signers[1]
    key = f"conflict-{next(iter(change))}"
    first = sender.send(pay(signer, signers[9], key=key))
    sender.wait([first])
    start = nonce(rpc, signer)
    base = pay(signer, signers[9], key=key)
    other = TxRequest(
        signer,
        str(change.get("to", base.to)),
        data=change.get("data", base.data),  # type: ignore[arg-type]
        value=change.get("value", base.value),  # type: ignore[arg-type]
        gas=50_000,
        idempotency_key=key,
    )
    with pytest.raises(IdempotencyConflict, match=key) as raised:
        sender.send(other)
    assert isinstance(raised.value, Conflict) and first in str(raised.value)
    with pytest.raises(IdempotencyConflict):
        sender.send_many([pay(signer, signers[8], key="fresh-" + key), other])
    assert nonce(rpc, signer) == start  # nothing sent, not even the batch's good request
    assert sender.send(base) == first  # the key still answers its own request


def test_one_key_for_two_requests_of_one_batch_is_a_conflict(
    rpc: RpcClient, sender: TransactionSender, signers: list[LocalSigner]
) -> None:
    signer = signers[2]
    start = nonce(rpc, signer)
    with pytest.raises(IdempotencyConflict, match="positions 0 and 1"):
        sender.send_many([pay(signer, signers[9], 1, "batch"), pay(signer, signers[9], 2, "batch")])
    assert nonce(rpc, signer) == start
    assert sender.send_many([pay(signer, signers[9], 1, "batch")] * 2)[0] is not None


def test_keys_are_scoped_by_signer(
    rpc: RpcClient, sender: TransactionSender, signers: list[LocalSigner]
) -> None:
    """Two signers may use the same key: two requests, two transactions."""
    a, b = signers[3], signers[4]
    hashes = sender.send_many([pay(a, signers[9], key="shared"), pay(b, signers[9], key="shared")])
    assert len(set(hashes)) == 2
    assert all(r.status == 1 for r in sender.wait(hashes))
    assert sender.send(pay(b, signers[9], key="shared")) == hashes[1]
    with pytest.raises(IdempotencyConflict):
        sender.send(pay(b, signers[9], value=5, key="shared"))


def test_keys_are_scoped_by_chain(
    rpc: RpcClient, other_chain: Devnet, signers: list[LocalSigner], tmp_path: Path
) -> None:
    """One store (a file) shared by senders on two chains: the same key and request is sent
    on each chain, and answers with each chain's own transaction."""
    path = tmp_path / "keys.sqlite"
    other_rpc = RpcClient(other_chain.url)
    here = TransactionSender(rpc, CHAIN_ID, store=IdempotencyStore(path))
    there = TransactionSender(other_rpc, OTHER_CHAIN_ID, store=IdempotencyStore(path))
    request = pay(signers[5], signers[9], key="cross-chain")
    first, second = here.send(request), there.send(request)
    assert first != second
    assert here.wait([first])[0].status == 1 and there.wait([second])[0].status == 1
    assert here.send(request) == first and there.send(request) == second
    again = TransactionSender(rpc, CHAIN_ID, store=IdempotencyStore(path))
    assert again.send(request) == first
    other_rpc.close()
