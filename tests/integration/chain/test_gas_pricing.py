"""Gas pricing on real nodes: the price stays put under steady traffic, other senders' tips do
not move it, Anvil and Ganache take type-2 transactions, and gas-free chains take price 0.

The soak's length is ``CROSSBORDER_SOAK_SECONDS`` (45 s by default, about 225 blocks of 0.2 s);
its figures print with ``pytest -s``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import mean
from typing import Any

import pytest
from eth_account import Account

from crossborder.chain.abi import contract_abi
from crossborder.chain.devnet import Devnet, free_port
from crossborder.chain.pricing import GWEI, Fees, GasPolicy, GasPricer
from crossborder.chain.rpc import RpcClient
from crossborder.chain.sender import TransactionSender, TxRequest
from crossborder.chain.signers import LocalSigner, dev_signers
from crossborder.errors import GasPriceUnavailable, InvalidInput
from crossborder.services.platform import Platform
from crossborder.settings import Settings

from ..conftest import Node

pytestmark = pytest.mark.integration

CHAIN_ID = 31337
TIP = GWEI
SOAK_SECONDS = float(os.environ.get("CROSSBORDER_SOAK_SECONDS", "45"))
BLOCK_TIME = 0.2
KEY = b"test-consortium-key-not-for-production"


def start(directory: Path, **kwargs: Any) -> Devnet:
    devnet = Devnet(directory, port=free_port(), accounts=30, **kwargs)
    devnet.start()
    return devnet


@pytest.fixture
def interval(tmp_path: Path) -> Iterator[Devnet]:
    """A fresh interval-mined Anvil with Anvil's own fee market, as the devnet runs it."""
    devnet = start(tmp_path, block_time=BLOCK_TIME)
    yield devnet
    devnet.stop()


@pytest.fixture
def automine(tmp_path: Path) -> Iterator[Devnet]:
    devnet = start(tmp_path, block_time=None)
    yield devnet
    devnet.stop()


@pytest.fixture(scope="module")
def gas_free(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    """A gas-free chain, as permissioned networks run: base fee 0, gas price 0."""
    devnet = start(
        tmp_path_factory.mktemp("gas-free"),
        block_time=None,
        base_fee=0,
        extra_args=("--gas-price", "0"),
    )
    yield devnet
    devnet.stop()


def transfers(signers: Sequence[LocalSigner], rounds: int = 1) -> list[TxRequest]:
    """Plain value transfers around a ring of accounts: the cheapest transaction."""
    n = len(signers)
    return [
        TxRequest(signers[i], signers[(i + 1) % n].address, value=1, gas=21_000)
        for _ in range(rounds)
        for i in range(n)
    ]


@dataclass
class Paid:
    """What each mined transaction paid, in the order sent."""

    tx_type: list[int]
    price: list[int]  # effective price per gas (the mined transaction's gasPrice)
    block: list[int]
    base_fee: dict[int, int]

    @property
    def blocks(self) -> int:
        return len(set(self.block))

    def start(self, n: int = 100) -> float:
        return mean(self.price[:n])

    def end(self, n: int = 100) -> float:
        return mean(self.price[-n:])


def paid(rpc: RpcClient, sender: TransactionSender, hashes: list[str]) -> Paid:
    """Wait until every transaction is mined (none dropped), then read what each paid."""
    sender.wait_mined(hashes, timeout=180)
    txs = rpc.batch([("eth_getTransactionByHash", [h]) for h in hashes])
    numbers = sorted({int(tx["blockNumber"], 16) for tx in txs})
    blocks = rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
    return Paid(
        tx_type=[int(tx.get("type", "0x0"), 16) for tx in txs],
        price=[int(tx["gasPrice"], 16) for tx in txs],
        block=[int(tx["blockNumber"], 16) for tx in txs],
        base_fee={
            n: int(b.get("baseFeePerGas", "0x0"), 16) for n, b in zip(numbers, blocks, strict=True)
        },
    )


def drive(
    sender: TransactionSender, signers: Sequence[LocalSigner], seconds: float
) -> tuple[list[str], list[Fees]]:
    """Steady pipelined traffic for ``seconds``: a batch of transfers every ~50 ms."""
    hashes: list[str] = []
    offers: list[Fees] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        offers.append(sender.fees())
        hashes += sender.send_many(transfers(signers))
        time.sleep(0.05)
    return hashes, offers


# -- the price stays put --------------------------------------------------------------------------


def test_the_price_stays_put_over_hundreds_of_blocks(interval: Devnet) -> None:
    rpc = RpcClient(interval.url)
    rpc.request("anvil_mine", [hex(300)])  # the devnet after its first minute: base fee settled
    sender = TransactionSender(rpc, CHAIN_ID, gas=GasPolicy(tip=TIP))
    began = time.monotonic()
    hashes, offers = drive(sender, interval.signers(10), SOAK_SECONDS)
    sent_for = time.monotonic() - began
    result = paid(rpc, sender, hashes)
    start, end = result.start(), result.end()
    print(
        f"\n  soak: {len(hashes):,} transfers in {result.blocks} blocks"
        f" ({min(result.block)}..{max(result.block)}), {sent_for:.0f} s of traffic,"
        f" {time.monotonic() - began:.0f} s wall;"
        f" paid {start / GWEI:.9f} gwei at the start, {end / GWEI:.9f} gwei at the end;"
        f" base fee {min(result.base_fee.values())}..{max(result.base_fee.values())} wei;"
        f" offered maxFeePerGas {min(o.max_fee for o in offers) / GWEI:.9f}"
        f"..{max(o.max_fee for o in offers) / GWEI:.9f} gwei"
    )
    assert len(hashes) >= 50 * SOAK_SECONDS  # thousands at the default length
    assert result.blocks >= 0.5 * SOAK_SECONDS / BLOCK_TIME
    assert set(result.tx_type) == {2}
    # Each transaction paid its block's base fee plus the tip: nothing else moves the price.
    assert all(
        p == result.base_fee[b] + TIP for p, b in zip(result.price, result.block, strict=True)
    )
    assert abs(end / start - 1) <= 0.10
    assert {o.tip for o in offers} == {TIP}
    sample = sender.wait(hashes[:50] + hashes[-50:])
    assert all(r.status == 1 for r in sample)
    assert [r.effective_gas_price for r in sample] == result.price[:50] + result.price[-50:]


class FeedbackPricer(GasPricer):
    """The pricing this SDK had: ``eth_gasPrice × 5/4``, refreshed every ``ttl`` seconds."""

    _last: tuple[float, int] | None = None

    def fees(self) -> Fees:
        with self._lock:
            now = time.monotonic()
            if self._last is None or now - self._last[0] > self.ttl:
                price = int(self.rpc.request("eth_gasPrice"), 16) * 5 // 4
                self._last = (now, price)
            return Fees(self._last[1])


def test_the_soak_check_catches_the_old_feedback(interval: Devnet) -> None:
    """The failing case: the same traffic priced the old way drifts past the 10 % bound within
    seconds, because Anvil's eth_gasPrice follows the tips of the last block."""
    rpc = RpcClient(interval.url)
    rpc.request("anvil_mine", [hex(300)])
    sender = TransactionSender(rpc, CHAIN_ID)
    sender.pricer = FeedbackPricer(rpc, GasPolicy(), ttl=2 * BLOCK_TIME)
    hashes, _ = drive(sender, interval.signers(10), 5)
    result = paid(rpc, sender, hashes)
    print(f"\n  old pricing: {result.start() / GWEI:.2f} -> {result.end() / GWEI:.2f} gwei in 5 s")
    assert result.end() / result.start() > 1.10


def test_other_senders_high_tips_do_not_move_our_price(interval: Devnet) -> None:
    """Blocks full of another account's 500 gwei tips: Anvil's eth_gasPrice follows them, our
    price stays the base fee plus our tip."""
    rpc = RpcClient(interval.url)
    rpc.request("anvil_setNextBlockBaseFeePerGas", [hex(20 * GWEI)])  # a visible base fee
    while (
        int(rpc.request("eth_getBlockByNumber", ["latest", False])["baseFeePerGas"], 16) < 10 * GWEI
    ):
        time.sleep(BLOCK_TIME / 4)  # until a block is mined with it
    accounts = interval.signers(20)
    whale = TransactionSender(rpc, CHAIN_ID, gas=GasPolicy(tip=500 * GWEI))
    ours = TransactionSender(rpc, CHAIN_ID, gas=GasPolicy(tip=TIP))
    whale_hashes: list[str] = []
    our_hashes: list[str] = []
    offers: list[tuple[Fees, int]] = []
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        # A block of the whale's alone (Anvil's suggestion: its smallest tip), then ours,
        # priced after it and sent among the whale's.
        alone = whale.send_many(transfers(accounts[:10]))
        whale.wait_mined(alone)
        whale_hashes += alone
        offers.append((ours.fees(), int(rpc.request("eth_gasPrice"), 16)))
        whale_hashes += whale.send_many(transfers(accounts[:10], rounds=2))
        our_hashes += ours.send_many(transfers(accounts[10:]))
        time.sleep(BLOCK_TIME)
    mine, theirs = paid(rpc, ours, our_hashes), paid(rpc, whale, whale_hashes)
    assert mine.blocks >= 5
    assert all(p == mine.base_fee[b] + TIP for p, b in zip(mine.price, mine.block, strict=True))
    assert all(
        p == theirs.base_fee[b] + 500 * GWEI
        for p, b in zip(theirs.price, theirs.block, strict=True)
    )
    # The node's suggestion followed the whale's tips (whenever its last block was the
    # whale's alone) ...
    assert max(suggestion for _, suggestion in offers) > 500 * GWEI
    for fees, _ in offers:  # ... our offer never did
        assert fees.tip == TIP
        assert fees.base_fee is not None and fees.max_fee == 2 * fees.base_fee + TIP
        assert fees.max_fee <= 2 * 20 * GWEI + TIP


# -- the nodes take it ----------------------------------------------------------------------------


def test_anvil_and_ganache_take_type_2_transactions(node: Node) -> None:
    rpc = RpcClient(node.url)
    chain_id = rpc.chain_id()
    signers = dev_signers(chain_id, 4)
    sender = TransactionSender(rpc, chain_id, gas=GasPolicy(tip=TIP))
    created = sender.transact(
        TxRequest(signers[0], None, contract_abi("Consortium").encode_constructor())
    )
    receipts = [created, *sender.wait(sender.send_many(transfers(signers, rounds=3)))]
    txs = rpc.batch([("eth_getTransactionByHash", [r.tx_hash]) for r in receipts])
    blocks = rpc.batch([("eth_getBlockByNumber", [hex(r.block_number), False]) for r in receipts])
    assert {int(tx["type"], 16) for tx in txs} == {2}
    assert {int(tx["maxPriorityFeePerGas"], 16) for tx in txs} == {TIP}
    for receipt, block in zip(receipts, blocks, strict=True):
        assert receipt.status == 1
        assert receipt.effective_gas_price == int(block["baseFeePerGas"], 16) + TIP


def test_a_base_fee_above_the_cap_is_refused_before_signing(automine: Devnet) -> None:
    rpc = RpcClient(automine.url)
    rpc.request("anvil_setNextBlockBaseFeePerGas", [hex(50 * GWEI)])
    rpc.request("evm_mine")
    signer = automine.signers(1)[0]
    start = rpc.request("eth_getTransactionCount", [signer.address, "pending"])
    capped = TransactionSender(rpc, CHAIN_ID, gas=GasPolicy(max_fee=40 * GWEI))
    with pytest.raises(GasPriceUnavailable, match="above the configured cap"):
        capped.send(TxRequest(signer, signer.address, gas=21_000))
    assert rpc.request("eth_getTransactionCount", [signer.address, "pending"]) == start
    roomy = TransactionSender(rpc, CHAIN_ID, gas=GasPolicy(max_fee=60 * GWEI))
    receipt = roomy.transact(TxRequest(signer, signer.address, gas=21_000))
    sent = rpc.request("eth_getTransactionByHash", [receipt.tx_hash])
    assert int(sent["maxFeePerGas"], 16) == 60 * GWEI  # not 2 × 50 + 1
    assert receipt.effective_gas_price is not None
    assert receipt.effective_gas_price <= 60 * GWEI


# -- gas-free and legacy chains -------------------------------------------------------------------


def test_a_gas_free_chain_takes_zero_priced_transactions(gas_free: Devnet) -> None:
    rpc = RpcClient(gas_free.url)
    nobody = LocalSigner(Account.create())  # not a wei to its name
    sender = TransactionSender(rpc, CHAIN_ID, gas=GasPolicy.free())
    created = sender.transact(
        TxRequest(nobody, None, contract_abi("Consortium").encode_constructor())
    )
    receipts = [created, *sender.wait(sender.send_many([TxRequest(nobody, nobody.address)] * 5))]
    assert all(r.status == 1 and r.effective_gas_price == 0 for r in receipts)
    assert sum(r.gas_used for r in receipts) > 100_000
    assert rpc.request("eth_getBalance", [nobody.address, "latest"]) == "0x0"
    sent = rpc.request("eth_getTransactionByHash", [created.tx_hash])
    assert (int(sent["type"], 16), int(sent["gasPrice"], 16)) == (0, 0)


def test_the_platform_deploys_and_connects_gas_free(gas_free: Devnet, tmp_path: Path) -> None:
    """Platform.deploy(gas=...) and Platform.connect(gas=... / settings / sender=...)."""
    rpc = RpcClient(gas_free.url)
    regulator = LocalSigner(Account.create())  # deploys the whole platform with no balance
    path = tmp_path / "deployment.json"
    platform = Platform.deploy(rpc, regulator, path, KEY, gas=GasPolicy.free())
    assert platform.sender.gas == GasPolicy.free()
    assert platform.view("Consortium", "owner")[0].lower() == regulator.address.lower()
    settings = Settings(rpc_url=gas_free.url, deployment_file=path, consortium_key=KEY.decode())
    assert Platform.connect(settings, gas=GasPolicy.free()).sender.gas.mode == "free"
    by_settings = settings.model_copy(update={"gas_price_mode": "free"})
    assert Platform.connect(by_settings).sender.gas.mode == "free"
    assert Platform.connect(settings).sender.gas.mode == "eip1559"  # the settings' default
    shared = TransactionSender(rpc, CHAIN_ID, gas=GasPolicy.free())
    assert Platform.connect(settings, sender=shared).sender is shared
    with pytest.raises(InvalidInput, match="not both"):
        Platform.connect(settings, sender=shared, gas=GasPolicy())
    elsewhere = TransactionSender(rpc, 1, gas=GasPolicy.free())
    with pytest.raises(InvalidInput, match="chain 1"):
        Platform.connect(settings, sender=elsewhere)


def test_gas_free_mode_is_refused_where_gas_costs(automine: Devnet) -> None:
    rpc = RpcClient(automine.url)
    signer = automine.signers(1)[0]
    start = rpc.request("eth_getTransactionCount", [signer.address, "pending"])
    sender = TransactionSender(rpc, CHAIN_ID, gas=GasPolicy.free())
    with pytest.raises(GasPriceUnavailable, match="charges a base fee"):
        sender.send_many([TxRequest(signer, signer.address, gas=21_000)])
    assert rpc.request("eth_getTransactionCount", [signer.address, "pending"]) == start


def test_a_chain_without_base_fee_needs_a_fixed_price(tmp_path: Path) -> None:
    with start(tmp_path, block_time=None, extra_args=("--hardfork", "berlin")) as berlin:
        rpc = RpcClient(berlin.url)
        signer = berlin.signers(1)[0]
        with pytest.raises(GasPriceUnavailable, match="CROSSBORDER_GAS_PRICE_MODE=fixed"):
            TransactionSender(rpc, CHAIN_ID).send(TxRequest(signer, signer.address, gas=21_000))
        receipt = TransactionSender(rpc, CHAIN_ID, gas=GasPolicy.fixed(3 * GWEI)).transact(
            TxRequest(signer, signer.address, gas=21_000)
        )
        assert receipt.status == 1 and receipt.effective_gas_price == 3 * GWEI
        assert TransactionSender(rpc, CHAIN_ID, 3 * GWEI).gas == GasPolicy.fixed(3 * GWEI)
