"""Each account's next nonce, kept locally and resynchronised from the node when it disagrees.

One ``NonceBook`` (one ``TransactionSender``) should be the only client sending from its
accounts; the lock per account is held while signing and broadcasting, so that concurrent
senders in this process take distinct, consecutive nonces.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from .rpc import RpcClient


class NonceBook:
    """The next nonce of each account (lowercase address), with one lock per account."""

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
