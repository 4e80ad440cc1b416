"""Reading the chain for the indexer: heads, block hashes, and ranges of platform logs.

One ``eth_getLogs`` per range covers every platform contract at once. Each log names its block's
hash; the block times come from the logs themselves where the node includes them (Anvil, recent
Geth: ``blockTimestamp``), else from one JSON-RPC batch of ``eth_getBlockByHash`` for just the
blocks that have events, so that every time belongs to exactly the block the log came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..chain.rpc import RpcClient, RpcError
from ..errors import ChainUnavailable
from .events import Event, EventCatalog, Undecoded
from .store import BlockInfo

FEE_HISTORY_BLOCKS = 1024  # the most blocks geth's eth_feeHistory answers in one call


class RangeChanged(ChainUnavailable):
    """The chain changed while a range was read (a reorg mid-read): read it again."""


@dataclass(frozen=True, slots=True)
class FetchedRange:
    """One range's decoded events (and logs no known event decodes), the blocks they are in,
    and the range's end block."""

    first: int
    end: BlockInfo
    events: list[Event]
    blocks: list[BlockInfo]
    logs: int
    undecoded: list[Undecoded] = field(default_factory=list)


def _block_info(raw: Any) -> BlockInfo:
    return BlockInfo(int(raw["number"], 16), raw["hash"].lower(), int(raw["timestamp"], 16))


class ChainSource:
    """The platform's logs on one node.

    Args:
        rpc: The node.
        catalog: The platform contracts' addresses and event decoders.
    """

    def __init__(self, rpc: RpcClient, catalog: EventCatalog) -> None:
        self.rpc = rpc
        self.catalog = catalog

    def head(self) -> int:
        return self.rpc.block_number()

    def block(self, number: int) -> BlockInfo | None:
        """The chain's block at ``number`` now, or None past the head."""
        raw = self.rpc.request("eth_getBlockByNumber", [hex(number), False])
        return _block_info(raw) if raw is not None else None

    def within_gas(self, first: int, last: int, budget: int) -> int:
        """The highest block of ``first..last`` such that the blocks from ``first`` to it used at
        most ``budget`` gas together (``first`` itself whatever it used).

        A node builds a range's logs in memory before it answers: gas bounds them (every log
        costs gas) where a count of blocks does not (a registration block holds 30,000 logs,
        an idle one none). Read from ``eth_feeHistory`` (1,024 blocks a call: the gas used
        as a share of each block's limit); a node without it leaves the range as asked.
        """
        try:
            header = self.rpc.request("eth_getBlockByNumber", [hex(first), False])
            if header is None:
                return last
            limit = int(header["gasLimit"], 16)
            spent, start = 0.0, first
            while start <= last:
                count = min(FEE_HISTORY_BLOCKS, last - start + 1)
                history = self.rpc.request(
                    "eth_feeHistory", [hex(count), hex(start + count - 1), []]
                )
                ratios = history.get("gasUsedRatio") or []
                if int(history["oldestBlock"], 16) != start or len(ratios) != count:
                    return last  # not the blocks asked (a node that caps the history)
                for offset, ratio in enumerate(ratios):
                    spent += ratio * limit
                    if spent > budget:
                        return max(first, start + offset - 1)
                start += count
        except (RpcError, KeyError, TypeError, ValueError):
            return last
        return last

    def hashes(self, numbers: Sequence[int]) -> list[str | None]:
        """The chain's hash at each block number now (None past the head), in one batch."""
        answers = self.rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        return [a["hash"].lower() if a is not None else None for a in answers]

    def fetch(self, first: int, last: int, addresses: Sequence[str] | None = None) -> FetchedRange:
        """The platform's events in blocks ``first..last``.

        The end block is read before the logs: should a reorg replace it meanwhile, the stored
        checkpoint will not match the chain at the next step, and the range is re-read.

        Args:
            first: The first block.
            last: The last block.
            addresses: Only these contracts' logs (they must be in the catalog); default all.

        Raises:
            RpcError: The node refused the query (e.g. too many results): use a smaller range.
            RangeChanged: A reorg happened while reading.
            ChainUnavailable: The node is unreachable.
        """
        end = self.block(last)
        if end is None:
            raise RangeChanged(f"block {last} is no longer on the chain")
        wanted = list(addresses) if addresses is not None else self.catalog.addresses
        logs = self.rpc.request(
            "eth_getLogs",
            [{"fromBlock": hex(first), "toBlock": hex(last), "address": wanted}],
        )
        if not isinstance(logs, list):
            raise RpcError(0, "eth_getLogs answered without a list of logs")
        blocks: dict[int, BlockInfo] = {}
        missing: dict[int, str] = {}
        for raw in logs:
            if raw.get("removed"):
                raise RangeChanged("the node returned a removed log")
            number = int(raw["blockNumber"], 16)
            block_hash = raw["blockHash"].lower()
            known = blocks.get(number)
            if known is not None:
                if known.hash != block_hash:
                    raise RangeChanged(f"logs of block {number} come from two different blocks")
                continue
            stamp = raw.get("blockTimestamp")
            if stamp is not None:
                blocks[number] = BlockInfo(number, block_hash, int(stamp, 16))
            elif missing.setdefault(number, block_hash) != block_hash:
                raise RangeChanged(f"logs of block {number} come from two different blocks")
        if missing:
            self._fill_times(missing, blocks)
        times = {n: b.timestamp for n, b in blocks.items()}
        events, undecoded = self.catalog.decode_range(logs, times)
        return FetchedRange(
            first,
            end,
            events,
            sorted(blocks.values(), key=lambda b: b.number),
            len(logs),
            undecoded,
        )

    def _fill_times(self, missing: dict[int, str], blocks: dict[int, BlockInfo]) -> None:
        numbers = sorted(missing)
        answers = self.rpc.batch([("eth_getBlockByHash", [missing[n], False]) for n in numbers])
        for number, answer in zip(numbers, answers, strict=True):
            if answer is None:
                raise RangeChanged(f"block {number} was replaced while its logs were read")
            blocks[number] = _block_info(answer)
