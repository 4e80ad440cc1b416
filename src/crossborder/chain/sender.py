"""Signing and sending transactions: the orchestration of pricing, nonces, idempotency, broadcast.

One ``TransactionSender`` should be the only client sending from its accounts: it keeps each
account's next nonce locally (under a lock per account) and resynchronises from the node only
when the node disagrees. The parts live in their own modules: ``pricing`` (what a transaction
offers per gas), ``nonces``, ``idempotency`` (callers' keys and the signed bytes recorded under
them) and ``receipts`` (polling, revert diagnosis); this module signs, broadcasts and retries.
``TransactionSender``, ``TxRequest``, ``Receipt`` and ``IdempotencyStore`` are importable from
here as before.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from eth_utils.crypto import keccak

from ..errors import (
    ChainUnavailable,
    CrossborderError,
    IdempotencyConflict,
    InvalidInput,
    TransactionFailed,
    from_revert,
)
from ..settings import get_settings
from .idempotency import (
    IdempotencyKey,
    IdempotencyStore,
    Record,
    check_same_request,
    request_digest,
)
from .nonces import NonceBook
from .pricing import Fees, GasPolicy, GasPricer
from .receipts import Receipt, Receipts, estimate_error
from .rpc import Log, RpcClient, RpcError, call_object, revert_reason
from .signers import Signer

__all__ = [
    "Fees",
    "GasPolicy",
    "IdempotencyStore",
    "Log",
    "Receipt",
    "TransactionSender",
    "TxRequest",
]

SEND_ATTEMPTS = 3  # broadcasts of the same signed bytes when the node is unreachable
RESYNC_ATTEMPTS = 3  # fresh nonces tried when the node says ours is taken
# Transactions of one account that may reach the node before earlier nonces: geth keeps 64
# future transactions an account (txpool.accountqueue), Anvil any number.
NONCES_AHEAD = 48
SENT_BYTES_KEPT = 100_000  # signed bytes kept in memory to re-send after a reorg or failover
RESEND_ON_SWITCH = 5_000  # latest transactions checked on (and re-sent to) a new endpoint
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
        idempotency_key: A caller's id, scoped by chain and signer: a request with a key already
            used is not sent again (its first transaction's hash is returned); the same key for
            a different recipient, calldata or value raises ``IdempotencyConflict``.
    """

    signer: Signer
    to: str | None
    data: bytes = b""
    gas: int | None = None
    value: int = 0
    idempotency_key: str | None = None

    def digest(self) -> bytes:
        """What the request does (recipient, value, calldata), as an idempotency key records it."""
        return request_digest(self.to, self.data, self.value)


class _Signed(NamedTuple):
    position: int
    request: TxRequest
    key: IdempotencyKey | None
    gas: int
    nonce: int
    raw: bytes
    tx_hash: str
    after: int | None  # the block the pricing read: the transaction lands in a later one


class TransactionSender:
    """Signs and sends transactions, safe to share between threads.

    Args:
        rpc: The node.
        chain_id: The chain id signed into every transaction.
        gas_price: A fixed legacy gas price (shorthand for ``gas=GasPolicy.fixed(gas_price)``).
        store: Where idempotency keys are recorded; when None, the settings' file
            (``CROSSBORDER_IDEMPOTENCY_DB``), else memory.
        gas: How transactions are priced; the settings' policy (``CROSSBORDER_GAS_*``) when None.
        confirmations: Blocks on top of a transaction's before a wait returns it; the settings'
            ``CROSSBORDER_CONFIRMATIONS`` when None.

    Attributes:
        pricer: Prices each signing pass from the policy and the chain's base fee only.
        receipts: Follows the chain for sent transactions (re-sending the same signed bytes
            of one a reorg or a lost node dropped) and diagnoses reverts.
    """

    def __init__(
        self,
        rpc: RpcClient,
        chain_id: int,
        gas_price: int | None = None,
        *,
        store: IdempotencyStore | None = None,
        gas: GasPolicy | None = None,
        confirmations: int | None = None,
    ) -> None:
        settings = get_settings()
        if gas_price is not None:
            if gas is not None:
                raise InvalidInput("give either a fixed gas_price or a gas policy, not both")
            gas = GasPolicy.fixed(gas_price)
        self.rpc = rpc
        self.chain_id = chain_id
        self.pricer = GasPricer(rpc, gas if gas is not None else settings.gas_policy)
        self._store = store if store is not None else IdempotencyStore(settings.idempotency_db)
        self._nonces = NonceBook(rpc)
        self._sent: OrderedDict[str, tuple[bytes, int | None]] = OrderedDict()
        self._sent_lock = threading.Lock()
        self._switches = getattr(rpc, "switches", 0)
        depth = settings.confirmations if confirmations is None else confirmations
        self.receipts = Receipts(rpc, depth, raw_of=self.raw_of, sent_after=self.sent_after)

    @property
    def gas(self) -> GasPolicy:
        """How this sender prices transactions."""
        return self.pricer.policy

    def fees(self) -> Fees:
        """What the next transactions offer per gas (from the policy and the base fee)."""
        return self.pricer.fees()

    def raw_of(self, tx_hash: str) -> bytes | None:
        """The signed bytes of a transaction this process sent, or recorded under a key."""
        with self._sent_lock:
            sent = self._sent.get(tx_hash)
        return sent[0] if sent is not None else self._store.raw_of(tx_hash)

    def sent_after(self, tx_hash: str) -> int | None:
        """A block number the transaction (sent by this process) can only be mined after."""
        with self._sent_lock:
            sent = self._sent.get(tx_hash)
        return None if sent is None else sent[1]

    def _after_switch(self) -> None:
        """After a failing-over client changed endpoint: the new node may lack transactions the
        old one held pending (a later nonce would wait behind the gap), so the latest ones it
        does not know are re-sent from their signed bytes, in the order they were sent."""
        switches = getattr(self.rpc, "switches", 0)
        if switches == self._switches:
            return
        self._switches = switches
        with self._sent_lock:
            recent = list(self._sent)[-RESEND_ON_SWITCH:]
        states = self.receipts.lookup(recent)
        self.receipts.resend([h for h in recent if states[h] is None])

    def recover(self) -> list[str]:
        """After a restart: settle what the idempotency store recorded but never saw confirmed.

        Keys signed but maybe never sent have their recorded bytes broadcast; keys sent but not
        confirmed are looked up, and those the node does not know (lost with a node's pool, or
        dropped by a reorg) are re-sent from the same bytes. Never a new signature: bytes that
        can never land (their nonce taken) are forgotten, so the key's next use signs afresh.

        Returns:
            The hashes of the keys' transactions now on the node (to wait for).
        """
        for key in self._store.unsent(self.chain_id):
            record = self._store.get(key)
            if record is not None:
                self._replay(key, record.request)  # now sent, or forgotten if it cannot land
        sent = self._store.unconfirmed(self.chain_id)
        states = self.receipts.lookup(sent)
        self.receipts.resend([h for h in sent if states[h] is None])
        return sent

    # -- sending -------------------------------------------------------------------------------

    def send(self, request: TxRequest) -> str:
        """Sign and broadcast one transaction and return its hash (without waiting for it).

        Raises:
            IdempotencyConflict: The request's key was used for another request.
            CrossborderError: The typed error of a revert at gas estimation (nothing is signed).
            GasPriceUnavailable: The gas policy does not fit the chain (nothing is signed).
            TransactionFailed: The node rejected the transaction.
            ChainUnavailable: The node could not be reached.
        """
        address = request.signer.address.lower()
        key = self._key_of(request)
        if key is not None and (done := self._replay(key, request.digest())) is not None:
            return done
        gas = request.gas if request.gas is not None else self.estimate(request)
        fees = self.pricer.fees()
        with self._nonces.locked(address):
            if key is not None and (done := self._replay_locked(key, request.digest())):
                return done
            tx_hash = self._sign_and_broadcast(request, key, gas, fees)
        self._after_switch()
        return tx_hash

    def send_many(self, requests: Sequence[TxRequest]) -> list[str]:
        """Sign all transactions first, then broadcast them in JSON-RPC batches.

        Gas is estimated for requests without it in one batch before anything is signed. The
        estimates run against the latest state, so a request that depends on an earlier one of
        the same batch must carry its own gas. All are priced once, from the current base fee.

        Returns:
            The transaction hashes, in the order of ``requests``.

        Raises:
            IdempotencyConflict: A key was used for another request, earlier or in this batch
                (nothing is sent).
            CrossborderError: The typed error of the first revert at estimation (nothing sent).
            TransactionFailed: The node rejected a transaction (others may have been sent).
        """
        hashes: list[str | None] = [None] * len(requests)
        keys = [self._key_of(r) for r in requests]
        self._refuse_conflicts(requests, keys)
        todo, copies = self._replay_many(requests, keys, hashes)
        gases = self._estimate_many([requests[i] for i in todo])
        fees = self.pricer.fees() if todo else None
        with self._nonces.locked(*(requests[i].signer.address.lower() for i in todo)):
            todo, gases = self._drop_replayed(requests, keys, todo, gases, hashes)
            if todo:
                assert fees is not None
                items = [(i, requests[i], keys[i], g) for i, g in zip(todo, gases, strict=True)]
                self._broadcast_many(self._sign_items(items, fees), hashes, fees)
        for copy, original in copies:
            hashes[copy] = hashes[original]
        self._after_switch()
        sent = [h for h in hashes if h is not None]
        if len(sent) != len(requests):
            raise AssertionError("send_many left a request without a hash")
        return sent

    # -- waiting (receipts.py) -----------------------------------------------------------------

    def wait(
        self, tx_hashes: Sequence[str], timeout: float = 120, poll: float = 0.05
    ) -> list[Receipt]:
        """Wait until all transactions are mined, polling their receipts in one batch per round.

        Raises:
            ChainUnavailable: Some were not mined within ``timeout`` seconds.
        """
        receipts = self.receipts.wait(tx_hashes, timeout, poll)
        self._store.mark_confirmed(tx_hashes)
        return receipts

    def wait_mined(
        self,
        tx_hashes: Sequence[str],
        timeout: float = 120,
        poll: float = 0.05,
        on_mined: Callable[[list[str]], None] | None = None,
    ) -> dict[str, int]:
        """Wait until all transactions are mined, without fetching their receipts.

        Returns:
            The block number of each transaction.
        """
        mined = self.receipts.wait_mined(tx_hashes, timeout, poll, on_mined)
        self._store.mark_confirmed(tx_hashes)
        return mined

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
        """The revert string of a failed transaction, found by replaying it as a call."""
        return self.receipts.revert_reason_of(receipt)

    def revert_error_of(self, receipt: Receipt) -> CrossborderError:
        """The typed error of a failed transaction (or "ran out of gas")."""
        return self.receipts.revert_error_of(receipt)

    # -- calls and estimates -------------------------------------------------------------------

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

    def estimate(self, request: TxRequest) -> int:
        """The gas limit for a request: ``eth_estimateGas`` plus a margin.

        Raises:
            CrossborderError: The typed error of a revert, before anything is signed.
        """
        try:
            estimate = self.rpc.request("eth_estimateGas", [_call_of(request)])
        except RpcError as exc:
            raise estimate_error(exc) from exc
        return _with_margin(int(estimate, 16))

    def _estimate_many(self, requests: Sequence[TxRequest]) -> list[int]:
        missing = [i for i, r in enumerate(requests) if r.gas is None]
        answers = self.rpc.batch(
            [("eth_estimateGas", [_call_of(requests[i])]) for i in missing], return_errors=True
        )
        for answer in answers:
            if isinstance(answer, RpcError):
                raise estimate_error(answer) from answer
        estimates = dict(zip(missing, answers, strict=True))
        return [
            _with_margin(int(estimates[i], 16)) if r.gas is None else r.gas
            for i, r in enumerate(requests)
        ]

    # -- internals: idempotency ----------------------------------------------------------------

    def _key_of(self, request: TxRequest) -> IdempotencyKey | None:
        if request.idempotency_key is None:
            return None
        return IdempotencyKey(
            self.chain_id, request.signer.address.lower(), request.idempotency_key
        )

    def _replay(self, key: IdempotencyKey, digest: bytes) -> str | None:
        """The hash already sent for a key, re-broadcasting bytes recorded but maybe unsent."""
        record = self._store.get(key)
        if record is None:
            return None
        check_same_request(key, record, digest)
        if record.sent:
            return record.tx_hash
        with self._nonces.locked(key.signer):
            return self._replay_locked(key, digest)

    def _replay_locked(self, key: IdempotencyKey, digest: bytes) -> str | None:
        record = self._store.get(key)
        if record is None:
            return None
        check_same_request(key, record, digest)
        if record.sent:
            return record.tx_hash
        try:
            landed = self._broadcast(record.raw, record.tx_hash)
        except TransactionFailed:
            landed = False
        if not landed:  # the recorded bytes can never land: sign the request anew
            self._store.discard([key])
            return None
        self._store.mark_sent([key])
        self._nonces.forget(key.signer)
        return record.tx_hash

    def _refuse_conflicts(
        self, requests: Sequence[TxRequest], keys: Sequence[IdempotencyKey | None]
    ) -> None:
        """Before anything is sent: each key means one request, in this batch and in the store."""
        first: dict[IdempotencyKey, int] = {}
        for index, key in enumerate(keys):
            if key is None:
                continue
            if key in first:
                if requests[first[key]].digest() != requests[index].digest():
                    raise IdempotencyConflict(
                        f"the idempotency key {key.key!r} of {key.signer} is given to two "
                        f"different requests of the batch (positions {first[key]} and {index})"
                    )
                continue
            first[key] = index
            record = self._store.get(key)
            if record is not None:
                check_same_request(key, record, requests[index].digest())

    def _replay_many(
        self,
        requests: Sequence[TxRequest],
        keys: Sequence[IdempotencyKey | None],
        hashes: list[str | None],
    ) -> tuple[list[int], list[tuple[int, int]]]:
        """Fill in the hashes of keys already used; return what is left, and in-batch copies."""
        todo: list[int] = []
        copies: list[tuple[int, int]] = []
        first: dict[IdempotencyKey, int] = {}
        for index, key in enumerate(keys):
            if key is not None:
                if key in first:
                    copies.append((index, first[key]))
                    continue
                first[key] = index
                done = self._replay(key, requests[index].digest())
                if done is not None:
                    hashes[index] = done
                    continue
            todo.append(index)
        return todo, copies

    def _drop_replayed(
        self,
        requests: Sequence[TxRequest],
        keys: Sequence[IdempotencyKey | None],
        todo: list[int],
        gases: list[int],
        hashes: list[str | None],
    ) -> tuple[list[int], list[int]]:
        """Under the account locks, drop keys another thread sent meanwhile."""
        left: list[tuple[int, int]] = []
        for index, gas in zip(todo, gases, strict=True):
            key = keys[index]
            done = None
            if key is not None:
                done = self._replay_locked(key, requests[index].digest())
            if done is None:
                left.append((index, gas))
            else:
                hashes[index] = done
        return [i for i, _ in left], [g for _, g in left]

    def _record(self, signed: Sequence[_Signed]) -> None:
        with self._sent_lock:
            for item in signed:
                self._sent[item.tx_hash] = (item.raw, item.after)
            while len(self._sent) > SENT_BYTES_KEPT:
                self._sent.popitem(last=False)
        self._store.put(
            [
                Record(s.key, s.request.digest(), s.tx_hash, s.raw)
                for s in signed
                if s.key is not None
            ]
        )

    # -- internals: signing and broadcasting ---------------------------------------------------

    def _sign(
        self,
        request: TxRequest,
        key: IdempotencyKey | None,
        gas: int,
        nonce: int,
        fees: Fees,
        index: int = 0,
    ) -> _Signed:
        tx: dict[str, Any] = {
            "nonce": nonce,
            "gas": gas,
            "value": request.value,
            "data": request.data,
            "chainId": self.chain_id,
            **fees.fields(),
        }
        if request.to is not None:
            tx["to"] = bytes.fromhex(request.to.removeprefix("0x"))
        raw = request.signer.sign(tx)
        return _Signed(index, request, key, gas, nonce, raw, "0x" + keccak(raw).hex(), fees.block)

    def _sign_items(
        self, items: Sequence[tuple[int, TxRequest, IdempotencyKey | None, int]], fees: Fees
    ) -> list[_Signed]:
        """Sign ``(position, request, key, gas)`` items with consecutive nonces per account."""
        signed = []
        nonces: dict[str, int] = {}
        for index, request, key, gas in items:
            address = request.signer.address.lower()
            nonce = nonces.get(address)
            nonce = self._nonces.next(address) if nonce is None else nonce
            nonces[address] = nonce + 1
            signed.append(self._sign(request, key, gas, nonce, fees, index))
        self._record(signed)
        return signed

    def _sign_and_broadcast(
        self, request: TxRequest, key: IdempotencyKey | None, gas: int, fees: Fees
    ) -> str:
        """Sign with the next nonce and broadcast, resyncing when the nonce is taken."""
        address = request.signer.address.lower()
        for _ in range(RESYNC_ATTEMPTS):
            signed = self._sign(request, key, gas, self._nonces.next(address), fees)
            self._record([signed])
            if self._broadcast_recorded(signed):
                return signed.tx_hash
        raise TransactionFailed(
            f"the node kept refusing the nonces of {request.signer.address}: "
            "is another client sending from this account?"
        )

    def _broadcast_recorded(self, signed: _Signed) -> bool:
        address = signed.request.signer.address.lower()
        try:
            landed = self._broadcast(signed.raw, signed.tx_hash)
        except TransactionFailed:
            self._nonces.forget(address)
            if signed.key is not None:
                self._store.discard([signed.key])
            raise
        except CrossborderError:
            self._nonces.forget(address)  # the bytes may or may not have landed
            raise
        if not landed:
            self._nonces.forget(address)
            return False
        self._nonces.used(address, signed.nonce)
        if signed.key is not None:
            self._store.mark_sent([signed.key])
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
        self,
        signed: list[_Signed],
        hashes: list[str | None],
        fees: Fees,
        resyncs: int = RESYNC_ATTEMPTS,
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
        self._store.mark_sent([i.key for i in accepted if i.key is not None])
        self._settle_failures(retry, rejected, hashes, fees, resyncs)

    def _send_batch(self, signed: list[_Signed]) -> list[Any]:
        calls = [("eth_sendRawTransaction", ["0x" + s.raw.hex()]) for s in signed]
        for attempt in range(SEND_ATTEMPTS):
            try:
                # Large transactions (a registration of 500 documents is 80 kB: 6 a chunk) go
                # out in several chunks at once, never more than a node's queue for one account
                # ahead of their turn.
                return self.rpc.batch(calls, return_errors=True, ahead=NONCES_AHEAD)
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
        fees: Fees,
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
            items = [(i.position, i.request, i.key, i.gas) for i in retry]
            self._broadcast_many(self._sign_items(items, fees), hashes, fees, resyncs - 1)
        if rejected:
            item, error = rejected[0]
            self._nonces.forget(item.request.signer.address.lower())
            self._store.discard([s.key for s, _ in rejected if s.key is not None])
            raise TransactionFailed(
                f"request {item.position} of the batch (and {len(rejected) - 1} more)"
                f" failed: {error}"
            ) from error


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
