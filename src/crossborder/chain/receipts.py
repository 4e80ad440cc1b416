"""Waiting for transactions (batched polling) and diagnosing the ones that reverted."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..errors import ChainUnavailable, CrossborderError, TransactionFailed, from_revert
from .rpc import Log, RpcClient, RpcError, revert_reason

T = TypeVar("T")

__all__ = ["Receipt", "Receipts", "estimate_error"]


@dataclass(frozen=True, slots=True)
class Receipt:
    """A mined transaction's receipt (hashes as ``0x`` hex, addresses in lowercase).

    ``effective_gas_price`` is the price per gas paid (the block's base fee plus the tip for a
    type-2 transaction), when the node reports it.
    """

    tx_hash: str
    status: int
    block_number: int
    block_hash: str
    gas_used: int
    logs: list[Log] = field(default_factory=list)
    contract_address: str | None = None
    effective_gas_price: int | None = None

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Receipt:
        """Parse an ``eth_getTransactionReceipt`` answer."""
        created = raw.get("contractAddress")
        price = raw.get("effectiveGasPrice")
        return cls(
            tx_hash=raw["transactionHash"],
            status=int(raw["status"], 16),
            block_number=int(raw["blockNumber"], 16),
            block_hash=raw["blockHash"],
            gas_used=int(raw["gasUsed"], 16),
            logs=[Log.from_json(log) for log in raw["logs"]],
            contract_address=created.lower() if created else None,
            effective_gas_price=int(price, 16) if price is not None else None,
        )


class Receipts:
    """Polls for mined transactions in JSON-RPC batches and explains their reverts.

    Args:
        rpc: The node.
    """

    def __init__(self, rpc: RpcClient) -> None:
        self.rpc = rpc

    def wait(
        self, tx_hashes: Sequence[str], timeout: float = 120, poll: float = 0.05
    ) -> list[Receipt]:
        """Wait until all transactions are mined, polling their receipts in one batch per round.

        Raises:
            ChainUnavailable: Some were not mined within ``timeout`` seconds.
        """
        receipts = self._poll(
            tx_hashes, "eth_getTransactionReceipt", Receipt.from_json, timeout, poll, None
        )
        return [receipts[h] for h in tx_hashes]

    def wait_mined(
        self,
        tx_hashes: Sequence[str],
        timeout: float = 120,
        poll: float = 0.05,
        on_mined: Callable[[list[str]], None] | None = None,
    ) -> dict[str, int]:
        """Wait until all transactions are mined, without fetching their receipts.

        A node builds a receipt with all its logs on every request (Anvil: about 3 ms for a
        receipt of 100 logs), so bulk paths that confirm success through their own events use
        this instead of ``wait``.

        Args:
            on_mined: Called with the hashes found mined in each polling round (progress).

        Returns:
            The block number of each transaction.
        """
        return self._poll(
            tx_hashes, "eth_getTransactionByHash", _mined_block, timeout, poll, on_mined
        )

    def revert_reason_of(self, receipt: Receipt) -> str | None:
        """The revert string of a failed transaction, found by replaying it as a call.

        The call runs on the state after the transaction's block (so that earlier transactions
        of the same block count), else on the latest state if the node no longer has it.
        """
        return self._replayed_reason(self._sent_tx(receipt), receipt.block_number)

    def revert_error_of(self, receipt: Receipt) -> CrossborderError:
        """The typed error of a failed transaction.

        A revert refunds the unused gas: a transaction that used all of its gas ran out of it.
        """
        sent = self._sent_tx(receipt)
        if receipt.gas_used >= int(sent["gas"], 16):
            return TransactionFailed(
                f"the transaction {receipt.tx_hash} ran out of gas",
                tx_hash=receipt.tx_hash,
                contract=sent.get("to"),
            )
        return from_revert(
            self._replayed_reason(sent, receipt.block_number),
            tx_hash=receipt.tx_hash,
            contract=sent.get("to"),
        )

    def _poll(
        self,
        tx_hashes: Sequence[str],
        method: str,
        parse: Callable[[dict[str, Any]], T | None],
        timeout: float,
        poll: float,
        on_found: Callable[[list[str]], None] | None,
    ) -> dict[str, T]:
        """Poll ``method`` for all pending hashes, one JSON-RPC batch a round, until each parses."""
        found: dict[str, T] = {}
        pending = list(dict.fromkeys(tx_hashes))
        deadline = time.monotonic() + timeout
        while pending:
            answers = self.rpc.batch([(method, [h]) for h in pending])
            fresh = []
            for tx_hash, answer in zip(pending, answers, strict=True):
                value = parse(answer) if answer is not None else None
                if value is not None:
                    found[tx_hash] = value
                    fresh.append(tx_hash)
            if fresh and on_found is not None:
                on_found(fresh)
            pending = [h for h in pending if h not in found]
            if pending and time.monotonic() > deadline:
                raise ChainUnavailable(
                    f"{len(pending)} transactions (first {pending[0]}) not mined after {timeout} s"
                )
            if pending:
                time.sleep(poll)
        return found

    def _sent_tx(self, receipt: Receipt) -> dict[str, Any]:
        sent: dict[str, Any] | None = self.rpc.request(
            "eth_getTransactionByHash", [receipt.tx_hash]
        )
        if sent is None:
            raise ChainUnavailable(f"the node no longer has the transaction {receipt.tx_hash}")
        return sent

    def _replayed_reason(self, sent: dict[str, Any], block: int) -> str | None:
        call = {k: sent[k] for k in ("from", "to", "gas", "value") if sent.get(k) is not None}
        call["data"] = sent["input"]
        for at in (hex(block), "latest"):
            try:
                self.rpc.request("eth_call", [call, at])
            except RpcError as exc:
                if exc.reverted:
                    return revert_reason(exc)
                continue  # e.g. the node no longer has that block's state
            return None
        return None


def estimate_error(error: RpcError) -> CrossborderError:
    """The typed error of a failed gas estimate: the revert's, or the node's refusal."""
    if error.reverted:
        return from_revert(revert_reason(error))
    return TransactionFailed(f"gas estimation failed: {error.message}")


def _mined_block(tx: dict[str, Any]) -> int | None:
    """The block number of a transaction object, None while it is pending."""
    number = tx.get("blockNumber")
    return int(number, 16) if number is not None else None
