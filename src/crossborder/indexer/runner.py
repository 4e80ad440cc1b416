"""The indexing loop: backfill from the deployment block, then follow the chain, reorg-safe.

Each step first checks that the stored checkpoint is still on the chain (else walks back to the
common ancestor and drops everything above it), then reads one range up to
``head - confirmations`` and commits it with the new checkpoint in one transaction. The range
halves when the node refuses or times out and doubles while ranges stay small.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy.exc import OperationalError

from ..chain.abi import ContractAbi
from ..chain.deployment import Deployment
from ..chain.rpc import RpcClient, RpcError
from ..errors import ChainUnavailable
from .events import EventCatalog
from .source import ChainSource, FetchedRange, RangeChanged
from .store import Checkpoint, Store, StoreError

log = logging.getLogger("crossborder.indexer")

WALK_BACK_PAGE = 128


@dataclass(frozen=True)
class IndexerConfig:
    """How the indexer reads the chain.

    Attributes:
        confirmations: Follow only to ``head - confirmations`` (0 on a BFT-final chain).
        initial_range: Blocks in the first range.
        max_range: The most blocks one range may grow to.
        target_events: Ranges grow while they hold fewer events than this, shrink above twice it.
        poll_interval: Seconds between head polls once caught up.
        max_backoff: The longest wait between retries while the node or store is unreachable.
    """

    confirmations: int = 0
    initial_range: int = 100
    max_range: int = 100_000
    target_events: int = 20_000
    poll_interval: float = 1.0
    max_backoff: float = 30.0


class Step(enum.Enum):
    INDEXED = "indexed"
    CAUGHT_UP = "caught up"
    ROLLED_BACK = "rolled back"
    RETRY = "retry"


@dataclass
class Progress:
    """What a progress display needs after each step."""

    checkpoint: int
    target: int
    start: int
    events: int


ProgressCallback = Callable[[Progress], None]


def scenario_codes(
    rpc: RpcClient, deployment: Deployment, abis: Mapping[str, ContractAbi]
) -> dict[str, int]:
    """Each scenario contract's scenario code, read from its ``SCENARIO`` immutable."""
    codes: dict[str, int] = {}
    for name, address in deployment.contracts.items():
        abi = abis[name]
        if "SCENARIO" in abi.function_names:
            out = rpc.eth_call(address, abi.encode_call("SCENARIO"))
            codes[address.lower()] = int(abi.decode_output("SCENARIO", out)[0])
    return codes


class Indexer:
    """Indexes one deployment's events into a store.

    Args:
        rpc: The node.
        deployment: The platform's contracts and deployment block.
        abis: The compiled contracts' ABIs by name.
        store: The reporting store (tables created on start).
        config: Range and follow settings.
        progress: Called after every step with the position (for a progress bar).
    """

    def __init__(
        self,
        rpc: RpcClient,
        deployment: Deployment,
        abis: Mapping[str, ContractAbi],
        store: Store,
        config: IndexerConfig | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.config = config or IndexerConfig()
        self.deployment = deployment
        self.store = store
        contracts = {address: abis[name] for name, address in deployment.contracts.items()}
        self.source = ChainSource(rpc, EventCatalog(contracts))
        self.progress = progress
        self.range = self.config.initial_range
        self.start = deployment.block
        self.indexed_events = 0
        self.undecoded_logs = 0
        self.target = 0
        self._unreachable_since: float | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="indexer-read-ahead")
        self._ahead: tuple[tuple[int, int], Future[FetchedRange]] | None = None

    # -- one step ----------------------------------------------------------------------------------

    def step(self) -> Step:
        """Check for a reorg, then index one range (or report that the chain is caught up).

        Raises:
            ChainUnavailable: The node is unreachable.
            RpcError: The node refuses even a one-block range.
        """
        checkpoint = self.store.checkpoint()
        if checkpoint is not None and not self._on_chain(checkpoint):
            self._walk_back(checkpoint)
            return Step.ROLLED_BACK
        first = checkpoint.block_number + 1 if checkpoint is not None else self.start
        self.target = self.source.head() - self.config.confirmations
        if first > self.target:
            return Step.CAUGHT_UP
        last = min(self.target, first + self.range - 1)
        try:
            fetched = self._fetch(first, last)
        except RangeChanged as change:
            log.info("chain changed while reading %d-%d (%s): reading again", first, last, change)
            return Step.RETRY
        except RpcError as error:
            if self.range == 1:
                raise
            self.range = max(1, self.range // 2)
            log.debug("node refused %d blocks (%s): now %d", last - first + 1, error, self.range)
            return Step.RETRY
        # The parent must still be what we stored: else these logs may sit on another branch.
        if checkpoint is not None and not self._on_chain(checkpoint):
            return Step.RETRY
        last = fetched.end.number
        if last < self.target:
            # Read the next range while this one is written; it is checked like any other.
            ahead = (last + 1, min(self.target, last + self.range))
            self._ahead = (ahead, self._pool.submit(self.source.fetch, *ahead))
        self.store.commit_range(fetched.events, fetched.blocks, fetched.end, fetched.undecoded)
        self.indexed_events += len(fetched.events)
        if fetched.undecoded:
            self.undecoded_logs += len(fetched.undecoded)
            first_log = fetched.undecoded[0]
            log.warning(
                "%d log(s) in blocks %d-%d match no known event (first: topic %s of %s at "
                "block %d): kept in undecoded_logs; index again with the contracts' new ABIs",
                len(fetched.undecoded),
                first,
                last,
                first_log.topics[0] if first_log.topics else "-",
                first_log.address,
                first_log.block_number,
            )
        self._adapt(fetched.logs)
        return Step.INDEXED

    def _fetch(self, first: int, last: int) -> FetchedRange:
        """The range, from the read-ahead if it read the same blocks, else read now."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0][0] == first:
            if ahead[0][1] <= last:
                return ahead[1].result()
        elif ahead is not None:
            ahead[1].cancel()
        return self.source.fetch(first, last)

    def _on_chain(self, checkpoint: Checkpoint) -> bool:
        (chain_hash,) = self.source.hashes([checkpoint.block_number])
        return chain_hash == checkpoint.block_hash

    def _adapt(self, logs: int) -> None:
        target = self.config.target_events
        if logs > 2 * target:
            self.range = max(1, self.range // 2)
        elif logs < target // 2:
            self.range = min(self.config.max_range, self.range * 2)

    def _walk_back(self, checkpoint: Checkpoint) -> None:
        """Find the highest stored block still on the chain and drop everything above it."""
        below = checkpoint.block_number
        ancestor: Checkpoint | None = None
        while ancestor is None:
            stored = self.store.recent_blocks(below, WALK_BACK_PAGE)
            if not stored:
                break
            chain = self.source.hashes([n for n, _ in stored])
            for (number, block_hash), chain_hash in zip(stored, chain, strict=True):
                if chain_hash == block_hash:
                    ancestor = Checkpoint(number, block_hash)
                    break
            below = stored[-1][0] - 1
        dropped = self.store.rollback(ancestor)
        where = f"block {ancestor.block_number}" if ancestor else "the deployment block"
        log.warning(
            "reorg: block %d is no longer on the chain; rolled back to %s (%d events dropped)",
            checkpoint.block_number,
            where,
            dropped,
        )

    # -- the loop ---------------------------------------------------------------------------------

    def run(self, follow: bool = False, stop: threading.Event | None = None) -> None:
        """Index until caught up, then return (``follow=False``) or keep following.

        The node or the store being unreachable never stops the loop: it retries with a
        growing wait (up to ``max_backoff``) and says so once in the log.
        """
        self.store.create()
        stop = stop or threading.Event()
        try:
            self._loop(follow, stop)
        finally:
            if self._ahead is not None:
                self._ahead[1].cancel()
                self._ahead = None

    def _loop(self, follow: bool, stop: threading.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                result = self.step()
            except (ChainUnavailable, RpcError, OperationalError, StoreError) as error:
                self._unreachable(error)
                self.range = max(1, self.range // 2)
                stop.wait(backoff)
                backoff = min(self.config.max_backoff, backoff * 2)
                continue
            if self._unreachable_since is not None:
                log.warning(
                    "reachable again after %.0f s", time.monotonic() - self._unreachable_since
                )
                self._unreachable_since = None
            backoff = 0.5
            self._report()
            if result is Step.CAUGHT_UP:
                if not follow:
                    return
                stop.wait(self.config.poll_interval)

    def _unreachable(self, error: Exception) -> None:
        if self._unreachable_since is None:
            self._unreachable_since = time.monotonic()
            log.warning("%s: retrying with backoff until it answers", error)

    def _report(self) -> None:
        if self.progress is None:
            return
        checkpoint = self.store.checkpoint()
        self.progress(
            Progress(
                checkpoint=checkpoint.block_number if checkpoint else self.start - 1,
                target=max(self.target, self.start),
                start=self.start,
                events=self.indexed_events,
            )
        )
