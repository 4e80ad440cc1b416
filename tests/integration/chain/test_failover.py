"""RPC failover on real Anvil nodes: several endpoints of one chain, health by head and peers,
other chains refused, a dead endpoint retried later, calls repeated elsewhere only when safe.

Endpoints of one chain are proxies in front of one Anvil (stopping a proxy is a node going
away) and an Anvil forked from it (the same genesis, a head of its own). Two Anvils started
apart are two chains even with the same chain id: their genesis blocks differ.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crossborder.chain.devnet import Devnet, free_port
from crossborder.chain.rpc import FailoverRpcClient, RpcClient, connect_rpc, rpc_urls
from crossborder.chain.sender import TransactionSender, TxRequest
from crossborder.chain.signers import LocalSigner
from crossborder.errors import ChainUnavailable, InvalidInput
from crossborder.services.platform import Platform
from crossborder.settings import Settings

from .nodeproxy import NodeProxy

pytestmark = pytest.mark.integration

CHAIN_ID = 31337
KEY = b"failover-test-consortium-key"


def start(directory: Path, **options: object) -> Devnet:
    devnet = Devnet(directory, port=free_port(), block_time=None, **options)  # type: ignore[arg-type]
    devnet.start()
    return devnet


@pytest.fixture
def proxies(node: Devnet) -> Iterator[list[NodeProxy]]:
    made = [NodeProxy(node.url), NodeProxy(node.url)]
    yield made
    for proxy in made:
        with contextlib.suppress(OSError):
            proxy.stop()


def client(*urls: str, **options: float) -> FailoverRpcClient:
    options = {"retry_dead_after": 0.3, "health_interval": 0.3, **options}
    return FailoverRpcClient(list(urls), **options)  # type: ignore[arg-type]


def mine(node: Devnet, blocks: int) -> None:
    RpcClient(node.url).request("anvil_mine", [hex(blocks)])


def test_urls_from_a_list_or_a_comma_separated_setting() -> None:
    assert rpc_urls(" http://a:1 , http://b:2,") == ["http://a:1", "http://b:2"]
    assert rpc_urls(["http://a:1"]) == ["http://a:1"]
    with pytest.raises(InvalidInput):
        rpc_urls(" , ")
    assert type(connect_rpc("http://a:1")) is RpcClient
    assert isinstance(connect_rpc("http://a:1,http://b:2"), FailoverRpcClient)


def test_a_dead_endpoint_fails_over_with_a_warning(
    node: Devnet, proxies: list[NodeProxy], caplog: pytest.LogCaptureFixture
) -> None:
    first, second = proxies
    rpc = client(first.url, second.url)
    balance = ("eth_getBalance", [node.signers(1)[0].address, "latest"])
    before = rpc.request(*balance)
    assert rpc.url == first.url
    assert "eth_getBalance" in first.methods and "eth_getBalance" not in second.methods
    first.stop()
    with caplog.at_level(logging.WARNING, logger="crossborder.chain.rpc"):
        assert rpc.request(*balance) == before  # the read in flight is repeated on the second
    assert rpc.url == second.url
    assert "eth_getBalance" in second.methods
    switch = [r.getMessage() for r in caplog.records if "failover" in r.getMessage()]
    assert switch and first.url in switch[0] and second.url in switch[0]


def test_a_dead_endpoint_is_tried_again_later(node: Devnet, proxies: list[NodeProxy]) -> None:
    first, second = proxies
    port = first.port
    rpc = client(first.url, second.url)
    rpc.chain_id()
    first.stop()
    rpc.chain_id()
    assert rpc.url == second.url
    back = NodeProxy(node.url, port=port)  # the node comes back on its address
    try:
        time.sleep(0.4)  # past retry_dead_after and the health interval
        assert rpc.check() is rpc.endpoints[1]  # stays where it is while that is healthy
        assert rpc.endpoints[0].problem == "healthy"
        second.stop()
        assert rpc.chain_id() == CHAIN_ID
        assert rpc.url == back.url
    finally:
        back.stop()


def test_no_endpoint_left_is_chain_unavailable(node: Devnet, proxies: list[NodeProxy]) -> None:
    rpc = client(*(p.url for p in proxies))
    rpc.chain_id()
    for proxy in proxies:
        proxy.stop()
    with pytest.raises(ChainUnavailable, match=r"no (healthy node endpoint|endpoint answered)"):
        rpc.chain_id()


def test_state_changing_calls_are_not_repeated_elsewhere(
    node: Devnet, proxies: list[NodeProxy]
) -> None:
    first, second = proxies
    rpc = client(first.url, second.url, health_interval=60)  # the call goes to the first
    head = rpc.block_number()
    first.stop()
    with pytest.raises(ChainUnavailable, match="not repeated"):
        rpc.request("evm_mine")
    assert RpcClient(node.url).block_number() == head  # nothing was mined on the second
    rpc.request("evm_mine")  # a new call goes to the endpoint that answers
    assert RpcClient(node.url).block_number() == head + 1


def test_a_broadcast_lost_with_its_node_is_repeated_on_the_next_once(
    node: Devnet, proxies: list[NodeProxy]
) -> None:
    first, second = proxies
    rpc = client(first.url, second.url)
    sender = TransactionSender(rpc, CHAIN_ID)
    payer, payee = node.signers(2)
    before = nonce(rpc, payer)
    first.die_on_send = True  # the node takes the bytes and goes away before answering
    receipt = sender.transact(TxRequest(payer, payee.address, value=7, gas=21_000))
    assert receipt.status == 1
    assert rpc.url == second.url
    assert "eth_sendRawTransaction" in second.methods  # the same bytes, sent again
    assert nonce(rpc, payer) == before + 1  # one transaction, not two


def test_another_chain_id_is_refused(node: Devnet, tmp_path: Path) -> None:
    other = start(tmp_path / "other", chain_id=4242)
    try:
        rpc = client(node.url, other.url)
        assert rpc.check().url == node.url
        assert "another chain" in rpc.endpoints[1].problem
        lone = client(other.url, node.url)
        assert lone.check().url == other.url  # the first endpoint that answers names the chain
        assert "another chain" in lone.endpoints[1].problem
    finally:
        other.stop()


def test_the_same_chain_id_with_another_genesis_is_refused(node: Devnet, tmp_path: Path) -> None:
    twin = start(tmp_path / "twin")  # chain id 31337 as well, started at another time
    try:
        rpc = client(node.url, twin.url)
        rpc.check()
        assert rpc.endpoints[1].chain_id == CHAIN_ID
        assert rpc.endpoints[1].genesis != rpc.endpoints[0].genesis
        assert "another chain" in rpc.endpoints[1].problem
        with pytest.raises(ChainUnavailable, match="another chain"):
            node.stop()
            try:
                rpc.block_number()
            finally:
                node.start()
    finally:
        twin.stop()


def test_an_endpoint_behind_the_others_is_stale(node: Devnet, tmp_path: Path) -> None:
    fork = start(tmp_path / "fork", extra_args=("--fork-url", node.url))
    try:
        mine(node, 10)  # the fork does not follow: it is 10 blocks behind
        strict = client(fork.url, node.url, max_lag=5)
        assert strict.check().url == node.url
        assert "stale" in strict.endpoints[0].problem
        lenient = client(fork.url, node.url, max_lag=20)
        assert lenient.check().url == fork.url  # same chain id and genesis, within the lag
    finally:
        fork.stop()


def test_an_isolated_endpoint_is_not_used(node: Devnet) -> None:
    alone, connected = NodeProxy(node.url, peers=0), NodeProxy(node.url, peers=3)
    try:
        rpc = client(alone.url, connected.url)
        assert rpc.check().url == connected.url
        assert "isolated" in rpc.endpoints[0].problem
        connected.peers = 0  # no endpoint reports peers: the rule cannot tell
        assert client(alone.url, connected.url).check().url == alone.url
        with pytest.raises(ChainUnavailable, match="isolated"):
            client(alone.url, connected.url, min_peers=1).check()
    finally:
        alone.stop()
        connected.stop()


def test_transactions_the_new_node_lacks_are_resent_after_a_switch(
    node: Devnet, tmp_path: Path
) -> None:
    """The first endpoint (a fork: same chain id and genesis, a pool of its own) takes a
    transaction and dies; the next transaction, sent to the second, would wait behind the gap."""
    fork = start(tmp_path / "fork", extra_args=("--fork-url", node.url))
    payer, payee = node.signers(2)
    rpc = client(fork.url, node.url, health_interval=60)
    sender = TransactionSender(rpc, CHAIN_ID)
    start_nonce = nonce(RpcClient(node.url), payer)
    try:
        lost = sender.send(TxRequest(payer, payee.address, value=1, gas=21_000))
    finally:
        fork.stop()
    assert RpcClient(node.url).request("eth_getTransactionByHash", [lost]) is None
    later = sender.send(TxRequest(payer, payee.address, value=2, gas=21_000))
    assert rpc.url == node.url and rpc.switches == 1
    assert sender.receipts.resent == 1  # the lost one, from its signed bytes
    receipts = sender.receipts
    receipts.recheck = 60  # the wait below does not re-send it itself
    assert receipts.wait([later], timeout=10)[0].status == 1
    assert receipts.wait([lost], timeout=10)[0].status == 1
    assert nonce(RpcClient(node.url), payer) == start_nonce + 2


def test_the_platform_connects_to_several_endpoints(
    node: Devnet, proxies: list[NodeProxy], tmp_path: Path
) -> None:
    regulator, payee = node.signers(2)
    path = tmp_path / "deployment.json"
    Platform.deploy(RpcClient(node.url), regulator, path, KEY)
    first, second = proxies
    settings = Settings(
        rpc_url=f"{first.url}, {second.url}", deployment_file=path, consortium_key=KEY.decode()
    )
    by_setting = Platform.connect(settings)
    by_list = Platform.connect(
        settings.model_copy(update={"rpc_url": node.url}), urls=[first.url, second.url]
    )
    for platform in (by_setting, by_list):
        assert isinstance(platform.rpc, FailoverRpcClient)
        assert [e.url for e in platform.rpc.endpoints] == [first.url, second.url]
        assert platform.view("Consortium", "owner")[0].lower() == regulator.address.lower()
    assert (
        type(Platform.connect(settings.model_copy(update={"rpc_url": node.url})).rpc) is RpcClient
    )
    first.stop()  # the platform's node goes away: reads and writes go on through the second
    for platform in (by_setting, by_list):
        assert platform.view("Consortium", "owner")[0].lower() == regulator.address.lower()
        receipt = platform.sender.transact(TxRequest(regulator, payee.address, value=1, gas=21_000))
        assert receipt.status == 1
        assert platform.rpc.url == second.url
    with pytest.raises(InvalidInput, match="not both"):
        Platform.connect(settings, sender=by_list.sender, urls=[second.url])


def nonce(rpc: RpcClient, signer: LocalSigner) -> int:
    return int(rpc.request("eth_getTransactionCount", [signer.address, "latest"]), 16)
