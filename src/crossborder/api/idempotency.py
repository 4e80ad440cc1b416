"""Idempotent writes: a retry under the same ``Idempotency-Key`` gets the first response back.

Keys are scoped by the caller's account. The first request under a key runs; its response is
kept with a hash of the request (method, path, body), and a retry is answered from the store
with the same status and body, sending nothing. The same key with another request is refused
(422 ``idempotency_conflict``), as payment APIs do. Concurrent requests under one key wait for
the first. As payment APIs do too, a request refused before it began to act (an invalid body, a
missing role) or one that failed on the gateway's side (5xx) is not kept: a retry runs again,
and the transaction it sends carries the same key in the sender's own idempotency store, so
a transaction broadcast before a crash is found again, never sent twice.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.responses import Response
from pydantic import BaseModel

from ..errors import CrossborderError, IdempotencyConflict
from .gateway import Gateway, Principal
from .problems import PROBLEM_MEDIA_TYPE, problem_of
from .store import StoredResponse

REPLAYED_HEADER = "Idempotent-Replayed"


class Attempt:
    """A write under way; it says when it begins to act (sign and send)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.started = False

    @property
    def sender_key(self) -> str:
        """The key its transaction carries in the sender's idempotency store."""
        return f"gateway:{self.key}"

    def start(self) -> None:
        self.started = True


class _KeyLocks:
    """One lock per (account, key) in use, dropped when no request holds it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[tuple[str, str], tuple[threading.Lock, list[int]]] = {}

    @contextmanager
    def hold(self, key: tuple[str, str]) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.setdefault(key, (threading.Lock(), [0]))
            users[0] += 1
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users[0] -= 1
                if users[0] == 0:
                    del self._locks[key]


_LOCKS = _KeyLocks()


def request_hash(method: str, path: str, body: BaseModel | None) -> str:
    """What a request asks, canonically: two requests with equal bodies hash alike."""
    payload: Any = None if body is None else body.model_dump(mode="json")
    text = json.dumps([method, path, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def run_once(
    gateway: Gateway,
    principal: Principal,
    key: str,
    request: str,
    path: str,
    action: Callable[[Attempt], tuple[int, BaseModel]],
) -> Response:
    """Runs a write once per (account, key), answering retries with its first response.

    Args:
        request: ``request_hash`` of the request.
        action: Does the write; calls ``Attempt.start`` before it signs anything, and returns
            the status and body of its success.

    Raises:
        IdempotencyConflict: The key was first used for another request.
        CrossborderError: The action's error, when it is not kept (see the module).
    """
    account = principal.account
    with _LOCKS.hold((account, key)):
        stored = gateway.store.response(account, key)
        if stored is not None:
            if stored.request != request:
                raise IdempotencyConflict(
                    f"the Idempotency-Key {key!r} was already used for another request:"
                    " use a new key for a new request"
                )
            return Response(
                stored.body,
                stored.status,
                media_type=stored.media_type,
                headers={REPLAYED_HEADER: "true"},
            )
        attempt = Attempt(key)
        try:
            status, model = action(attempt)
            body = model.model_dump_json(exclude_none=True).encode()
            media_type = "application/json"
        except CrossborderError as error:
            problem = problem_of(error, path)
            if not attempt.started or problem.status >= 500:
                raise
            status, media_type = problem.status, PROBLEM_MEDIA_TYPE
            body = problem.model_dump_json(exclude_none=True).encode()
        gateway.store.remember(account, key, StoredResponse(request, status, media_type, body))
        return Response(body, status, media_type=media_type)
