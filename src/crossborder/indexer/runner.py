"""The indexing loop: backfill from the deployment block, then follow the chain, reorg-safe.

Each step first checks that the stored checkpoint is still on the chain (else walks back to the
common ancestor and drops everything above it), then reads one range up to
``head - confirmations`` and commits it with the new checkpoint in one transaction. The range
halves when the node refuses or times out and doubles while ranges stay small.

The contracts it reads are the deployment's, and every scenario contract the ledger authorises
later (``ScenarioAuthorised``): found in the range that authorises it, identified among the
compiled contracts by its code (else by its scenario's row in ``SCENARIO_SPECS``), read from the
authorising block on, and remembered in the store. One it cannot identify is followed all the
same, its logs kept in ``undecoded_logs``; an event a projection cannot fold is listed in
``anomalies``. Neither stops the indexer.

Another indexer writing the same store at the same time is safe: a commit that finds the
checkpoint moved writes nothing, and the step continues from the new checkpoint.
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
from ..domain.scenarios import SCENARIO_SPECS
from ..errors import ChainUnavailable, CrossborderError, NotDeployed
from .events import EventCatalog
from .source import ChainSource, FetchedRange, RangeChanged
from .store import Checkpoint, CheckpointMoved, Discovered, Store, StoreError, first_line

log = logging.getLogger("crossborder.indexer")

WALK_BACK_PAGE = 128


@dataclass(frozen=True)
class IndexerConfig:
    """How the indexer reads the chain.

    Attributes:
        confirmations: Follow only to ``head - confirmations`` (0 on a BFT-final chain).
        initial_range: Blocks in the first range (1: a chain of dense blocks, 30,000 documents
            a block, must not answer 100 blocks of logs at once; sparse ranges double).
        max_range: The most blocks one range may grow to.
        target_events: Ranges double while they hold fewer events than half of this; above twice
            it the next range shrinks in proportion, to about this many.
        range_gas: The most gas the blocks of one range may have used together (a range is
            at least one block): every log costs gas, so this bounds what the node builds in
            memory for one range where the range's length cannot (a fresh catch-up whose
            ranges grew over idle blocks and then met 30,000 registrations a block).
        poll_interval: Seconds between head polls once caught up.
        max_backoff: The longest wait between retries while the node or store is unreachable.
        give_up_after: Without ``follow``: stop with an error once the node (or the store) has
            been unreachable this many seconds; None waits for ever. Following never gives up.
        log_every: While the node or store stays unreachable, say so again every this many
            seconds.
    """

    confirmations: int = 0
    initial_range: int = 1
    max_range: int = 100_000
    range_gas: int = 50_000_000
    target_events: int = 20_000
    poll_interval: float = 1.0
    max_backoff: float = 30.0
    give_up_after: float | None = None
    log_every: float = 30.0


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


def deployed_contracts(deployment: Deployment) -> list[tuple[str, str]]:
    """Every contract of the deployment as ``(compiled name, address)``: the consortium, the
    ledger, each scenario of its ``scenarios`` map (two scenarios may be one contract), each
    payment scenario of its ``payments`` map and its ``services`` (credit query and matching)."""
    return [
        ("Consortium", deployment.consortium),
        ("DocumentLedger", deployment.ledger),
        *((s.contract, s.address) for s in deployment.scenarios.values()),
        *((s.contract, s.address) for s in deployment.payments.values()),
        *((s.contract, s.address) for s in deployment.services.values()),
    ]


def scenario_codes(
    rpc: RpcClient, deployment: Deployment, abis: Mapping[str, ContractAbi]
) -> dict[str, int]:
    """Each scenario contract's scenario code, read from its ``SCENARIO`` immutable."""
    codes: dict[str, int] = {}
    for name, address in deployed_contracts(deployment):
        abi = abis[name]
        if "SCENARIO" in abi.function_names:
            out = rpc.eth_call(address, abi.encode_call("SCENARIO"))
            codes[address.lower()] = int(abi.decode_output("SCENARIO", out)[0])
    return codes


def _scenario_code(rpc: RpcClient, address: str, abi: ContractAbi | None) -> int:
    if abi is None or "SCENARIO" not in abi.function_names:
        return 0
    try:
        return int(
            abi.decode_output("SCENARIO", rpc.eth_call(address, abi.encode_call("SCENARIO")))[0]
        )
    except (RpcError, CrossborderError, ValueError):
        return 0


def _shared_prefix(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    lo, hi = 0, n
    while lo < hi:  # the longest common prefix, by halving
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def identify(rpc: RpcClient, address: str, abis: Mapping[str, ContractAbi]) -> str | None:
    """The compiled contract deployed at ``address``: the one whose deployment bytecode holds
    the contract's code (all but the immutables appended to its end), else the contract of the
    ``SCENARIO_SPECS`` row of the scenario it reports; None when neither matches.

    Raises:
        ChainUnavailable: The node is unreachable.
    """
    raw = rpc.request("eth_getCode", [address, "latest"])
    code = bytes.fromhex(raw[2:]) if isinstance(raw, str) and len(raw) > 2 else b""
    if code:
        best: tuple[int, str] | None = None
        for name, abi in abis.items():
            start = abi.bytecode.find(code[:64]) if abi.bytecode else -1
            if start < 0:
                continue
            shared = _shared_prefix(code, abi.bytecode[start:])
            # Immutables (a few words) follow the runtime code; the rest must be identical.
            fits = shared >= max(len(code) - 32 * 32, len(code) // 2)
            if fits and (best is None or shared > best[0]):
                best = (shared, name)
        if best is not None:
            return best[1]
    for spec in SCENARIO_SPECS:
        known = abis.get(spec.contract)
        if known is not None and code and _scenario_code(rpc, address, known) == spec.scenario:
            return spec.contract
    return None


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
        self.rpc = rpc
        self.deployment = deployment
        self.abis = abis
        self.store = store
        self._contracts = {
            address.lower(): abis[name] for name, address in deployed_contracts(deployment)
        }
        self.source = ChainSource(rpc, EventCatalog(self._contracts))
        self.progress = progress
        self.range = self.config.initial_range
        self.start = deployment.block
        self.indexed_events = 0
        self.undecoded_logs = 0
        self.anomalies = 0
        self.discovered: list[Discovered] = []
        self.target = 0
        self._prepared = False
        self._unreachable_since: float | None = None
        self._said_at = 0.0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="indexer-read-ahead")
        self._ahead: tuple[tuple[int, int], Future[FetchedRange]] | None = None

    # -- the contracts it reads ----------------------------------------------------------------------

    def _prepare(self) -> None:
        """The deployment's scenario codes, and the scenario contracts found earlier (from the
        store): what the catalog and the projections need before the first range.

        Raises:
            ChainUnavailable: The node is unreachable.
            NotDeployed: The node is another chain than the deployment's.
        """
        self._cancel_ahead()
        chain_id = self.rpc.chain_id()
        if chain_id != self.deployment.chain_id:
            raise NotDeployed(
                f"the deployment is for chain {self.deployment.chain_id}, but the node at "
                f"{self.rpc.url} is chain {chain_id}: nothing indexed"
            )
        catalog = EventCatalog(self._contracts)
        codes = scenario_codes(self.rpc, self.deployment, self.abis)
        for found in self.store.discovered():
            catalog.add(found.address, self.abis.get(found.contract) if found.contract else None)
            if found.scenario:
                codes.setdefault(found.address, found.scenario)
        self.store.scenarios.update(codes)
        self.source.catalog = catalog
        self._prepared = True

    def _discover(self, fetched: FetchedRange) -> tuple[FetchedRange, list[Discovered]]:
        """Scenario contracts the ledger authorised in this range that the indexer does not
        read yet: identified, added to the catalog, and their logs from the authorising block to
        the range's end added to the range.

        Raises:
            RangeChanged: A reorg happened meanwhile.
            ChainUnavailable: The node is unreachable.
        """
        ledger = self.deployment.ledger.lower()
        since: dict[str, int] = {}
        for event in fetched.events:
            if (
                event.name == "ScenarioAuthorised"
                and event.address == ledger
                and event.args.get("enabled")
                and event.args.get("scenario") not in self.source.catalog
                and event.args.get("scenario") not in since
            ):
                since[str(event.args["scenario"]).lower()] = event.block_number
        if not since:
            return fetched, []
        found: list[Discovered] = []
        for address, block in since.items():
            contract = identify(self.rpc, address, self.abis)
            abi = self.abis.get(contract) if contract else None
            code = _scenario_code(self.rpc, address, abi)
            self.source.catalog.add(address, abi)
            if code:
                self.store.scenarios[address] = code
            found.append(Discovered(address, contract, code, block))
            if contract is None:
                log.warning(
                    "the ledger authorised scenario contract %s at block %d, but no compiled "
                    "contract matches its code: its logs are kept in undecoded_logs",
                    address,
                    block,
                )
            else:
                log.info(
                    "the ledger authorised scenario contract %s (%s, scenario %d) at block %d: "
                    "indexing it from there on",
                    address,
                    contract,
                    code,
                    block,
                )
        extra = self.source.fetch(min(since.values()), fetched.end.number, list(since))
        if extra.end.hash != fetched.end.hash:
            raise RangeChanged(f"block {fetched.end.number} changed while it was read")
        events = [e for e in extra.events if e.block_number >= since[e.address]]
        undecoded = [u for u in extra.undecoded if u.block_number >= since[u.address]]
        blocks = {b.number: b for b in fetched.blocks}
        used = {e.block_number for e in events} | {u.block_number for u in undecoded}
        for b in extra.blocks:
            if b.number not in used:
                continue
            if blocks.setdefault(b.number, b).hash != b.hash:
                raise RangeChanged(f"logs of block {b.number} come from two different blocks")
        merged = FetchedRange(
            fetched.first,
            fetched.end,
            sorted([*fetched.events, *events], key=lambda e: (e.block_number, e.log_index)),
            sorted(blocks.values(), key=lambda b: b.number),
            fetched.logs + len(events) + len(undecoded),
            sorted([*fetched.undecoded, *undecoded], key=lambda u: (u.block_number, u.log_index)),
        )
        return merged, found

    def _cancel_ahead(self) -> None:
        if self._ahead is not None:
            self._ahead[1].cancel()
            self._ahead = None

    # -- one step ----------------------------------------------------------------------------------

    def step(self) -> Step:
        """Check for a reorg, then index one range (or report that the chain is caught up).

        Raises:
            ChainUnavailable: The node is unreachable.
            RpcError: The node refuses even a one-block range.
            NotDeployed: The node is another chain than the deployment's.
        """
        if not self._prepared:
            self._prepare()
        checkpoint = self.store.checkpoint()
        if checkpoint is not None and not self._on_chain(checkpoint):
            try:
                self._walk_back(checkpoint)
            except CheckpointMoved as moved:
                log.info("another indexer wrote to the store (%s): continuing from there", moved)
                return Step.RETRY
            finally:
                self._prepared = False  # scenario contracts found above the ancestor are gone
            return Step.ROLLED_BACK
        first = checkpoint.block_number + 1 if checkpoint is not None else self.start
        self.target = self.source.head() - self.config.confirmations
        if first > self.target:
            return Step.CAUGHT_UP
        last = self._within_gas(first, min(self.target, first + self.range - 1))
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
        try:
            fetched, found = self._discover(fetched)
            last = fetched.end.number
            self._adapt(fetched.logs)  # before the read-ahead: it reads the adapted range
            if last < self.target:
                # Read the next range while this one is written; it is checked like any other.
                ahead = (last + 1, self._within_gas(last + 1, min(self.target, last + self.range)))
                self._ahead = (ahead, self._pool.submit(self.source.fetch, *ahead))
            anomalies = self.store.commit_range(
                fetched.events,
                fetched.blocks,
                fetched.end,
                fetched.undecoded,
                expected=checkpoint,
                discovered=found,
            )
        except CheckpointMoved as moved:
            self._prepared = False  # what the other indexer found is in the store
            log.info("another indexer wrote to the store (%s): continuing from there", moved)
            return Step.RETRY
        except RangeChanged as change:
            self._prepared = False
            log.info("chain changed while reading %d-%d (%s): reading again", first, last, change)
            return Step.RETRY
        except BaseException:
            self._prepared = False  # the catalog may hold contracts the store does not
            raise
        self.discovered += found
        self.indexed_events += len(fetched.events)
        if anomalies:
            self.anomalies += len(anomalies)
            log.warning(
                "%d event(s) in blocks %d-%d could not be projected (first: %s, in %s): kept in "
                "raw_events and listed in anomalies; indexing goes on",
                len(anomalies),
                first,
                last,
                anomalies[0],
                anomalies[0].projection,
            )
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

    def _within_gas(self, first: int, last: int) -> int:
        if last <= first:
            return last
        return self.source.within_gas(first, last, self.config.range_gas)

    def _adapt(self, logs: int) -> None:
        target = self.config.target_events
        if logs > 2 * target:
            # In proportion: a node serving one range of a million logs needs gigabytes.
            self.range = max(1, self.range * target // logs)
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
        dropped = self.store.rollback(ancestor, expected=checkpoint)
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

        While the node or the store is unreachable the loop retries with a growing wait (up to
        ``max_backoff``), says so, and says so again every ``log_every`` seconds. Following, it
        never gives up; otherwise it gives up after ``give_up_after`` seconds, if set.

        Raises:
            ChainUnavailable: Not following, the node stayed unreachable ``give_up_after`` s.
            StoreError: The store cannot be opened, or (not following) stayed unreachable.
        """
        self.store.create()
        stop = stop or threading.Event()
        try:
            self._loop(follow, stop)
        finally:
            self._cancel_ahead()

    def _loop(self, follow: bool, stop: threading.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                result = self.step()
            except (ChainUnavailable, RpcError, OperationalError, StoreError) as error:
                left = self._unreachable(error, follow)
                self.range = max(1, self.range // 2)
                stop.wait(min(backoff, left))
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

    def _unreachable(self, error: Exception, follow: bool) -> float:
        """Say that the node or store is unreachable (once, then every ``log_every`` s), or give
        up; returns the longest the loop may wait before its next try."""
        now = time.monotonic()
        what = _describe(error)
        if self._unreachable_since is None:
            self._unreachable_since = self._said_at = now
            log.warning("%s: retrying with backoff until it answers", what)
        waited = now - self._unreachable_since
        limit = None if follow else self.config.give_up_after
        if limit is not None and waited >= limit:
            self._unreachable_since = None
            message = f"gave up after {waited:.0f} s (limit {limit:g} s): {what}"
            if isinstance(error, OperationalError | StoreError):
                raise StoreError(message) from None
            raise ChainUnavailable(message) from None
        if now - self._said_at >= self.config.log_every:
            self._said_at = now
            log.warning("still waiting, for %.0f s now: %s", waited, what)
        # Try again by the time it is to be said again (or given up), whatever the backoff.
        wait = self._said_at + self.config.log_every - now
        if limit is not None:
            wait = min(wait, limit - waited)
        return max(0.0, wait)

    def close(self) -> None:
        """Stop the read-ahead thread (the indexer cannot run again)."""
        self._cancel_ahead()
        self._pool.shutdown(wait=False, cancel_futures=True)

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


def _describe(error: Exception) -> str:
    """One line saying what failed: the store's driver error, or the node's."""
    if isinstance(error, OperationalError):
        return f"the reporting store is unreachable: {first_line(error.orig or error)}"
    return first_line(error)
