"""Confirmation cost: RPC calls per confirmed transaction, and SDK vs raw send loop tx/s, on an
interval-mined Anvil, in the same run.

Confirmation before this change polled every pending transaction's receipt in one batch every
50 ms (kept here as the baseline, ``polling_wait``); a geth node decodes a whole block for each
receipt lookup. The SDK now reads each new block once with its transaction hashes, starting at
the block its gas pricing read, and fetches a receipt only for each transaction found.

    python benchmarks/confirmation.py [--transactions 2000] [--rounds 3] [--block-time 1]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests
from common import Timer, row

from crossborder.chain.devnet import Devnet, free_port
from crossborder.chain.rpc import RpcClient
from crossborder.chain.sender import TransactionSender, TxRequest
from crossborder.chain.signers import LocalSigner

ACCOUNTS = 9  # 8 payers and one payee
METHODS = (
    "eth_getTransactionReceipt",
    "eth_getTransactionByHash",
    "eth_getBlockByNumber",
    "eth_blockNumber",
)


class CountingRpc(RpcClient):
    """Counts JSON-RPC calls (each call of a batch is one: the node serves each)."""

    def __init__(self, url: str) -> None:
        super().__init__(url, timeout=120)
        self.calls: Counter[str] = Counter()
        self.counting = False

    def _post(self, body: bytes) -> Any:
        if self.counting:
            self.calls["all"] += body.count(b'"method":')
            self.calls["http"] += 1
            for method in METHODS:
                self.calls[method] += body.count(f'"method":"{method}"'.encode())
        return super()._post(body)


def polling_wait(rpc: RpcClient, hashes: Sequence[str], poll: float = 0.05) -> None:
    """The confirmation before: every pending receipt, one batch every ``poll`` seconds."""
    pending = list(hashes)
    while pending:
        answers = rpc.batch([("eth_getTransactionReceipt", [h]) for h in pending])
        pending = [h for h, a in zip(pending, answers, strict=True) if a is None]
        if pending:
            time.sleep(poll)


def transfers(payers: list[LocalSigner], payee: LocalSigner, count: int) -> list[TxRequest]:
    return [
        TxRequest(payers[i % len(payers)], payee.address, value=1 + i, gas=21_000)
        for i in range(count)
    ]


def sdk_round(
    rpc: CountingRpc, sender: TransactionSender, requests_: list[TxRequest], polling: bool
) -> tuple[float, Counter[str]]:
    """send_many, then confirm (block following, or the polling baseline); seconds, calls."""
    with Timer() as timer:
        hashes = sender.send_many(requests_)
        rpc.calls.clear()
        rpc.counting = True
        if polling:
            polling_wait(rpc, hashes)
        else:
            receipts = sender.wait(hashes)
            assert all(r.status == 1 for r in receipts)
        rpc.counting = False
    return timer.seconds, Counter(rpc.calls)


def raw_round(
    url: str, rpc: RpcClient, payers: list[LocalSigner], payee: LocalSigner, n: int
) -> float:
    """Sign and send one by one over plain JSON-RPC, then poll each payer's last receipt."""
    nonces = {
        s.address: int(rpc.request("eth_getTransactionCount", [s.address, "pending"]), 16)
        for s in payers
    }
    gas_price = int(rpc.request("eth_gasPrice"), 16) * 2
    session = requests.Session()
    last: dict[str, str] = {}
    with Timer() as timer:
        for i in range(n):
            signer = payers[i % len(payers)]
            tx = {
                "to": bytes.fromhex(payee.address[2:]),
                "data": b"",
                "gas": 21_000,
                "gasPrice": gas_price,
                "nonce": nonces[signer.address],
                "chainId": 31337,
                "value": 1 + i,
            }
            nonces[signer.address] += 1
            body = {
                "jsonrpc": "2.0",
                "id": i,
                "method": "eth_sendRawTransaction",
                "params": ["0x" + signer.sign(tx).hex()],
            }
            last[signer.address] = session.post(url, json=body, timeout=30).json()["result"]
        for tx_hash in last.values():
            while rpc.request("eth_getTransactionReceipt", [tx_hash]) is None:
                time.sleep(0.02)
    return timer.seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transactions", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--block-time", type=float, default=1.0)
    args = parser.parse_args()
    n, rounds = args.transactions, args.rounds
    times: dict[str, list[float]] = {"raw": [], "polling": [], "blocks": []}
    calls: dict[str, Counter[str]] = {"polling": Counter(), "blocks": Counter()}
    with tempfile.TemporaryDirectory(prefix="crossborder-bench-") as tmp:
        devnet = Devnet(Path(tmp), port=free_port(), block_time=args.block_time, accounts=ACCOUNTS)
        devnet.start()
        try:
            signers = devnet.signers(ACCOUNTS)
            payers, payee = signers[:-1], signers[-1]
            rpc = CountingRpc(devnet.url)
            sender = TransactionSender(rpc, devnet.chain_id, confirmations=0)
            # Alternating rounds, so that block-boundary luck and the growing state hit all alike.
            for _ in range(rounds):
                times["raw"].append(raw_round(devnet.url, rpc, payers, payee, n))
                for mode in ("polling", "blocks"):
                    seconds, counted = sdk_round(
                        rpc, sender, transfers(payers, payee, n), mode == "polling"
                    )
                    times[mode].append(seconds)
                    calls[mode] += counted
        finally:
            devnet.stop()
    rate = {mode: n / statistics.median(t) for mode, t in times.items()}
    confirmed = n * rounds
    print(
        f"Confirmation ({n:,} transfers a round from {len(payers)} accounts, block time"
        f" {args.block_time:g} s, median of {rounds} alternating rounds)"
    )
    row("raw signed-transaction send loop", f"{rate['raw']:,.0f} tx/s")
    row(
        "SDK send_many + wait, polling receipts every 50 ms (before)",
        f"{rate['polling']:,.0f} tx/s",
    )
    row("SDK send_many + wait, reading blocks (now)", f"{rate['blocks']:,.0f} tx/s")
    row("ratio SDK / raw, before", f"{rate['polling'] / rate['raw']:.2f}")
    row("ratio SDK / raw, now", f"{rate['blocks'] / rate['raw']:.2f}", "goal >= 0.8")
    for mode, label in (("polling", "before"), ("blocks", "now")):
        counted = calls[mode]
        row(f"RPC calls per confirmed transaction, {label}", f"{counted['all'] / confirmed:.2f}")
        row(
            f"  receipt lookups per transaction, {label}",
            f"{counted['eth_getTransactionReceipt'] / confirmed:.2f}",
        )
        row(
            f"  blocks read / transaction lookups per round, {label}",
            f"{counted['eth_getBlockByNumber'] / rounds:.1f} /"
            f" {counted['eth_getTransactionByHash'] / rounds:.1f}",
        )
    ratio = calls["polling"]["all"] / max(calls["blocks"]["all"], 1)
    row("RPC calls: before / now", f"{ratio:.1f}x")


if __name__ == "__main__":
    main()
