"""Waiting for transactions (following the chain's blocks) and diagnosing the ones that reverted."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from eth_utils.crypto import keccak

from ..errors import ChainUnavailable, CrossborderError, TransactionFailed, from_revert
from .rpc import Log, RpcClient, RpcError, revert_reason

__all__ = ["Mined", "Receipt", "Receipts", "estimate_error"]

log = logging.getLogger(__name__)

RECHECK = 3.0  # seconds between lookups of transactions still pending
BLOCKS_PER_ROUND = 200  # blocks read in one round (one JSON-RPC batch)
MAX_BLOCKS_BACK = 1_000  # blocks a wait reads back rather than asking about each transaction


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
    """Waits for transactions by following the chain's blocks, and explains their reverts.

    A wait follows the head: each new block is read once with its transaction hashes, and the
    pending hashes are matched against them; receipts are fetched only for matched transactions,
    once. It starts at the block the sender's gas pricing read before signing (the transaction
    lands in a later one); a transaction without that hint (sent by another client, or long ago)
    is asked about once instead. (Polling every pending transaction's receipt each round costs a
    geth node a whole-block decode per lookup.)

    A transaction counts as confirmed once ``confirmations`` blocks are on top of its block and
    its block is still the chain's block at that height. A reorganisation (a block whose parent
    is not the block read before it, or a head that went back) sends every transaction seen
    mined back to be looked up again; one the node no longer knows (dropped by a reorg, or sent
    to a node that went away) is re-sent from the same signed bytes (``raw_of``), never signed
    anew. Pending transactions are looked up again every ``recheck`` seconds, and at once when a
    failing-over client changes endpoint.

    Args:
        rpc: The node.
        confirmations: Blocks on top of a transaction's before it is confirmed (0: once mined).
        raw_of: The signed bytes of a transaction hash, if this process sent (or recorded) it.
        sent_after: A block a transaction can only be mined after (the block its price was
            read from), if known: the wait reads the blocks from there instead of asking
            about the transaction.
        recheck: Seconds between lookups of transactions still pending.
    """

    def __init__(
        self,
        rpc: RpcClient,
        confirmations: int = 0,
        raw_of: Callable[[str], bytes | None] | None = None,
        sent_after: Callable[[str], int | None] | None = None,
        recheck: float = RECHECK,
    ) -> None:
        self.rpc = rpc
        self.confirmations = confirmations
        self.raw_of = raw_of
        self.sent_after = sent_after
        self.recheck = recheck
        self.resent = 0  # transactions re-sent from their signed bytes (reorgs, lost nodes)

    def wait(
        self, tx_hashes: Sequence[str], timeout: float = 120, poll: float = 0.05
    ) -> list[Receipt]:
        """Wait until all transactions are confirmed and return their receipts.

        Raises:
            ChainUnavailable: Some were not confirmed within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        wanted = list(dict.fromkeys(tx_hashes))
        receipts: dict[str, Receipt] = {}
        while True:
            left = [h for h in wanted if h not in receipts]
            found = self._follow(
                left, max(deadline - time.monotonic(), 0), poll, None, receipts=True
            )
            missing = [h for h in left if not isinstance(found[h].value, Receipt)]
            answers = self.rpc.batch([("eth_getTransactionReceipt", [h]) for h in missing])
            fetched = dict(zip(missing, answers, strict=True))
            for tx_hash in left:
                mined = found[tx_hash]
                value = mined.value if isinstance(mined.value, Receipt) else None
                if value is None and fetched.get(tx_hash) is not None:
                    value = Receipt.from_json(fetched[tx_hash])
                # A receipt from another block than the one confirmed: a reorg in between.
                if value is not None and value.block_hash == mined.block_hash:
                    receipts[tx_hash] = value
            if len(receipts) == len(wanted):
                return [receipts[h] for h in tx_hashes]
            if time.monotonic() > deadline:
                raise ChainUnavailable(
                    f"{len(wanted) - len(receipts)} transactions not confirmed after {timeout} s"
                )

    def wait_mined(
        self,
        tx_hashes: Sequence[str],
        timeout: float = 120,
        poll: float = 0.05,
        on_mined: Callable[[list[str]], None] | None = None,
    ) -> dict[str, int]:
        """Wait until all transactions are confirmed, without fetching their receipts.

        A node builds a receipt with all its logs on every request (Anvil: about 3 ms for a
        receipt of 100 logs), so bulk paths that confirm success through their own events use
        this instead of ``wait``.

        Args:
            on_mined: Called with the hashes found confirmed in each round (progress).

        Returns:
            The block number of each transaction.
        """
        found = self._follow(list(dict.fromkeys(tx_hashes)), timeout, poll, on_mined)
        return {h: mined.block_number for h, mined in found.items()}

    def _follow(
        self,
        tx_hashes: list[str],
        timeout: float,
        poll: float,
        on_found: Callable[[list[str]], None] | None,
        *,
        receipts: bool = False,
    ) -> dict[str, Mined]:
        """Follow the head until every hash is confirmed (see the class)."""
        follow = _Following(self, tx_hashes)
        deadline = time.monotonic() + timeout
        follow.start(receipts)
        reported: set[str] = set()  # a reorg may confirm a transaction twice: report it once
        while True:
            fresh = [h for h in follow.confirm() if h not in reported]
            reported.update(fresh)
            if fresh and on_found is not None:
                on_found(fresh)
            if not follow.pending and not follow.seen:
                return follow.confirmed
            if time.monotonic() > deadline:
                waiting = [*follow.pending, *follow.seen]
                raise ChainUnavailable(
                    f"{len(waiting)} transactions (first {waiting[0]}) not confirmed after"
                    f" {timeout} s"
                )
            time.sleep(poll)
            follow.step()

    def lookup(self, tx_hashes: Sequence[str]) -> dict[str, Mined | bool | None]:
        """What the node says of each hash now: mined (where), pending (True) or unknown (None)."""
        answers = self.rpc.batch([("eth_getTransactionByHash", [h]) for h in tx_hashes])
        out: dict[str, Mined | bool | None] = {}
        for tx_hash, tx in zip(tx_hashes, answers, strict=True):
            if tx is None:
                out[tx_hash] = None
            elif tx.get("blockNumber") is None:
                out[tx_hash] = True
            else:
                out[tx_hash] = Mined(int(tx["blockNumber"], 16), tx["blockHash"])
        return out

    def resend(self, tx_hashes: Sequence[str]) -> int:
        """Broadcast again the signed bytes of transactions the node no longer knows.

        Returns:
            How many were re-sent (those whose bytes this process has).
        """
        raws = [(h, self.raw_of(h)) for h in tx_hashes] if self.raw_of is not None else []
        # Only bytes that are the transaction waited for (a store file is not trusted blindly).
        known = [(h, raw) for h, raw in raws if raw is not None and "0x" + keccak(raw).hex() == h]
        if not known:
            return 0
        answers = self.rpc.batch(
            [("eth_sendRawTransaction", ["0x" + raw.hex()]) for _, raw in known],
            return_errors=True,
        )
        taken = []
        for (tx_hash, _), answer in zip(known, answers, strict=True):
            if isinstance(answer, RpcError) and "nonce too low" in answer.message.lower():
                taken.append(tx_hash)
            elif isinstance(answer, RpcError):
                log.warning("re-sending %s: the node answered %s", tx_hash, answer.message)
        if taken:
            log.warning(
                "%d re-sent transaction(s) have their nonce used on the chain already: mined"
                " (the node's transaction lookup lagging behind a reorg) or replaced by another"
                " transaction of the account; the wait goes on and says which: first %s",
                len(taken),
                taken[0],
            )
        log.warning(
            "re-sent %d transaction(s) the node no longer knew (reorg or node switch),"
            " from their signed bytes: first %s",
            len(known),
            known[0][0],
        )
        self.resent += len(known)
        return len(known)

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


class Mined(NamedTuple):
    """Where a transaction was found mined (and its receipt, when the lookup fetched it)."""

    block_number: int
    block_hash: str
    value: Receipt | None = None


class _Following:
    """The state of one wait: pending hashes, hashes seen mined, block hashes read."""

    def __init__(self, receipts: Receipts, tx_hashes: list[str]) -> None:
        self.owner = receipts
        self.rpc = receipts.rpc
        self.pending = set(tx_hashes)
        self.seen: dict[str, Mined] = {}
        self.confirmed: dict[str, Mined] = {}
        self.canon: dict[int, str] = {}  # block hashes by height, as read
        self.fresh: set[int] = set()  # heights whose hash was read (or looked up) this round
        self.head = 0
        self.last = 0  # the highest height read
        self.checked_at = time.monotonic()
        self.switches = getattr(self.rpc, "switches", 0)

    def start(self, receipts: bool) -> None:
        """Ask once about each hash (with its receipt when ``receipts``) unless it is known to
        be mined after a block not long ago; read the blocks from the earliest such block."""
        method = "eth_getTransactionReceipt" if receipts else "eth_getTransactionByHash"
        after = self.owner.sent_after
        hints = {h: after(h) for h in self.pending} if after is not None else {}
        hinted = {h: block for h, block in hints.items() if block is not None}
        asked = [h for h in self.pending if h not in hinted]
        answers = self.rpc.batch([("eth_blockNumber", []), *((method, [h]) for h in asked)])
        self.head = self.last = int(answers[0], 16)
        if hinted and self.head - min(hinted.values()) > MAX_BLOCKS_BACK:
            asked += list(hinted)  # sent long ago: asking costs less than reading the blocks
            answers += self.rpc.batch([(method, [h]) for h in hinted])
            hinted = {}
        self._found(asked, answers[1:], receipts)
        self.checked_at = time.monotonic()
        if hinted:
            self.last = min(self.head, *hinted.values())
            self._read_blocks(
                range(self.last + 1, min(self.head, self.last + BLOCKS_PER_ROUND) + 1)
            )

    def _found(self, hashes: list[str], answers: list[Any], receipts: bool) -> None:
        for tx_hash, answer in zip(hashes, answers, strict=True):
            if answer is None or answer.get("blockNumber") is None:
                continue
            value = Receipt.from_json(answer) if receipts else None
            self._saw(tx_hash, Mined(int(answer["blockNumber"], 16), answer["blockHash"], value))

    def step(self) -> None:
        """One round: read the head and the new blocks; re-check after a reorg or when due."""
        self.fresh = set()
        self.head = self.rpc.block_number()
        if self.head < self.last:
            self._reorganised(f"the head went back from {self.last} to {self.head}")
        elif self.head > self.last:
            self._read_blocks(
                range(self.last + 1, min(self.head, self.last + BLOCKS_PER_ROUND) + 1)
            )
        switches = getattr(self.rpc, "switches", 0)
        if switches != self.switches:
            self.switches = switches
            self._recheck([*self.pending, *self.seen])  # the new node may not have them
        elif self.pending and time.monotonic() - self.checked_at >= self.owner.recheck:
            self._recheck(list(self.pending))

    def confirm(self) -> list[str]:
        """Move the hashes deep enough (on blocks still canonical) to ``confirmed``."""
        depth = self.owner.confirmations
        ready = [h for h, m in self.seen.items() if m.block_number + depth <= self.head]
        stale = {self.seen[h].block_number for h in ready} - self.fresh
        if stale:
            numbers = sorted(stale)
            blocks = self.rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
            for number, block in zip(numbers, blocks, strict=True):
                if block is not None:
                    self.canon[number] = block["hash"]
            moved = [
                h
                for h in ready
                if self.canon.get(self.seen[h].block_number) != self.seen[h].block_hash
            ]
            if moved:
                self._reorganised(f"{len(moved)} transaction(s) no longer in their block")
                return []
        for tx_hash in ready:
            self.confirmed[tx_hash] = self.seen.pop(tx_hash)
        return ready

    def _saw(self, tx_hash: str, mined: Mined) -> None:
        self.pending.discard(tx_hash)
        self.seen[tx_hash] = mined
        self.fresh.add(mined.block_number)
        self.canon[mined.block_number] = mined.block_hash

    def _read_blocks(self, numbers: range) -> None:
        blocks = self.rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        for number, block in zip(numbers, blocks, strict=True):
            if block is None:
                return  # not served yet (another endpoint, or a reorg under way)
            parent = self.canon.get(number - 1)
            if parent is not None and block["parentHash"] != parent:
                self._reorganised(f"block {number} does not follow the block {number - 1} read")
                return
            self.canon[number] = block["hash"]
            self.fresh.add(number)
            self.last = number
            for tx_hash in block["transactions"]:
                if tx_hash in self.pending:
                    self._saw(tx_hash, Mined(number, block["hash"]))

    def _reorganised(self, why: str) -> None:
        """Forget the blocks read; look every transaction seen mined up again."""
        log.warning("chain reorganisation: %s; re-checking the transactions seen mined", why)
        self.canon.clear()
        self.fresh = set()
        self.last = self.head
        again = [*self.pending, *self.seen, *self.confirmed]
        for tx_hash in again:
            self.pending.add(tx_hash)
        self.seen.clear()
        self.confirmed.clear()
        self._recheck(again)

    def _recheck(self, tx_hashes: list[str]) -> None:
        """Look the hashes up; re-send from their signed bytes those the node does not know."""
        self.checked_at = time.monotonic()
        if not tx_hashes:
            return
        unknown = []
        for tx_hash, state in self.owner.lookup(tx_hashes).items():
            if state is None:
                unknown.append(tx_hash)
                self.seen.pop(tx_hash, None)
                self.pending.add(tx_hash)
            elif isinstance(state, Mined):
                self.seen.pop(tx_hash, None)
                self._saw(tx_hash, state)
            else:
                self.seen.pop(tx_hash, None)
                self.pending.add(tx_hash)
        if unknown:
            self.owner.resend(unknown)
