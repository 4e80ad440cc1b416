"""The failover client's rules without a node: which calls may be repeated elsewhere, and which
endpoints are healthy given what their probes found."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crossborder.chain.receipts import Receipts
from crossborder.chain.rpc import FailoverRpcClient, RpcClient, repeatable
from crossborder.errors import ChainUnavailable

GENESIS = "0x" + "ab" * 32


def body(*methods: str) -> bytes:
    calls = [{"jsonrpc": "2.0", "id": i, "method": m, "params": []} for i, m in enumerate(methods)]
    return json.dumps(calls if len(calls) > 1 else calls[0], separators=(",", ":")).encode()


@pytest.mark.parametrize(
    "method", ["eth_call", "eth_getLogs", "eth_sendRawTransaction", "net_peerCount"]
)
def test_reads_and_signed_bytes_may_be_repeated(method: str) -> None:
    assert repeatable(body(method))
    assert repeatable(body("eth_blockNumber", method))


@pytest.mark.parametrize(
    "method", ["eth_sendTransaction", "anvil_mine", "evm_revert", "miner_start", "debug_setHead"]
)
def test_state_changing_calls_are_not_repeated(method: str) -> None:
    assert not repeatable(body(method))
    assert not repeatable(body("eth_blockNumber", method))  # one unsafe call taints a batch


def probed(*found: tuple[int, str, int, int | None], **options: int) -> FailoverRpcClient:
    """A client whose endpoints' probes found (chain id, genesis, head, peers)."""
    client = FailoverRpcClient([f"http://127.0.0.1:{9 + i}" for i in range(len(found))], **options)  # type: ignore[arg-type]
    for endpoint, (chain_id, genesis, head, peers) in zip(client.endpoints, found, strict=True):
        endpoint.chain_id, endpoint.genesis, endpoint.head, endpoint.peers = (
            chain_id,
            genesis,
            head,
            peers,
        )
    return client


def healthy(client: FailoverRpcClient) -> list[int]:
    return [client.endpoints.index(e) for e in client._healthy()]


def test_the_first_endpoint_found_names_the_chain() -> None:
    other = "0x" + "cd" * 32
    client = probed((7, GENESIS, 10, None), (7, other, 10, None), (8, GENESIS, 10, None))
    assert healthy(client) == [0]
    assert "another chain" in client.endpoints[1].problem
    assert "another chain" in client.endpoints[2].problem
    assert client.identity == (7, GENESIS)


def test_an_endpoint_more_than_max_lag_behind_is_stale() -> None:
    assert healthy(probed((7, GENESIS, 94, None), (7, GENESIS, 100, None), max_lag=5)) == [1]
    assert healthy(probed((7, GENESIS, 95, None), (7, GENESIS, 100, None), max_lag=5)) == [0, 1]


def test_peers_count_only_when_reported() -> None:
    assert healthy(probed((7, GENESIS, 10, 0), (7, GENESIS, 10, 2))) == [1]  # isolated
    assert healthy(probed((7, GENESIS, 10, 0), (7, GENESIS, 10, 0))) == [0, 1]  # no one has any
    assert healthy(probed((7, GENESIS, 10, None), (7, GENESIS, 10, 2))) == [0, 1]  # not asked
    assert healthy(probed((7, GENESIS, 10, 1), (7, GENESIS, 10, 3), min_peers=2)) == [1]


def test_no_endpoint_answering_is_chain_unavailable() -> None:
    client = FailoverRpcClient(["http://127.0.0.1:9", "http://127.0.0.1:10"], probe_timeout=0.5)
    with pytest.raises(ChainUnavailable, match=r"127\.0\.0\.1:9: unreachable"):
        client.check()


def test_bytes_that_are_not_the_transaction_are_never_resent() -> None:
    waited = "0x" + "11" * 32
    receipts = Receipts(RpcClient("http://127.0.0.1:9", retries=0), raw_of=lambda _: b"\x02other")
    assert receipts.resend([waited]) == 0  # no call made: the node is not even there
    assert receipts.resent == 0


def test_resent_transactions_whose_nonce_is_used_are_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After a reorg geth may not show mined transactions yet: re-sending them answers "nonce
    too low", said once for all of them; any other refusal is said per transaction."""
    from eth_utils import keccak

    from crossborder.chain.rpc import RpcError

    raws = {"0x" + keccak(raw).hex(): raw for raw in (b"\x02a", b"\x02b", b"\x02c", b"\x02d")}
    hashes = list(raws)

    class Node(RpcClient):
        def batch(self, calls: Any, *, return_errors: bool = False, ahead: int = 0) -> list[Any]:
            low = RpcError(code=-32000, message="nonce too low: next nonce 200, tx nonce 131")
            funds = RpcError(code=-32000, message="insufficient funds for gas * price + value")
            return [low, low, low, funds][: len(calls)]

    receipts = Receipts(Node("http://127.0.0.1:9"), raw_of=raws.get)
    with caplog.at_level("WARNING", logger="crossborder.chain.receipts"):
        assert receipts.resend(hashes) == 4
    lines = [r.getMessage() for r in caplog.records]
    assert sum("nonce used on the chain already" in line for line in lines) == 1
    assert sum("insufficient funds" in line for line in lines) == 1
    assert not any("nonce too low" in line for line in lines)
