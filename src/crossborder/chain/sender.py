"""Signing and sending transactions: nonces, idempotency, pipelining, receipts, revert mapping.

One ``TransactionSender`` should be the only client sending from its accounts: it keeps each
account's next nonce locally (under a lock per account) and resynchronises from the node only
when the node disagrees.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from eth_utils.crypto import keccak

from ..errors import ChainUnavailable, CrossborderError, TransactionFailed, from_revert
from .rpc import Log, RpcClient, RpcError, call_object, revert_reason
from .signers import Signer

T = TypeVar("T")

__all__ = [
    "IdempotencyStore",
    "Log",
    "Receipt",
    "TransactionSender",
    "TxRequest",
]

SEND_ATTEMPTS = 3  # broadcasts of the same signed bytes when the node is unreachable
RESYNC_ATTEMPTS = 3  # fresh nonces tried when the node says ours is taken
GAS_PRICE_TTL = 3.0  # seconds
# Legacy gas price over eth_gasPrice, so that a cached price survives a few rising base fees.
GAS_PRICE_MARGIN = (5, 4)
# Gas over eth_estimateGas: earlier transactions of a pipelined batch may change storage costs.
GAS_ESTIMATE_MARGIN = (6, 5)

# The node already has these exact bytes (Geth, Anvil, Ganache wordings).
_KNOWN = ("already known", "already imported", "known transaction", "already exists")
# The nonce is taken or out of order: these bytes were not accepted.
_NONCE = (
    "nonce too low",
    "nonce too high",
    "correct nonce",
    "invalid nonce",
    "nonce has already been used",
    "replacement transaction underpriced",
)


@dataclass(frozen=True, slots=True)
class TxRequest:
    """A transaction to sign and send.

    Attributes:
        signer: Who signs (and pays).
        to: The address called, or None to create a contract.
        data: The calldata (or deployment data).
        gas: The gas limit; estimated (plus a margin) when None.
        value: Wei sent along.
        idempotency_key: A caller's id: a request with a key already used is not sent again.
    """

    signer: Signer
    to: str | None
    data: bytes = b""
    gas: int | None = None
    value: int = 0
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    """A mined transaction's receipt (hashes as ``0x`` hex, addresses in lowercase)."""

    tx_hash: str
    status: int
    block_number: int
    block_hash: str
    gas_used: int
    logs: list[Log] = field(default_factory=list)
    contract_address: str | None = None

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Receipt:
        """Parse an ``eth_getTransactionReceipt`` answer."""
        created = raw.get("contractAddress")
        return cls(
            tx_hash=raw["transactionHash"],
            status=int(raw["status"], 16),
            block_number=int(raw["blockNumber"], 16),
            block_hash=raw["blockHash"],
            gas_used=int(raw["gasUsed"], 16),
            logs=[Log.from_json(log) for log in raw["logs"]],
            contract_address=created.lower() if created else None,
        )


class StoredTx(NamedTuple):
    """What the idempotency store holds for a key."""

    tx_hash: str
    raw: bytes
    sent: bool


class IdempotencyStore:
    """Idempotency key -> signed transaction, in SQLite (a file, or memory when no path).

    A key is recorded with the signed bytes *before* they are broadcast, and marked sent once the
    node accepts them, so that a retry after a crash re-broadcasts the same bytes rather than
    signing a second transaction.

    Args:
        path: The SQLite file; None keeps the records in memory for this process only.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            ":memory:" if path is None else str(path), check_same_thread=False
        )
        with self._lock, self._db:
            if path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS sent_tx (key TEXT PRIMARY KEY,"
                " tx_hash TEXT NOT NULL, raw BLOB NOT NULL, sent INTEGER NOT NULL DEFAULT 0)"
            )

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def get(self, key: str) -> StoredTx | None:
        """The record of a key, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT tx_hash, raw, sent FROM sent_tx WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else StoredTx(row[0], bytes(row[1]), bool(row[2]))

    def put(self, records: Sequence[tuple[str, str, bytes]]) -> None:
        """Record (key, tx hash, signed bytes) as signed but not yet sent, in one transaction."""
        if not records:
            return
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO sent_tx (key, tx_hash, raw, sent) VALUES (?, ?, ?, 0)",
                records,
            )

    def mark_sent(self, keys: Sequence[str]) -> None:
        """Record that the node accepted the transactions of these keys."""
        if not keys:
            return
        with self._lock, self._db:
            self._db.executemany("UPDATE sent_tx SET sent = 1 WHERE key = ?", [(k,) for k in keys])

    def discard(self, keys: Sequence[str]) -> None:
        """Forget keys whose transactions the node rejected."""
        if not keys:
            return
        with self._lock, self._db:
            self._db.executemany("DELETE FROM sent_tx WHERE key = ?", [(k,) for k in keys])


class _NonceBook:
    """The next nonce of each account, with one lock per account held while sending."""

    def __init__(self, rpc: RpcClient) -> None:
        self._rpc = rpc
        self._next: dict[str, int] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @contextmanager
    def locked(self, *addresses: str) -> Iterator[None]:
        """Hold the locks of accounts (taken in a fixed order, so two batches cannot deadlock)."""
        with ExitStack() as stack:
            for address in sorted(set(addresses)):
                with self._guard:
                    lock = self._locks.setdefault(address, threading.Lock())
                stack.enter_context(lock)
            yield

    def next(self, address: str) -> int:
        """The account's next nonce (from the node's pending count the first time)."""
        if address not in self._next:
            pending = self._rpc.request("eth_getTransactionCount", [address, "pending"])
            self._next[address] = int(pending, 16)
        return self._next[address]

    def used(self, address: str, nonce: int) -> None:
        """Record that the node accepted ``nonce``."""
        self._next[address] = max(self._next.get(address, 0), nonce + 1)

    def forget(self, address: str) -> None:
        """Resynchronise from the node before the account's next transaction."""
        self._next.pop(address, None)


class _Signed(NamedTuple):
    position: int
    request: TxRequest
    gas: int
    nonce: int
    raw: bytes
    tx_hash: str


class TransactionSender:
    """Signs and sends transactions, safe to share between threads.

    Args:
        rpc: The node.
        chain_id: The chain id signed into every transaction.
        gas_price: A fixed legacy gas price; else ``eth_gasPrice`` (cached, with a margin).
        store: Where idempotency keys are recorded; in memory when None.
    """

    def __init__(
        self,
        rpc: RpcClient,
        chain_id: int,
        gas_price: int | None = None,
        *,
        store: IdempotencyStore | None = None,
    ) -> None:
        self.rpc = rpc
        self.chain_id = chain_id
        self._fixed_gas_price = gas_price
        self._store = store if store is not None else IdempotencyStore()
        self._nonces = _NonceBook(rpc)
        self._price: tuple[float, int] | None = None
        self._price_lock = threading.Lock()

    # -- sending -------------------------------------------------------------------------------

    def send(self, request: TxRequest) -> str:
        """Sign and broadcast one transaction and return its hash (without waiting for it).

        Raises:
            CrossborderError: The typed error of a revert at gas estimation (nothing is signed).
            TransactionFailed: The node rejected the transaction.
            ChainUnavailable: The node could not be reached.
        """
        address = request.signer.address.lower()
        key = request.idempotency_key
        if key is not None and (done := self._replay(address, key)) is not None:
            return done
        gas = request.gas if request.gas is not None else self.estimate(request)
        with self._nonces.locked(address):
            if key is not None and (done := self._replay_locked(address, key)) is not None:
                return done
            return self._sign_and_broadcast(request, gas)

    def send_many(self, requests: Sequence[TxRequest]) -> list[str]:
        """Sign all transactions first, then broadcast them in JSON-RPC batches.

        Gas is estimated for requests without it in one batch before anything is signed. The
        estimates run against the latest state, so a request that depends on an earlier one of
        the same batch must carry its own gas.

        Returns:
            The transaction hashes, in the order of ``requests``.

        Raises:
            CrossborderError: The typed error of the first revert at estimation (nothing sent).
            TransactionFailed: The node rejected a transaction (others may have been sent).
        """
        hashes: list[str | None] = [None] * len(requests)
        todo, copies = self._replay_many(requests, hashes)
        gases = self._estimate_many([requests[i] for i in todo])
        with self._nonces.locked(*(requests[i].signer.address.lower() for i in todo)):
            todo, gases = self._drop_replayed(requests, todo, gases, hashes)
            signed = self._sign_all(requests, todo, gases)
            self._broadcast_many(signed, hashes)
        for copy, original in copies:
            hashes[copy] = hashes[original]
        sent = [h for h in hashes if h is not None]
        if len(sent) != len(requests):
            raise AssertionError("send_many left a request without a hash")
        return sent

    # -- waiting -------------------------------------------------------------------------------

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

    def transact(self, request: TxRequest, timeout: float = 120) -> Receipt:
        """Send a transaction and wait for it; a revert raises its typed error.

        Raises:
            CrossborderError: The typed error of the revert (at estimation or once mined).
        """
        (receipt,) = self.wait([self.send(request)], timeout=timeout)
        if receipt.status == 0:
            raise self.revert_error_of(receipt)
        return receipt

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
            return TransactionFailed(f"the transaction {receipt.tx_hash} ran out of gas")
        return from_revert(self._replayed_reason(sent, receipt.block_number))

    # -- calls -----------------------------------------------------------------------------------

    def call(
        self, to: str, data: bytes, block: int | str = "latest", *, sender: str | None = None
    ) -> bytes:
        """Run a view call; a revert raises its typed error."""
        try:
            return self.rpc.eth_call(to, data, block, sender=sender)
        except RpcError as exc:
            if exc.reverted:
                raise from_revert(revert_reason(exc)) from exc
            raise

    # -- internals: reverts -------------------------------------------------------------------

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

    # -- internals: gas ------------------------------------------------------------------------

    def _gas_price(self) -> int:
        if self._fixed_gas_price is not None:
            return self._fixed_gas_price
        with self._price_lock:
            now = time.monotonic()
            if self._price is None or now - self._price[0] > GAS_PRICE_TTL:
                price = int(self.rpc.request("eth_gasPrice"), 16)
                self._price = (now, price * GAS_PRICE_MARGIN[0] // GAS_PRICE_MARGIN[1])
            return self._price[1]

    def estimate(self, request: TxRequest) -> int:
        """The gas limit for a request: ``eth_estimateGas`` plus a margin.

        Raises:
            CrossborderError: The typed error of a revert, before anything is signed.
        """
        try:
            estimate = self.rpc.request("eth_estimateGas", [_call_of(request)])
        except RpcError as exc:
            raise _estimate_error(exc) from exc
        return _with_margin(int(estimate, 16))

    def _estimate_many(self, requests: Sequence[TxRequest]) -> list[int]:
        missing = [i for i, r in enumerate(requests) if r.gas is None]
        answers = self.rpc.batch(
            [("eth_estimateGas", [_call_of(requests[i])]) for i in missing], return_errors=True
        )
        for answer in answers:
            if isinstance(answer, RpcError):
                raise _estimate_error(answer) from answer
        estimates = dict(zip(missing, answers, strict=True))
        return [
            _with_margin(int(estimates[i], 16)) if r.gas is None else r.gas
            for i, r in enumerate(requests)
        ]

    # -- internals: idempotency ----------------------------------------------------------------

    def _replay(self, address: str, key: str) -> str | None:
        """The hash already sent for a key, re-broadcasting bytes recorded but maybe unsent."""
        record = self._store.get(key)
        if record is None:
            return None
        if record.sent:
            return record.tx_hash
        with self._nonces.locked(address):
            return self._replay_locked(address, key)

    def _replay_locked(self, address: str, key: str) -> str | None:
        record = self._store.get(key)
        if record is None or record.sent:
            return None if record is None else record.tx_hash
        try:
            landed = self._broadcast(record.raw, record.tx_hash)
        except TransactionFailed:
            landed = False
        if not landed:  # the recorded bytes can never land: sign the request anew
            self._store.discard([key])
            return None
        self._store.mark_sent([key])
        self._nonces.forget(address)
        return record.tx_hash

    def _replay_many(
        self, requests: Sequence[TxRequest], hashes: list[str | None]
    ) -> tuple[list[int], list[tuple[int, int]]]:
        """Fill in the hashes of keys already used; return what is left, and in-batch copies."""
        todo: list[int] = []
        copies: list[tuple[int, int]] = []
        first: dict[str, int] = {}
        for index, request in enumerate(requests):
            key = request.idempotency_key
            if key is not None:
                if key in first:
                    copies.append((index, first[key]))
                    continue
                first[key] = index
                done = self._replay(request.signer.address.lower(), key)
                if done is not None:
                    hashes[index] = done
                    continue
            todo.append(index)
        return todo, copies

    def _drop_replayed(
        self,
        requests: Sequence[TxRequest],
        todo: list[int],
        gases: list[int],
        hashes: list[str | None],
    ) -> tuple[list[int], list[int]]:
        """Under the account locks, drop keys another thread sent meanwhile."""
        left: list[tuple[int, int]] = []
        for index, gas in zip(todo, gases, strict=True):
            request = requests[index]
            key = request.idempotency_key
            done = None
            if key is not None:
                done = self._replay_locked(request.signer.address.lower(), key)
            if done is None:
                left.append((index, gas))
            else:
                hashes[index] = done
        return [i for i, _ in left], [g for _, g in left]

    # -- internals: signing and broadcasting ---------------------------------------------------

    def _sign(
        self, request: TxRequest, gas: int, nonce: int, gas_price: int, index: int = 0
    ) -> _Signed:
        tx: dict[str, Any] = {
            "nonce": nonce,
            "gasPrice": gas_price,
            "gas": gas,
            "value": request.value,
            "data": request.data,
            "chainId": self.chain_id,
        }
        if request.to is not None:
            tx["to"] = bytes.fromhex(request.to.removeprefix("0x"))
        raw = request.signer.sign(tx)
        return _Signed(index, request, gas, nonce, raw, "0x" + keccak(raw).hex())

    def _sign_all(
        self, requests: Sequence[TxRequest], todo: list[int], gases: list[int]
    ) -> list[_Signed]:
        return self._sign_items([(i, requests[i], gas) for i, gas in zip(todo, gases, strict=True)])

    def _sign_items(self, items: Sequence[tuple[int, TxRequest, int]]) -> list[_Signed]:
        """Sign ``(position, request, gas)`` items with consecutive nonces per account."""
        signed = []
        nonces: dict[str, int] = {}
        gas_price = self._gas_price()
        for index, request, gas in items:
            address = request.signer.address.lower()
            nonce = nonces.get(address)
            nonce = self._nonces.next(address) if nonce is None else nonce
            nonces[address] = nonce + 1
            signed.append(self._sign(request, gas, nonce, gas_price, index))
        self._record(signed)
        return signed

    def _record(self, signed: Sequence[_Signed]) -> None:
        records = [(s.request.idempotency_key, s.tx_hash, s.raw) for s in signed]
        self._store.put([(k, h, r) for k, h, r in records if k is not None])

    def _sign_and_broadcast(self, request: TxRequest, gas: int) -> str:
        """Sign with the next nonce and broadcast, resyncing when the nonce is taken."""
        address = request.signer.address.lower()
        for _ in range(RESYNC_ATTEMPTS):
            signed = self._sign(request, gas, self._nonces.next(address), self._gas_price())
            self._record([signed])
            if self._broadcast_recorded(signed):
                return signed.tx_hash
        raise TransactionFailed(
            f"the node kept refusing the nonces of {request.signer.address}: "
            "is another client sending from this account?"
        )

    def _broadcast_recorded(self, signed: _Signed) -> bool:
        address = signed.request.signer.address.lower()
        key = signed.request.idempotency_key
        try:
            landed = self._broadcast(signed.raw, signed.tx_hash)
        except TransactionFailed:
            self._nonces.forget(address)
            if key is not None:
                self._store.discard([key])
            raise
        except CrossborderError:
            self._nonces.forget(address)  # the bytes may or may not have landed
            raise
        if not landed:
            self._nonces.forget(address)
            return False
        self._nonces.used(address, signed.nonce)
        if key is not None:
            self._store.mark_sent([key])
        return True

    def _broadcast(self, raw: bytes, tx_hash: str) -> bool:
        """Broadcast signed bytes, retrying the same bytes while the node is unreachable.

        Returns:
            True if the node has the bytes; False if they can never land (nonce taken).

        Raises:
            TransactionFailed: The node rejected the bytes for another reason (funds, gas, …).
        """
        for attempt in range(SEND_ATTEMPTS):
            try:
                self.rpc.request("eth_sendRawTransaction", ["0x" + raw.hex()])
            except ChainUnavailable:
                if attempt + 1 == SEND_ATTEMPTS:
                    raise
                time.sleep(0.2 * 2**attempt)
            except RpcError as exc:
                if _already_known(exc):
                    return True
                landed = self.rpc.request("eth_getTransactionByHash", [tx_hash]) is not None
                return _refusal_outcome(exc, landed)
            else:
                return True
        raise AssertionError("unreachable")

    def _broadcast_many(
        self, signed: list[_Signed], hashes: list[str | None], resyncs: int = RESYNC_ATTEMPTS
    ) -> None:
        """Broadcast in batches; re-sign and re-send as a batch those whose nonce was taken."""
        answers = self._send_batch(signed)
        refused = [
            (item, answer)
            for item, answer in zip(signed, answers, strict=True)
            if isinstance(answer, RpcError) and not _already_known(answer)
        ]
        known = self.rpc.batch([("eth_getTransactionByHash", [i.tx_hash]) for i, _ in refused])
        retry: list[_Signed] = []
        rejected: list[tuple[_Signed, TransactionFailed]] = []
        for (item, error), found in zip(refused, known, strict=True):
            try:
                if not _refusal_outcome(error, landed=found is not None):
                    retry.append(item)
            except TransactionFailed as exc:
                rejected.append((item, exc))
        failed = {item.position for item in retry} | {item.position for item, _ in rejected}
        accepted = [item for item in signed if item.position not in failed]
        for item in accepted:
            hashes[item.position] = item.tx_hash
            self._nonces.used(item.request.signer.address.lower(), item.nonce)
        self._store.mark_sent(
            [i.request.idempotency_key for i in accepted if i.request.idempotency_key is not None]
        )
        self._settle_failures(retry, rejected, hashes, resyncs)

    def _send_batch(self, signed: list[_Signed]) -> list[Any]:
        calls = [("eth_sendRawTransaction", ["0x" + s.raw.hex()]) for s in signed]
        for attempt in range(SEND_ATTEMPTS):
            try:
                return self.rpc.batch(calls, return_errors=True)
            except ChainUnavailable:
                if attempt + 1 == SEND_ATTEMPTS:
                    for s in signed:
                        self._nonces.forget(s.request.signer.address.lower())
                    raise
                time.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")

    def _settle_failures(
        self,
        retry: list[_Signed],
        rejected: list[tuple[_Signed, TransactionFailed]],
        hashes: list[str | None],
        resyncs: int,
    ) -> None:
        for item in retry:
            self._nonces.forget(item.request.signer.address.lower())
        if retry and resyncs <= 0:
            raise TransactionFailed(
                f"the node kept refusing the nonces of {retry[0].request.signer.address}: "
                "is another client sending from this account?"
            )
        if retry:
            # Another client took our nonces: resync once and re-sign the whole remainder, so
            # that a stale nonce costs one more batch, not one round trip per transaction.
            resigned = self._sign_items([(i.position, i.request, i.gas) for i in retry])
            self._broadcast_many(resigned, hashes, resyncs - 1)
        if rejected:
            item, error = rejected[0]
            self._nonces.forget(item.request.signer.address.lower())
            self._store.discard(
                [s.request.idempotency_key for s, _ in rejected if s.request.idempotency_key]
            )
            raise TransactionFailed(
                f"request {item.position} of the batch (and {len(rejected) - 1} more)"
                f" failed: {error}"
            ) from error

    # -- internals: reverts --------------------------------------------------------------------


def _mined_block(tx: dict[str, Any]) -> int | None:
    """The block number of a transaction object, None while it is pending."""
    number = tx.get("blockNumber")
    return int(number, 16) if number is not None else None


def _already_known(error: RpcError) -> bool:
    """The node already has these exact bytes."""
    message = error.message.lower()
    return any(known in message for known in _KNOWN)


def _refusal_outcome(error: RpcError, landed: bool) -> bool:
    """Whether refused bytes are on the node anyway (True) or can never land (False).

    ``landed`` says whether the node knows the hash: after a lost answer, "nonce too low" (or
    any refusal) may be the node seeing our own earlier broadcast of the same bytes.

    Raises:
        TransactionFailed: The node rejected the bytes for another reason (funds, gas, …).
    """
    if landed:
        return True
    message = error.message.lower()
    if any(text in message for text in _NONCE):
        return False
    raise TransactionFailed(f"the node rejected the transaction: {error.message}") from error


def _call_of(request: TxRequest) -> dict[str, str]:
    return call_object(request.to, request.data, request.signer.address, None, request.value)


def _with_margin(estimate: int) -> int:
    return estimate * GAS_ESTIMATE_MARGIN[0] // GAS_ESTIMATE_MARGIN[1]


def _estimate_error(error: RpcError) -> CrossborderError:
    """The typed error of a failed estimate: the revert's, or the node's refusal."""
    if error.reverted:
        return from_revert(revert_reason(error))
    return TransactionFailed(f"gas estimation failed: {error.message}")
